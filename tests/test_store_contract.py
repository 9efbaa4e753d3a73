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


async def test_the_same_key_under_another_type_is_another_task(store: Store) -> None:
    echo = Task(type="echo", payload=1, idempotency_key="k")
    sleep = Task(type="sleep", payload=2, idempotency_key="k")
    assert await store.add([echo]) == [echo]
    assert await store.add([sleep]) == [sleep]
    again = await store.add([Task(type="sleep", payload=3, idempotency_key="k")])
    assert [task.id for task in again] == [sleep.id]
    assert [(await store.get(task.id)) is not None for task in (echo, sleep)] == [True, True]


async def test_find_by_type_and_key(store: Store) -> None:
    task = Task(type="echo", payload={"x": 1}, idempotency_key="k")
    await store.add([task, Task(type="echo", payload=2, idempotency_key="j")])
    found = await store.find("echo", "k")
    assert found is not None and (found.id, found.payload) == (task.id, {"x": 1})
    assert await store.find("sleep", "k") is None
    assert await store.find("echo", "unknown") is None


async def test_fingerprint_is_stored_and_read_back(store: Store) -> None:
    keyed = Task(type="echo", payload=1, idempotency_key="k", fingerprint="f1")
    plain = Task(type="echo", payload=2)
    await store.add([keyed, plain])
    [kept] = await store.add([Task(type="echo", payload=9, idempotency_key="k", fingerprint="f2")])
    found, got = await store.find("echo", "k"), await store.get(keyed.id)
    other = await store.get(plain.id)
    assert found is not None and got is not None and other is not None
    assert (kept.fingerprint, found.fingerprint, got.fingerprint) == ("f1", "f1", "f1")
    assert other.fingerprint is None


async def test_release_counts_what_the_store_took_back(store: Store) -> None:
    held = [Task(type="echo", payload=n) for n in range(3)]
    finished = Task(type="echo", payload=3)
    await store.add([*held, finished])
    finished.status, finished.finished_at = "done", time.time()
    store.record(finished)
    assert await store.release(held) == (3 if store.durable else 0)


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
