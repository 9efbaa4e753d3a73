"""Bearer tokens in front of every route: `SERVICE_WRITE_TOKENS` and `SERVICE_READ_TOKENS`.

When either is set, every request but `/health` and `/ready` needs `Authorization: Bearer
<token>`: a write token for the methods that change something (POST, PUT, PATCH, DELETE), a
read or a write token for the others. This sits in front of intake too, on raw ASGI.
The dashboard (`/dashboard/...`) checks the same tokens itself, from a header or from its
login cookie, so that a browser is sent to its login form instead of a 401.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Iterable
from typing import Literal

from hypercorn.typing import ASGIReceiveCallable as Receive
from hypercorn.typing import ASGISendCallable as Send
from hypercorn.typing import HTTPScope, Scope

from .errors import RequestError
from .intake import ASGIApp, respond
from .settings import Settings

log = logging.getLogger("service")

OPEN_PATHS = frozenset({"/health", "/ready"})
DASHBOARD = "/dashboard"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CHALLENGE = 'Bearer realm="service"'

Role = Literal["write", "read"]


class Tokens:
    """The tokens a request may carry, and what each one allows."""

    def __init__(self, write: Iterable[str] = (), read: Iterable[str] = ()) -> None:
        self.write = [token.encode() for token in write]
        self.read = [token.encode() for token in read]

    @classmethod
    def from_settings(cls, settings: Settings) -> Tokens:
        return cls(settings.write_tokens, settings.read_tokens)

    @property
    def required(self) -> bool:
        return bool(self.write or self.read)

    def role(self, token: bytes) -> Role | None:
        """What the token may do: write, read, or nothing (None) when it is not known."""
        if matches(token, self.write):
            return "write"
        return "read" if matches(token, self.read) else None

    def check(self, method: str, authorization: bytes) -> None:
        """Raise the 401 or 403 that a request with this Authorization header deserves."""
        token = bearer(authorization)
        if token is None:
            raise unauthorized("send Authorization: Bearer <token>")
        writes = method not in READ_METHODS
        if matches(token, self.write):
            return
        if not matches(token, self.read):
            raise unauthorized("the token is not valid", 'error="invalid_token"')
        if writes:
            raise RequestError(
                403,
                "forbidden",
                f"a read token cannot {method} here: use a write token",
                {"WWW-Authenticate": f'{CHALLENGE}, error="insufficient_scope"'},
            )


class TokenGuard:
    """ASGI middleware: answers 401 or 403 before the request reaches the service."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.tokens = Tokens()

    def configure(self, settings: Settings) -> None:
        self.tokens = Tokens.from_settings(settings)
        if not self.tokens.required:
            log.warning(
                "no SERVICE_WRITE_TOKENS or SERVICE_READ_TOKENS: anyone who can reach the port "
                "may submit, cancel and read tasks",
                extra={"action": "start"},
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            try:
                self.check(scope)
            except RequestError as error:
                await respond(send, error.status, error.body(), error.headers)
                return
        await self.app(scope, receive, send)

    def check(self, scope: HTTPScope) -> None:
        """Raise the 401 or 403 this request deserves; return if it may go on."""
        if self.tokens.required and guarded(scope["path"]):
            authorization = b""
            for name, value in scope["headers"]:
                if name == b"authorization":
                    authorization = value
            self.tokens.check(scope["method"], authorization)


def guarded(path: str) -> bool:
    """Whether the guard checks the path: the dashboard checks its own."""
    dashboard = path == DASHBOARD or path.startswith(DASHBOARD + "/")
    return not dashboard and path not in OPEN_PATHS


def bearer(authorization: bytes) -> bytes | None:
    scheme, _, token = authorization.strip().partition(b" ")
    if scheme.lower() != b"bearer" or not token.strip():
        return None
    return token.strip()


def matches(token: bytes, known: list[bytes]) -> bool:
    """Whether `token` is one of `known`, comparing with every one in constant time."""
    found = False
    for candidate in known:
        found |= hmac.compare_digest(token, candidate)
    return found


def unauthorized(message: str, error: str = "") -> RequestError:
    challenge = f"{CHALLENGE}, {error}" if error else CHALLENGE
    return RequestError(401, "unauthorized", message, {"WWW-Authenticate": challenge})
