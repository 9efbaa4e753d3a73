"""Every refusal is JSON {"error", "message"}, with the right status, and enqueues nothing."""

from __future__ import annotations

from typing import Any

import pytest

from tests import sample_handlers
from tests.conftest import Running, Starter


async def refused(running: Running, response: Any, status: int, code: str) -> None:
    assert response.status_code == status
    body = await response.get_json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in body["message"]
    assert running.service.pool.held == {}
    assert running.service.pool.counts.done == 0


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("body", "headers", "status", "code"),
    [
        (b"{not json", JSON, 400, "invalid_json"),
        (b"", JSON, 400, "invalid_json"),
        (b'"\xff\xfe"', JSON, 400, "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, JSON, 400, "invalid_json"),
        (b"NaN", JSON, 400, "invalid_json"),
        (b'{"foo": "bar"}', {"Content-Type": "text/plain"}, 415, "unsupported_media_type"),
        (b'{"foo": "bar"}', {}, 415, "unsupported_media_type"),
        (b"1" * (1024 * 1024 + 1), JSON, 413, "payload_too_large"),
    ],
    ids=["malformed", "empty", "not-utf8", "deep", "nan", "text-plain", "no-type", "too-big"],
)
async def test_bad_body(
    start: Starter, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    async with start() as running:
        response = await running.client.post("/task?type=echo", data=body, headers=headers)
        await refused(running, response, status, code)


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ("type=nope", "unknown_type"),
        ("type=echo&priority=high", "invalid_parameter"),
        ("type=echo&delay=-1", "invalid_parameter"),
        ("type=echo&delay=inf", "invalid_parameter"),
        ("type=echo&max_attempts=0", "invalid_parameter"),
        ("type=echo&prority=3", "invalid_parameter"),
        ("type=echo&delay=1e12", "invalid_parameter"),
        ("type=echo&delay=315360001", "invalid_parameter"),
        ("type=echo&type=nope", "invalid_parameter"),
        ("type=echo&priority=abc&priority=5", "invalid_parameter"),
        ("type=echo&priority=%EF%BC%95", "invalid_parameter"),
        ("type=echo&priority=1_0", "invalid_parameter"),
        ("type=echo&max_attempts=%201", "invalid_parameter"),
        ("type=echo&delay=1_0", "invalid_parameter"),
    ],
)
async def test_bad_query(start: Starter, query: str, code: str) -> None:
    async with start() as running:
        response = await running.post(f"/task?{query}", {"foo": "bar"})
        await refused(running, response, 422, code)
        batch = await running.post(f"/tasks?{query}", [{"foo": "bar"}])
        await refused(running, batch, 422, code)


async def test_unknown_route_and_wrong_method(start: Starter) -> None:
    async with start() as running:
        await refused(running, await running.client.get("/nowhere"), 404, "not_found")
        wrong = await running.client.get("/task")
        await refused(running, wrong, 405, "method_not_allowed")
        assert "POST" in wrong.headers["Allow"]


async def test_batch_must_be_a_list(start: Starter) -> None:
    async with start() as running:
        await refused(running, await running.post("/tasks?type=echo", {"a": 1}), 400, "not_a_list")


async def test_batch_over_the_maximum_is_refused_whole(start: Starter) -> None:
    async with start(max_batch=5) as running:
        response = await running.post("/tasks?type=echo", list(range(6)))
        await refused(running, response, 413, "batch_too_large")


async def test_full_queue_answers_503_with_retry_after(start: Starter) -> None:
    async with start(queue_maxsize=3, concurrency=1) as running:
        accepted = [await running.post("/task?type=gated", n) for n in range(3)]
        assert [response.status_code for response in accepted] == [202, 202, 202]
        full = await running.post("/task?type=gated", 3)
        assert full.status_code == 503
        assert (await full.get_json())["error"] == "queue_full"
        assert int(full.headers["Retry-After"]) >= 1
        sample_handlers.gate.set()
        for response in accepted:
            await running.wait_finished((await response.get_json())["id"])
        again = await running.post("/task?type=gated", 4)
        assert again.status_code == 202
        await running.wait_finished((await again.get_json())["id"])
    assert sample_handlers.seen == [0, 1, 2, 4]


async def test_batch_larger_than_the_free_room_is_refused_whole(start: Starter) -> None:
    async with start(queue_maxsize=5, concurrency=1) as running:
        first = await running.post("/tasks?type=gated", [1, 2, 3])
        assert first.status_code == 202
        too_many = await running.post("/tasks?type=gated", [4, 5, 6])
        assert too_many.status_code == 503
        assert (await too_many.get_json())["error"] == "queue_full"
        assert await running.service.store.count_unfinished() == 3
        sample_handlers.gate.set()
        for task_id in (await first.get_json())["ids"]:
            await running.wait_finished(task_id)
    assert sample_handlers.seen == [1, 2, 3]


async def test_unexpected_error_is_json_without_traceback(start: Starter) -> None:
    async with start() as running:

        async def broken(task_id: str) -> None:
            raise RuntimeError("secret internals")

        running.service.reads.get = broken
        response = await running.client.get("/task/abc")
        assert response.status_code == 500
        body = await response.get_json()
    assert body["error"] == "internal_error"
    assert "secret" not in body["message"]


async def test_body_limit_is_configurable(start: Starter) -> None:
    async with start(max_body=100) as running:
        response = await running.client.post("/task?type=echo", data=b"1" * 101, headers=JSON)
        await refused(running, response, 413, "payload_too_large")
        fits = await running.client.post("/task?type=echo", data=b"1" * 100, headers=JSON)
        assert fits.status_code == 202
