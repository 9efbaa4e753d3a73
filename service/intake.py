"""`POST /task` and `POST /tasks`, served straight on ASGI in front of Quart.

Intake is the hot path, so it skips Quart's request and response objects: it reads the
headers it needs, the query string and the body, calls the service, and sends the answer.
Every other request goes on to Quart. The rules (body limit, JSON only, options) and the
error answers are the same as everywhere else in the API.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from hypercorn.typing import ASGIReceiveCallable as Receive
from hypercorn.typing import ASGISendCallable as Send
from hypercorn.typing import HTTPResponseBodyEvent, HTTPResponseStartEvent, HTTPScope, Scope

from . import jsoncodec
from .core import TaskService
from .deadlines import BodyDeadlines
from .errors import RequestError
from .options import parse_options
from .settings import Settings

log = logging.getLogger("service.intake")

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ROUTES = frozenset({"/task", "/tasks"})
JSON_HEADER = (b"content-type", b"application/json")


class Intake:
    """Outermost: an intake request checks its token (`check` raises the refusal) and times
    itself here, without a layer of middleware each."""

    def __init__(
        self, app: ASGIApp, service: TaskService, check: Callable[[HTTPScope], None]
    ) -> None:
        self.app = app
        self.service = service
        self.check = check
        self.deadlines = BodyDeadlines()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in ROUTES or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        try:
            self.check(scope)
            status, body, headers = await self._answer(scope, receive)
        except RequestError as error:
            status, body, headers = error.status, error.body(), error.headers
        except Exception:
            log.exception("unexpected error while accepting a task")
            status, body, headers = 500, RequestError.internal().body(), {}
        try:
            await respond(send, status, body, headers)
        finally:
            self.service.metrics.request(scope["path"], "POST", time.perf_counter() - began)

    async def _answer(self, scope: HTTPScope, receive: Receive) -> tuple[int, Any, dict[str, str]]:
        service, settings = self.service, self.service.settings
        options = parse_options(scope["query_string"], settings.default_type)
        headers = dict(scope["headers"])
        single = scope["path"] == "/task"
        if not single and b"idempotency-key" in headers:
            message = "an Idempotency-Key names one task: send it with POST /task"
            raise RequestError(400, "idempotency_key_unsupported", message)
        # A batch is an array of payloads: one level more than a payload may have.
        depth = jsoncodec.MAX_DEPTH if single else jsoncodec.MAX_DEPTH + 1
        payload = await read_json(headers, receive, settings, depth, self.deadlines)
        if single:
            key = headers.get(b"idempotency-key", b"").decode("latin-1") or None
            [(task, created)] = await service.submit(options, [payload], idempotency_key=key)
            body = {"success": "OK", "id": task.id, "status": task.status}
            return (202 if created else 200), body, {"Location": f"/task/{task.id}"}
        if not isinstance(payload, list):
            raise RequestError(400, "not_a_list", "POST /tasks takes a JSON array of payloads")
        limit = settings.max_batch
        if len(payload) > limit:
            message = f"a batch holds at most {limit} tasks, {len(payload)} were sent"
            raise RequestError(413, "batch_too_large", message)
        accepted = await service.submit(options, payload)
        return 202, {"success": "OK", "ids": [task.id for task, _ in accepted]}, {}


async def respond(send: Send, status: int, body: Any, headers: Mapping[str, str]) -> None:
    content = jsoncodec.dumps(body)
    raw = [JSON_HEADER, (b"content-length", b"%d" % len(content))]
    raw += [
        (name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()
    ]
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": raw,
    }
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": content, "more_body": False}
    await send(start)
    await send(end)


async def read_json(
    headers: Mapping[bytes, bytes],
    receive: Receive,
    settings: Settings,
    max_depth: int,
    deadlines: BodyDeadlines,
) -> Any:
    limit, timeout = settings.max_body, settings.body_timeout
    if not is_json(headers.get(b"content-type", b"")):
        raise RequestError(
            415,
            "unsupported_media_type",
            "send the task as JSON with the header Content-Type: application/json",
        )
    declared = headers.get(b"content-length", b"")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    reader = deadlines.begin(timeout)
    try:
        body = await read_body(receive, limit)
    except asyncio.CancelledError:
        if deadlines.expired(reader):
            raise body_timeout(timeout) from None
        raise
    finally:
        deadlines.end(reader)
    try:
        return jsoncodec.loads(body, max_depth)
    except jsoncodec.InvalidJSON as error:
        raise RequestError(
            400, "invalid_json", f"the body is not one UTF-8 encoded JSON value: {error}"
        ) from None


async def read_body(receive: Receive, limit: int) -> bytes:
    message = cast(dict[str, Any], await receive())
    body: bytes = message.get("body", b"")
    if message.get("more_body", False):
        body = await read_rest(bytearray(body), receive, limit)
    if len(body) > limit:
        raise too_large(limit)
    return body


async def read_rest(body: bytearray, receive: Receive, limit: int) -> bytes:
    while True:
        message = cast(dict[str, Any], await receive())
        if message["type"] != "http.request":
            raise RequestError(400, "incomplete_body", "the client went away mid-body")
        body += message.get("body", b"")
        if len(body) > limit:
            raise too_large(limit)
        if not message.get("more_body", False):
            return bytes(body)


def is_json(content_type: bytes) -> bool:
    mimetype = content_type.split(b";", 1)[0].strip().lower()
    return mimetype == b"application/json" or (
        mimetype.startswith(b"application/") and mimetype.endswith(b"+json")
    )


def too_large(limit: int) -> RequestError:
    return RequestError(413, "payload_too_large", f"the body is larger than {limit} bytes")


def body_timeout(seconds: float) -> RequestError:
    """The whole body did not arrive in time: answer, and close the connection it holds."""
    message = f"the request body did not arrive within {seconds:g} s"
    return RequestError(408, "request_timeout", message, {"Connection": "close"})
