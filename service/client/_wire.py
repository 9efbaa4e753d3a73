"""How the API's requests are written and its answers read, apart from any flow."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar
from urllib.parse import quote

import httpx

from .errors import APIError, ConnectionFailed, InvalidResponse, error_class
from .models import JSONInput, ShapeError

T = TypeVar("T")

JSON_HEADERS = {"Content-Type": "application/json"}


def cut_short(response: httpx.Response) -> bool:
    """A bare 500: what Hypercorn answers a request still open when its graceful time is up
    at shutdown (a 500 of the service itself has a JSON body)."""
    return response.status_code == 500 and not response.content


def parse(response: httpx.Response, read: Callable[[object], T]) -> T:
    """The answer read by `read`, or the API error it carries."""
    if not response.is_success:
        raise api_error(response)
    try:
        return read(response.json())
    except (ValueError, ShapeError) as error:  # JSONDecodeError is a ValueError
        raise InvalidResponse(
            response.status_code, "invalid_response", f"unexpected answer: {error}"
        ) from None


def api_error(response: httpx.Response) -> APIError:
    code, message = "", response.text[:200] or response.reason_phrase
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        code, message = body["error"], str(body.get("message", ""))
    status = response.status_code
    return error_class(status, code)(status, code, message, retry_after(response))


def retry_after(response: httpx.Response) -> float | None:
    """Retry-After in seconds (the service sends whole seconds; dates are not read)."""
    try:
        value = float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


def options(
    type: str, priority: int | None, delay: float | None, max_attempts: int | None
) -> dict[str, str]:
    query = {"type": type}
    if priority is not None:
        query["priority"] = str(priority)
    if delay is not None:
        query["delay"] = seconds(delay)
    if max_attempts is not None:
        query["max_attempts"] = str(max_attempts)
    return query


def seconds(value: float) -> str:
    """Seconds in plain digits, as the service reads them: 1.5, never 1.5e-05."""
    return f"{value:.6f}".rstrip("0").rstrip(".")


def encode(payload: JSONInput) -> bytes:
    return json.dumps(
        payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=plain
    ).encode("utf-8")


def plain(value: object) -> object:
    """Mappings and sequences that are not dicts and lists, for `json.dumps`."""
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        return list(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


def auth_headers(token: str | None) -> dict[str, str]:
    return {} if token is None else {"Authorization": f"Bearer {token}"}


def connection_failed(error: httpx.TransportError) -> ConnectionFailed:
    return ConnectionFailed(f"{type(error).__name__}: {error}")


def task_path(task_id: str) -> str:
    return "/task/" + quote(task_id, safe="")
