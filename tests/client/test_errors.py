"""The service's refusals as the client raises them: class by code, status, the service's words."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

import service
from service.client import (
    APIError,
    AsyncClient,
    BadRequest,
    BatchTooLarge,
    Client,
    ConnectionFailed,
    Forbidden,
    IdempotencyKeyReused,
    InternalError,
    InvalidJSON,
    InvalidParameter,
    InvalidResponse,
    JSONInput,
    NotCancellable,
    NotFound,
    NotRetryable,
    PayloadTooLarge,
    QueueFull,
    ServiceUnavailable,
    StoreUnavailable,
    TooLarge,
    Unauthorized,
    Unavailable,
    UnknownType,
    Unprocessable,
)
from service.client.errors import error_class
from tests.client.support import Api
from tests.e2e.server import free_port


async def test_unknown_task(api: Api) -> None:
    with pytest.raises(NotFound) as refused:
        await api.get("0123")
    error = refused.value
    assert (error.status, error.code) == (404, "not_found")
    assert error.message == "no task with id '0123'"
    with pytest.raises(NotFound):
        await api.cancel("0123")
    with pytest.raises(NotFound):
        await api.wait("0123", 5)


async def test_task_ids_are_quoted_into_the_path(api: Api) -> None:
    with pytest.raises(NotFound) as refused:
        await api.get("a?b#c")
    assert refused.value.message == "no task with id 'a?b#c'"


async def test_finished_task_is_not_cancellable(api: Api) -> None:
    ref = await api.submit("echo", 1)
    await api.wait(ref.id, 10)
    with pytest.raises(NotCancellable) as refused:
        await api.cancel(ref.id)
    assert (refused.value.status, refused.value.code) == (409, "not_cancellable")
    assert refused.value.message == f"task {ref.id} is done; only a queued task can be cancelled"


async def test_unknown_type(api: Api) -> None:
    with pytest.raises(UnknownType) as refused:
        await api.submit("no-such-type", 1)
    assert (refused.value.status, refused.value.code) == (422, "unknown_type")
    assert "no handler is registered for type 'no-such-type'" in refused.value.message
    with pytest.raises(UnknownType):
        await api.submit_many("no-such-type", [1, 2])


@pytest.mark.parametrize(
    "options",
    [{"priority": 2**40}, {"delay": -1.0}, {"max_attempts": 0}],
    ids=["priority", "delay", "max_attempts"],
)
async def test_bad_options(api: Api, options: dict[str, float]) -> None:
    with pytest.raises(InvalidParameter) as refused:
        await api.submit("echo", 1, **options)  # type: ignore[arg-type]
    assert (refused.value.status, refused.value.code) == (422, "invalid_parameter")
    assert next(iter(options)) in refused.value.message


async def test_payload_nested_too_deep_is_invalid_json(api: Api) -> None:
    payload: JSONInput = 1
    for _ in range(200):
        payload = [payload]
    with pytest.raises(InvalidJSON) as refused:
        await api.submit("echo", payload)
    assert (refused.value.status, refused.value.code) == (400, "invalid_json")


async def test_payload_too_large(api: Api) -> None:
    with pytest.raises(PayloadTooLarge) as refused:
        await api.submit("echo", "x" * 70_000)
    assert (refused.value.status, refused.value.code) == (413, "payload_too_large")
    assert refused.value.message == "the body is larger than 65536 bytes"


async def test_batch_too_large(api: Api) -> None:
    with pytest.raises(BatchTooLarge) as refused:
        await api.submit_many("echo", [0] * 1001)
    assert (refused.value.status, refused.value.code) == (413, "batch_too_large")
    assert refused.value.message == "a batch holds at most 1000 tasks, 1001 were sent"


def test_no_service_is_a_connection_failure() -> None:
    began = time.monotonic()
    with Client(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(ConnectionFailed) as failed:
            client.wait("0123", 30)
    assert isinstance(failed.value.__cause__, httpx.ConnectError)
    assert time.monotonic() - began < 5, "a service never reached is not waited for"


async def test_no_service_is_a_connection_failure_async() -> None:
    async with AsyncClient(f"http://127.0.0.1:{free_port()}") as client:
        with pytest.raises(ConnectionFailed) as failed:
            await client.get("0123")
    assert isinstance(failed.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "invalid_json", InvalidJSON),
        (400, "something_new", BadRequest),
        (401, "unauthorized", Unauthorized),
        (403, "forbidden", Forbidden),
        (409, "not_retryable", NotRetryable),
        (409, "idempotency_key_reused", IdempotencyKeyReused),
        (413, "something_new", TooLarge),
        (422, "something_new", Unprocessable),
        (500, "internal_error", InternalError),
        (503, "queue_full", QueueFull),
        (503, "store_unavailable", StoreUnavailable),
        (503, "unavailable", Unavailable),
        (503, "something_new", ServiceUnavailable),
        (418, "something_new", APIError),
    ],
)
def test_class_by_code_then_by_status(status: int, code: str, kind: type[APIError]) -> None:
    assert error_class(status, code) is kind


def test_every_code_the_service_sends_has_its_class() -> None:
    """Read from the service's source, so that a new code without a class fails here."""
    package = Path(service.__file__).parent
    sources = [path for path in package.rglob("*.py") if "client" not in path.parts]
    found = set()
    for path in sources:
        found |= set(re.findall(r'RequestError\(\s*\d{3},\s*"([a-z_]+)"', path.read_text()))
    found |= {"method_not_allowed", "internal_error"}  # from the table in service/app.py
    assert {"not_found", "queue_full", "unauthorized", "not_retryable"} <= found
    for code in sorted(found):
        assert error_class(0, code).error_code == code, code


class Proxy(BaseHTTPRequestHandler):
    """What a misconfigured proxy answers: HTML."""

    def do_GET(self) -> None:
        self.answer(502, b"<html>Bad Gateway</html>")

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.answer(200, b"<html>hello</html>")

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_an_answer_not_from_the_service() -> None:
    with ThreadingHTTPServer(("127.0.0.1", 0), Proxy) as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        try:
            with Client(f"http://127.0.0.1:{proxy.server_address[1]}") as client:
                with pytest.raises(APIError) as refused:
                    client.get("0123")
                with pytest.raises(InvalidResponse) as unreadable:
                    client.submit("echo", 1)
        finally:
            proxy.shutdown()
    assert type(refused.value) is APIError
    assert (refused.value.status, refused.value.code) == (502, "")
    assert refused.value.message == "<html>Bad Gateway</html>"
    assert (unreadable.value.status, unreadable.value.code) == (200, "invalid_response")
