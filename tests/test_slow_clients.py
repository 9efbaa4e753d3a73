"""Body deadlines and shutdown cuts, in process: intake, Quart routes, the loop's handler."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from hypercorn.typing import ASGIReceiveEvent, ASGISendEvent, HTTPScope, Scope
from quart import Quart, request

from service import Settings, create_app
from service.app import CutConnections, SilentAfterCut

TIMEOUT = 0.2
STALL: ASGIReceiveEvent = {"type": "http.request", "body": b"[1, ", "more_body": True}


def scope(method: str, path: str) -> HTTPScope:
    return {
        "type": "http",
        "asgi": {"spec_version": "2.1", "version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"type=journal",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 2),
        "state": {},  # type: ignore[typeddict-item]
        "extensions": {},
    }


async def call(app: Quart, method: str, path: str, first: list[ASGIReceiveEvent]) -> Any:
    """Send `first`, then never another byte; return (status, headers, body, seconds)."""
    sent: list[dict[str, Any]] = []

    async def receive() -> ASGIReceiveEvent:
        if first:
            return first.pop(0)
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Any) -> None:
        sent.append(message)

    began = time.monotonic()
    async with asyncio.timeout(5):
        await app(scope(method, path), receive, send)
    start, *bodies = sent
    assert start["type"] == "http.response.start"
    body = b"".join(part.get("body", b"") for part in bodies)
    headers = {bytes(name).lower(): bytes(value) for name, value in start["headers"]}
    return start["status"], headers, body, time.monotonic() - began


def app_with_echo() -> Quart:
    settings = Settings(store="memory", handlers=("tests.sample_handlers",), body_timeout=TIMEOUT)
    app = create_app(settings)

    @app.post("/echo")
    async def echo() -> str | bytes:
        return await request.get_data()

    return app


def assert_timed_out(status: int, headers: dict[bytes, bytes], body: bytes) -> None:
    assert status == 408
    assert headers[b"connection"] == b"close"
    assert b'"error":"request_timeout"' in body


async def test_intake_answers_408_when_no_body_arrives() -> None:
    app = app_with_echo()
    async with app.test_app():
        status, headers, body, seconds = await call(app, "POST", "/task", [])
    assert_timed_out(status, headers, body)
    assert TIMEOUT * 0.9 <= seconds < TIMEOUT + 1


async def test_intake_answers_408_when_the_body_stalls_midway() -> None:
    app = app_with_echo()
    async with app.test_app():
        status, headers, body, _ = await call(app, "POST", "/tasks", [STALL])
    assert_timed_out(status, headers, body)


async def test_quart_body_reads_use_the_same_deadline() -> None:
    app = app_with_echo()
    async with app.test_app():
        assert app.config["BODY_TIMEOUT"] == TIMEOUT
        status, headers, body, seconds = await call(app, "POST", "/echo", [STALL])
    assert_timed_out(status, headers, body)
    assert seconds < TIMEOUT + 1


async def test_cut_connections_are_counted_and_other_errors_passed_on() -> None:
    loop = asyncio.get_running_loop()
    seen: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _, context: seen.append(context))
    cuts = CutConnections()
    cuts.install(loop)
    message = "Exception in callback StreamReaderProtocol.connection_made.<locals>.callback"
    loop.call_exception_handler({"message": message, "exception": asyncio.CancelledError()})
    loop.call_exception_handler({"message": message, "exception": RuntimeError("real")})
    loop.call_exception_handler({"message": "other", "exception": asyncio.CancelledError()})
    cuts.uninstall()
    loop.call_exception_handler({"message": message, "exception": asyncio.CancelledError()})
    loop.set_exception_handler(None)
    assert cuts.count == 1
    assert [context["message"] for context in seen] == [message, "other", message]


async def test_a_cut_request_sends_nothing_later() -> None:
    sent: list[ASGISendEvent] = []
    late: list[asyncio.Task[None]] = []

    async def quart_like(scope: Scope, receive: Any, send: Any) -> None:
        async def view() -> None:
            await asyncio.sleep(0.05)
            await send({"type": "http.response.start", "status": 200, "headers": []})

        late.append(asyncio.ensure_future(view()))
        await asyncio.Event().wait()

    async def send(message: ASGISendEvent) -> None:
        sent.append(message)

    serving = asyncio.create_task(SilentAfterCut(quart_like)(scope("GET", "/x"), None, send))  # type: ignore[arg-type]
    await asyncio.sleep(0.01)
    serving.cancel()
    await asyncio.gather(serving, return_exceptions=True)
    await late[0]
    assert sent == []
