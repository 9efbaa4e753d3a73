"""One contract, every store backend."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from service import Settings, Task
from service.store import Store, open_store


@pytest.fixture
async def store(store_url: str) -> AsyncIterator[Store]:
    opened = open_store(Settings(store=store_url, result_ttl=60))
    await opened.open()
    yield opened
    await opened.close()


async def test_add_then_get(store: Store) -> None:
    task = Task(type="echo", payload={"a": [1, "b"]}, priority=3, max_attempts=2)
    assert await store.add([task]) == [task]
    found = await store.get(task.id)
    assert found is not None
    assert (found.id, found.type, found.payload, found.priority, found.max_attempts) == (
        task.id,
        "echo",
        {"a": [1, "b"]},
        3,
        2,
    )
    assert found.status == "queued" and found.attempts == 0
    assert await store.get("unknown") is None


async def test_idempotency_key_keeps_the_first(store: Store) -> None:
    first = Task(type="echo", payload=1, idempotency_key="k")
    second = Task(type="echo", payload=2, idempotency_key="k")
    other = Task(type="echo", payload=3, idempotency_key="j")
    assert (await store.add([first]))[0].id == first.id
    stored = await store.add([second, other])
    assert [task.id for task in stored] == [first.id, other.id]
    assert await store.get(second.id) is None


async def test_recorded_state_is_read_back(store: Store) -> None:
    task = Task(type="echo", payload=None)
    await store.add([task])
    task.status, task.attempts, task.started_at = "running", 1, time.time()
    store.record(task)
    task.status, task.result, task.finished_at = "done", {"ok": True}, time.time()
    store.record(task)
    found = await store.get(task.id)
    assert found is not None
    assert (found.status, found.attempts, found.result) == ("done", 1, {"ok": True})
    assert found.finished_at == task.finished_at


async def test_finished_tasks_expire(store_url: str) -> None:
    store = open_store(Settings(store=store_url, result_ttl=0))
    await store.open()
    try:
        finished, unfinished = Task(type="echo", payload=1), Task(type="echo", payload=2)
        await store.add([finished, unfinished])
        finished.status, finished.finished_at = "done", time.time() - 1
        store.record(finished)
        await store.maintain()
        assert await store.get(finished.id) is None
        assert await store.get(unfinished.id) is not None
    finally:
        await store.close()


async def test_nothing_to_claim_from_a_live_owner(store: Store) -> None:
    await store.add([Task(type="echo", payload=1)])
    assert await store.claim(10) == []
