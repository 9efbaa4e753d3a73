"""Per-task options: priority, delay, retries, idempotency, cancellation."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from service.errors import RequestError
from service.options import Options, parse_options
from tests import sample_handlers
from tests.conftest import Starter


async def test_priority_higher_first_then_fifo(start: Starter) -> None:
    async with start(concurrency=1) as running:
        blocker = await running.post("/task?type=gated", "blocker")
        ids = []
        for payload, priority in [("low-1", 0), ("high-1", 5), ("low-2", 0), ("high-2", 5)]:
            response = await running.post(f"/task?type=gated&priority={priority}", payload)
            ids.append((await response.get_json())["id"])
        sample_handlers.gate.set()
        await running.wait_finished((await blocker.get_json())["id"])
        for task_id in ids:
            await running.wait_finished(task_id)
    assert sample_handlers.seen == ["blocker", "high-1", "high-2", "low-1", "low-2"]


async def test_delay_runs_no_earlier_and_shows_run_at(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task?type=echo&delay=0.3", "later")
        task_id = (await response.get_json())["id"]
        queued = await (await running.client.get(f"/task/{task_id}")).get_json()
        assert queued["status"] == "queued" and queued["run_at"] > queued["created_at"]
        await asyncio.sleep(0.1)
        assert sample_handlers.seen == []
        done = await running.wait_finished(task_id)
    assert done["status"] == "done"
    assert done["started_at"] >= done["run_at"]


async def test_retries_until_success(start: Starter) -> None:
    async with start(max_attempts=3) as running:
        response = await running.post("/task?type=flaky", 3)
        record = await running.wait_finished((await response.get_json())["id"])
    assert record["status"] == "done"
    assert record["attempts"] == 3 and record["result"] == 3
    assert record["error"] == "RuntimeError: attempt 2 failed"


async def test_last_attempt_fails_and_keeps_the_error(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task?type=flaky&max_attempts=2", 10)
        record = await running.wait_finished((await response.get_json())["id"])
    assert record["status"] == "failed"
    assert record["attempts"] == 2 and record["max_attempts"] == 2
    assert record["error"] == "RuntimeError: attempt 2 failed"


async def test_timeout_counts_as_a_failed_attempt(start: Starter) -> None:
    async with start(task_timeout=0.02, max_attempts=2) as running:
        response = await running.post("/task?type=sleep", 5)
        record = await running.wait_finished((await response.get_json())["id"])
    assert record["status"] == "failed" and record["attempts"] == 2


async def test_idempotency_key_returns_the_first_task(start: Starter) -> None:
    async with start() as running:
        headers = {"Idempotency-Key": "order-42"}
        first = await running.post("/task?type=echo", {"n": 1}, headers=headers)
        again = await running.post("/task?type=echo", {"n": 1}, headers=headers)
        other = await running.post("/task?type=echo", {"n": 2}, headers={"Idempotency-Key": "x"})
        assert first.status_code == 202 and again.status_code == 200
        first_body, again_body = await first.get_json(), await again.get_json()
        assert again_body["id"] == first_body["id"]
        assert set(again_body) == {"success", "id", "status"}
        assert again.headers["Location"] == first.headers["Location"]
        await running.wait_finished(first_body["id"])
        await running.wait_finished((await other.get_json())["id"])
        after_done = await running.post("/task?type=echo", {"n": 1}, headers=headers)
        assert (await after_done.get_json())["status"] == "done"
    assert sample_handlers.seen == [{"n": 1}, {"n": 2}]


async def test_cancel_a_queued_task(start: Starter) -> None:
    async with start(concurrency=1) as running:
        blocker = await running.post("/task?type=gated", "blocker")
        queued = await running.post("/task?type=gated", "cancelled")
        task_id = (await queued.get_json())["id"]
        response = await running.client.delete(f"/task/{task_id}")
        assert response.status_code == 200
        assert (await response.get_json())["status"] == "cancelled"
        sample_handlers.gate.set()
        await running.wait_finished((await blocker.get_json())["id"])
        record = await (await running.client.get(f"/task/{task_id}")).get_json()
    assert record["status"] == "cancelled"
    assert sample_handlers.seen == ["blocker"]


async def test_cancel_is_stored_before_the_answer(start: Starter, tmp_path: Path) -> None:
    async with start(concurrency=1, store=f"sqlite:///{tmp_path / 'c.db'}") as running:
        await running.post("/task?type=gated", "blocker")
        queued = await running.post("/task?type=gated", "cancelled")
        task_id = (await queued.get_json())["id"]
        assert (await running.client.delete(f"/task/{task_id}")).status_code == 200
        with sqlite3.connect(tmp_path / "c.db") as connection:
            query = "SELECT status FROM tasks WHERE id = ?"
            [(status,)] = connection.execute(query, (task_id,)).fetchall()
        assert status == "cancelled"
        sample_handlers.gate.set()


async def test_cancel_running_finished_or_unknown(start: Starter) -> None:
    async with start() as running:
        blocker = await running.post("/task?type=gated", "running")
        blocker_id = (await blocker.get_json())["id"]
        while running.service.pool.held[blocker_id].status != "running":
            await asyncio.sleep(0.001)
        busy = await running.client.delete(f"/task/{blocker_id}")
        assert busy.status_code == 409
        assert (await busy.get_json())["error"] == "not_cancellable"
        sample_handlers.gate.set()
        await running.wait_finished(blocker_id)
        assert (await running.client.delete(f"/task/{blocker_id}")).status_code == 409
        assert (await running.client.delete("/task/unknown")).status_code == 404


def test_the_same_query_gets_the_same_options_and_a_refusal_every_time() -> None:
    """Parsed options are kept per query string: the default type still counts, and a
    refused query is refused again, not answered from what was kept."""
    assert parse_options(b"type=echo&priority=3", "a") == Options("echo", priority=3)
    assert parse_options(b"priority=3", "a") == Options("a", priority=3)
    assert parse_options(b"priority=3", "b") == Options("b", priority=3)
    long_type = "t" * 1000  # past what is kept: parsed each time, the same way
    assert parse_options(f"type={long_type}".encode(), "a") == Options(long_type)
    for _ in range(2):
        for query in (b"priority=high", b"priority=high&type=" + b"t" * 1000):
            with pytest.raises(RequestError) as refused:
                parse_options(query, "a")
            assert refused.value.status == 422 and "priority" in refused.value.body()["message"]
