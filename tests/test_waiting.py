"""`GET /task/<id>?wait=`: answered when the task ends, at the deadline, or at shutdown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest

from service import Settings, create_app
from service.task import Task
from tests import sample_handlers
from tests.conftest import Running, Starter


async def submit(running: Running, type: str, payload: Any, query: str = "") -> str:
    response = await running.post(f"/task?type={type}{query}", payload)
    assert response.status_code == 202
    task_id: str = (await response.get_json())["id"]
    return task_id


async def test_a_waiter_is_answered_as_soon_as_the_task_ends(start: Starter) -> None:
    async with start() as running:
        task_id = await submit(running, "gated", "opened")
        waiting = asyncio.create_task(running.client.get(f"/task/{task_id}?wait=30"))
        await asyncio.sleep(0.2)
        assert not waiting.done()
        began = time.monotonic()
        sample_handlers.gate.set()
        response = await waiting
        assert time.monotonic() - began < 1.0
        body = await response.get_json()
        assert response.status_code == 200
        assert (body["status"], body["result"]) == ("done", "opened")


async def test_a_waiter_gets_the_task_as_it_stands_when_time_is_up(start: Starter) -> None:
    async with start() as running:
        task_id = await submit(running, "echo", 1, "&delay=60")
        began = time.monotonic()
        response = await running.client.get(f"/task/{task_id}?wait=0.3")
        assert 0.3 <= time.monotonic() - began < 2.0
        assert (await response.get_json())["status"] == "queued"


async def test_a_finished_task_is_answered_at_once(start: Starter) -> None:
    async with start() as running:
        task_id = await submit(running, "echo", 1)
        await running.wait_finished(task_id)
        began = time.monotonic()
        response = await running.client.get(f"/task/{task_id}?wait=30")
        assert time.monotonic() - began < 0.5
        assert (await response.get_json())["status"] == "done"


async def test_a_cancelled_task_wakes_its_waiters(start: Starter) -> None:
    async with start() as running:
        task_id = await submit(running, "echo", 1, "&delay=60")
        waiting = asyncio.create_task(running.client.get(f"/task/{task_id}?wait=30"))
        await asyncio.sleep(0.1)
        assert (await running.client.delete(f"/task/{task_id}")).status_code == 200
        response = await asyncio.wait_for(waiting, 2)
        assert (await response.get_json())["status"] == "cancelled"


@pytest.mark.parametrize("wait", ["0", "-1", "60.5", "soon", "nan", "inf"])
async def test_wait_out_of_bounds_is_refused(start: Starter, wait: str) -> None:
    async with start() as running:
        task_id = await submit(running, "echo", 1)
        response = await running.client.get(f"/task/{task_id}?wait={wait}")
        assert response.status_code == 422
        assert (await response.get_json())["error"] == "invalid_parameter"


async def test_waiting_on_an_unknown_task_is_404(start: Starter) -> None:
    async with start() as running:
        response = await running.client.get("/task/nope?wait=5")
        assert response.status_code == 404


async def test_a_thousand_waiters_cost_no_poll_each(start: Starter) -> None:
    """1000 waiters on 100 tasks: local ends wake them, the store is looked up once a tick."""
    async with start(concurrency=100, poll_interval=0.2) as running:
        ids = [await submit(running, "gated", n) for n in range(100)]
        lookups: list[int] = []
        store = running.service.store
        get_many = store.get_many

        async def counted(task_ids: Sequence[str]) -> list[Task]:
            lookups.append(len(task_ids))
            tasks: list[Task] = await get_many(task_ids)
            return tasks

        store.get_many = counted
        waiters = [
            asyncio.create_task(running.client.get(f"/task/{ids[n % 100]}?wait=30"))
            for n in range(1000)
        ]
        await asyncio.sleep(1.0)
        assert len(running.service.waiters) == 1000
        sample_handlers.gate.set()
        answers = await asyncio.wait_for(asyncio.gather(*waiters), 10)
        statuses = {(await answer.get_json())["status"] for answer in answers}
        assert statuses == {"done"}
        assert len(lookups) <= 7, lookups  # about 1 s / 0.2 s, whatever the number of waiters
        assert all(count == 100 for count in lookups)


async def test_waiters_are_answered_when_the_service_stops(settings: Settings) -> None:
    app = create_app(replace(settings, drain_timeout=1))
    async with app.test_app() as test_app:
        client = app.test_client()
        response = await client.post("/task?type=echo&delay=60", json=1)
        task_id = (await response.get_json())["id"]
        waiting = asyncio.create_task(client.get(f"/task/{task_id}?wait=60"))
        await asyncio.sleep(0.2)
        began = time.monotonic()
        await test_app.shutdown()
        answer = await asyncio.wait_for(waiting, 5)
    assert time.monotonic() - began < 3
    assert (await answer.get_json())["status"] == "queued"
