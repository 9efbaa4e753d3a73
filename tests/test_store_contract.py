"""One contract, every store backend: memory, SQLite and PostgreSQL.

The first part holds for one process; the second for processes sharing one store (SQLite
file, PostgreSQL database): two stores opened on it stand for two processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from service import Settings, Task
from service.store import Store, open_store
from tests.stores import opening

BACKENDS = ["memory", "sqlite", "postgresql"]
SHARED = ["sqlite", "postgresql"]
Opener = Callable[..., Awaitable[Store]]


def backend_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "memory":
        return "memory"
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'tasks.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def opener(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Opener]:
    """Opens stores on one backing, closed after the test; `request.param` names the backend."""
    url = backend_url(request.param, request, tmp_path)

    def make(**overrides: Any) -> Store:
        return open_store(Settings(store=url, result_ttl=60, **overrides))

    async with opening(make) as open_one:
        yield open_one


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    url = backend_url(request.param, request, tmp_path)
    opened = open_store(Settings(store=url, result_ttl=60))
    await opened.open()
    yield opened
    await opened.close()


def tasks(count: int, **fields: object) -> list[Task]:
    return [Task(type="echo", payload=n, **fields) for n in range(count)]  # type: ignore[arg-type]


async def test_add_then_get(store: Store) -> None:
    task = Task(type="echo", payload={"a": [1, "b"], "n": 10**30}, priority=3, max_attempts=2)
    assert await store.add([task]) == [task]
    found = await store.get(task.id)
    assert found is not None and found is not task
    assert (found.id, found.type, found.payload, found.priority, found.max_attempts) == (
        task.id,
        "echo",
        {"a": [1, "b"], "n": 10**30},
        3,
        2,
    )
    assert found.status == "queued" and found.attempts == 0
    assert await store.get("unknown") is None
    assert await store.count_unfinished() == 1


async def test_idempotency_key_keeps_the_first(store: Store) -> None:
    first = Task(type="echo", payload=1, idempotency_key="k", fingerprint="f1")
    second = Task(type="echo", payload=2, idempotency_key="k")
    other = Task(type="echo", payload=3, idempotency_key="j")
    assert (await store.add([first]))[0].id == first.id
    stored = await store.add([second, other])
    assert [task.id for task in stored] == [first.id, other.id]
    assert stored[0].fingerprint == "f1"
    assert await store.get(second.id) is None
    found = await store.find("echo", "k")
    assert found is not None and (found.id, found.payload) == (first.id, 1)
    assert await store.find("echo", "unknown") is None


async def test_the_same_key_under_another_type_is_another_task(store: Store) -> None:
    echo = Task(type="echo", payload=1, idempotency_key="k")
    sleep = Task(type="sleep", payload=2, idempotency_key="k")
    assert await store.add([echo]) == [echo]
    assert await store.add([sleep]) == [sleep]
    again = await store.add([Task(type="sleep", payload=3, idempotency_key="k")])
    assert [task.id for task in again] == [sleep.id]


async def test_claim_starts_due_tasks_by_priority_then_age(store: Store) -> None:
    low, high, low_later = Task("echo", 1), Task("echo", 2, priority=5), Task("echo", 3)
    await store.add([low, high, low_later])
    first = await store.claim(2)
    assert [task.id for task in first.tasks] == [high.id, low.id]
    for task in first.tasks:
        assert task.status == "running" and task.attempts == 1
        assert task.claim == (store.owner, 1) and task.started_at is not None
        stored = await store.get(task.id)
        assert stored is not None and stored.status == "running"
    rest = await store.claim(5)
    assert [task.id for task in rest.tasks] == [low_later.id]
    assert (await store.claim(5)).tasks == []
    assert await store.count_unfinished() == 3


async def test_a_delayed_task_is_claimed_once_due(store: Store) -> None:
    task = Task("echo", 1, created_at=time.time(), run_at=time.time() + 0.5)
    await store.add([task])
    early = await store.claim(1)
    assert early.tasks == []
    assert early.next_due is not None and 0.2 < early.next_due <= 0.5
    await asyncio.sleep(early.next_due + 0.05)
    assert [each.id for each in (await store.claim(1)).tasks] == [task.id]


async def test_an_ended_attempt_is_read_back(store: Store) -> None:
    await store.add(tasks(2))
    done, retried = (await store.claim(2)).tasks
    done.status, done.result, done.finished_at = "done", {"ok": [1]}, time.time()
    retried.status, retried.error, retried.run_at = "queued", "ValueError: x", time.time()
    store.record(done)
    store.record(retried)
    await store.flush()
    found = await store.get(done.id)
    assert found is not None and (found.status, found.result) == ("done", {"ok": [1]})
    again = await store.get(retried.id)
    assert again is not None and (again.status, again.error) == ("queued", "ValueError: x")
    [second] = (await store.claim(5)).tasks
    assert (second.id, second.attempts, second.claim) == (retried.id, 2, (store.owner, 2))
    assert await store.count_unfinished() == 1


async def test_a_write_without_the_claim_changes_nothing(store: Store) -> None:
    await store.add(tasks(1))
    [task] = (await store.claim(1)).tasks
    stale = Task(task.type, task.payload, id=task.id, seq=task.seq, status="done")
    stale.attempts, stale.claim = 1, ("another-owner", 1)
    store.record(stale)
    await store.flush()
    found = await store.get(task.id)
    assert found is not None and found.status == "running"
    assert store.fenced == 1


async def test_release_gives_attempts_back_uncounted(store: Store) -> None:
    await store.add(tasks(3))
    claimed = (await store.claim(3)).tasks
    for task in claimed:
        task.status, task.attempts, task.started_at = "queued", 0, None
    assert await store.release(claimed) == 3
    again = (await store.claim(3)).tasks
    assert sorted(task.attempts for task in again) == [1, 1, 1]
    assert await store.release([]) == 0


async def test_cancel_a_queued_task_only(store: Store) -> None:
    queued, running = tasks(2)
    await store.add([running])
    await store.claim(1)
    await store.add([queued])
    cancelled = await store.cancel(queued.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert cancelled.finished_at is not None
    assert (await store.claim(5)).tasks == []
    not_cancelled = await store.cancel(running.id)
    assert not_cancelled is not None and not_cancelled.status == "running"
    assert await store.cancel("unknown") is None
    assert await store.count_unfinished() == 1


async def test_new_tasks_marked_claimed_are_stored_running(store: Store) -> None:
    started, queued = tasks(2)
    started.status, started.attempts, started.claim = "running", 1, (store.owner, 1)
    started.started_at = time.time()
    assert await store.add([started, queued]) == [started, queued]
    assert started.status == "running"
    assert [task.id for task in (await store.claim(5)).tasks] == [queued.id]
    started.status, started.finished_at = "done", time.time()
    store.record(started)
    await store.flush()
    found = await store.get(started.id)
    assert found is not None and (found.status, found.attempts) == ("done", 1)


async def test_finished_tasks_expire(store: Store) -> None:
    await store.add(tasks(2))
    finished = (await store.claim(1)).tasks[0]
    finished.status, finished.finished_at = "done", time.time() - 120
    store.record(finished)
    await store.flush()
    await store.maintain()
    assert await store.get(finished.id) is None
    assert await store.count_unfinished() == 1


async def test_a_lone_store_has_a_live_lease(store: Store) -> None:
    owner = store.owner
    lease = await store.heartbeat()
    assert (lease.lapsed, lease.peers, store.owner) == (False, 0, owner)
    assert await store.take_over() == 0


# Processes sharing one store.


@pytest.mark.parametrize("opener", SHARED, indirect=True)
async def test_every_task_is_claimed_once_by_concurrent_claims(opener: Opener) -> None:
    first, second = await opener(), await opener()
    await first.add(tasks(300))
    claimed: list[Task] = []

    async def claim_all(store: Store) -> None:
        while found := (await store.claim(7)).tasks:
            claimed.extend(found)

    await asyncio.gather(claim_all(first), claim_all(second), claim_all(first))
    assert sorted(task.payload for task in claimed) == list(range(300))


@pytest.mark.parametrize("opener", SHARED, indirect=True)
async def test_every_process_sees_and_cancels_every_task(opener: Opener) -> None:
    first, second = await opener(), await opener()
    running, queued = tasks(2)
    await first.add([running, queued])
    [claimed] = (await first.claim(1)).tasks
    seen = await second.get(running.id)
    assert claimed.id == running.id and seen is not None and seen.status == "running"
    cancelled = await second.cancel(queued.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    assert (await first.claim(5)).tasks == []
    assert (await second.heartbeat()).peers == 1


@pytest.mark.parametrize("opener", SHARED, indirect=True)
async def test_one_idempotency_key_sent_to_two_processes_makes_one_task(opener: Opener) -> None:
    first, second = await opener(), await opener()
    one = Task("echo", 1, idempotency_key="k")
    two = Task("echo", 1, idempotency_key="k")
    [a], [b] = await asyncio.gather(first.add([one]), second.add([two]))
    assert a.id == b.id
    assert await first.count_unfinished() == 1


@pytest.mark.parametrize("opener", SHARED, indirect=True)
async def test_a_lapsed_owner_is_taken_over_and_fenced(opener: Opener) -> None:
    stalled, alive = await opener(lease_timeout=1), await opener(lease_timeout=1)
    await stalled.add(tasks(2))
    mine = (await stalled.claim(2)).tasks
    assert await alive.take_over() == 0  # a live lease keeps its tasks
    await asyncio.sleep(1.3)  # the stalled process renews nothing: its lease runs out
    await alive.heartbeat()
    assert await alive.take_over() == 2
    taken = (await alive.claim(5)).tasks
    assert sorted(task.attempts for task in taken) == [2, 2]
    # The stalled process comes back: its claims are void, its late results change nothing.
    assert (await stalled.claim(5)).tasks == []
    for task in mine:
        task.status, task.finished_at = "failed", time.time()
        stalled.record(task)
    await stalled.flush()
    for task in taken:
        found = await alive.get(task.id)
        assert found is not None and (found.status, found.claim) == ("running", task.claim)
    assert stalled.fenced == 2
    old_owner = stalled.owner
    lease = await stalled.heartbeat()
    assert lease.lapsed and stalled.owner != old_owner and lease.peers == 1
    late = Task("echo", 9)
    late.status, late.attempts, late.claim = "running", 1, (old_owner, 1)
    [stored] = await stalled.add([late])
    assert (stored.status, stored.claim) == ("queued", None)  # not claimed under a dead lease
    assert [task.id for task in (await stalled.claim(5)).tasks] == [late.id]
