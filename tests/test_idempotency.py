"""Idempotency keys: one task per type and key, answered first, refused when reused."""

from __future__ import annotations

import asyncio

from tests import sample_handlers
from tests.conftest import Starter
from tests.test_errors import refused


async def test_a_known_key_is_answered_even_when_the_queue_is_full(start: Starter) -> None:
    async with start(queue_maxsize=1, concurrency=1) as running:
        key = {"Idempotency-Key": "k"}
        first = await running.post("/task?type=gated", 1, headers=key)
        assert first.status_code == 202
        assert (await running.post("/task?type=gated", 2)).status_code == 503
        again = await running.post("/task?type=gated", 1, headers=key)
        assert again.status_code == 200
        assert (await again.get_json())["id"] == (await first.get_json())["id"]
        sample_handlers.gate.set()


async def test_concurrent_repeats_hold_one_queue_slot(start: Starter) -> None:
    async with start(queue_maxsize=1, concurrency=1) as running:
        key = {"Idempotency-Key": "same"}
        answers = await asyncio.gather(
            *(running.post("/task?type=gated", "x", headers=key) for _ in range(10))
        )
        assert sorted(answer.status_code for answer in answers) == [200] * 9 + [202]
        assert len({(await answer.get_json())["id"] for answer in answers}) == 1
        sample_handlers.gate.set()
        await running.wait_finished((await answers[0].get_json())["id"])
    assert sample_handlers.seen == ["x"]


async def test_keys_are_scoped_per_type(start: Starter) -> None:
    async with start() as running:
        key = {"Idempotency-Key": "shared"}
        echo = await running.post("/task?type=echo", 1, headers=key)
        other = await running.post("/task?type=dummy", 1, headers=key)
        assert (echo.status_code, other.status_code) == (202, 202)
        assert (await echo.get_json())["id"] != (await other.get_json())["id"]
        record = await running.wait_finished((await other.get_json())["id"])
        assert record["type"] == "dummy"


async def test_a_key_reused_for_another_request_is_refused(start: Starter) -> None:
    async with start() as running:
        key = {"Idempotency-Key": "order-7"}
        first = await running.post("/task?type=echo", {"a": 1, "b": 2}, headers=key)
        assert first.status_code == 202
        reordered = await running.client.post(
            "/task?type=echo",
            data=b'{"b": 2, "a": 1}',
            headers={**key, "Content-Type": "application/json"},
        )
        assert reordered.status_code == 200, "the same object, keys in another order"
        for path, payload in [("/task?type=echo", {"a": 1}), ("/task?type=echo&priority=3", 1)]:
            reused = await running.post(path, payload, headers=key)
            assert reused.status_code == 422
            body = await reused.get_json()
            assert body["error"] == "idempotency_key_reused"
            assert (await first.get_json())["id"] in body["message"]
        await running.wait_finished((await first.get_json())["id"])
    assert sample_handlers.seen == [{"a": 1, "b": 2}]


async def test_a_batch_refuses_an_idempotency_key(start: Starter) -> None:
    async with start() as running:
        key = {"Idempotency-Key": "batch"}
        response = await running.post("/tasks?type=echo", [1, 2], headers=key)
        await refused(running, response, 400, "idempotency_key_unsupported")
