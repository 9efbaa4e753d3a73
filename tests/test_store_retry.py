"""Retrying a failed or cancelled task, on every store backend.

Two stores on one SQLite file or PostgreSQL database stand for two processes.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from service import Task
from service.store import Store
from tests.any_stores import Opener
from tests.stores import end, failed_task


async def test_a_failed_task_is_queued_again_with_a_fresh_budget(store: Store) -> None:
    failed = await failed_task(store, priority=3)
    before = time.time()
    retried = await store.retry(failed.id)
    assert retried is not None and retried.id == failed.id
    assert (retried.status, retried.attempts, retried.max_attempts) == ("queued", 0, 2)
    assert (retried.result, retried.error, retried.claim) == (None, None, None)
    assert (retried.started_at, retried.finished_at) == (None, None)
    assert (retried.type, retried.payload, retried.priority) == ("echo", 1, 3)
    assert before - 1 <= retried.run_at <= time.time() + 1  # due now
    stored = await store.get(failed.id)
    assert stored is not None and (stored.status, stored.error) == ("queued", None)
    assert await store.count_unfinished() == 1
    [again] = (await store.claim(5)).tasks
    assert (again.id, again.attempts, again.claim) == (failed.id, 1, (store.owner, 1))
    again.status, again.run_at = "queued", time.time()  # its first attempt fails: one left
    store.record(again)
    await store.flush()
    [last] = (await store.claim(5)).tasks
    assert (last.id, last.attempts) == (failed.id, 2)


async def test_a_cancelled_task_is_queued_again_due_now(store: Store) -> None:
    [task] = await store.add([Task("echo", 1, created_at=time.time(), run_at=time.time() + 60)])
    await store.cancel(task.id)
    retried = await store.retry(task.id)
    assert retried is not None and retried.status == "queued" and retried.finished_at is None
    [claimed] = (await store.claim(5)).tasks  # now, not in a minute
    assert claimed.id == task.id


async def test_a_task_in_another_status_is_returned_unchanged(store: Store) -> None:
    running, done, queued = await store.add([Task("echo", n) for n in range(3)])
    claimed = {task.id: task for task in (await store.claim(2)).tasks}
    await end(store, claimed[done.id], "done", result=5)
    for task in await store.get_many([running.id, done.id, queued.id]):
        again = await store.retry(task.id)
        assert again is not None and again.id == task.id
        assert (again.status, again.attempts, again.result) == (
            task.status,
            task.attempts,
            task.result,
        )
    assert {task.status for task in await store.get_many([running.id, done.id, queued.id])} == {
        "running",
        "done",
        "queued",
    }
    assert await store.retry("unknown") is None
    assert [task.id for task in (await store.claim(5)).tasks] == [queued.id]


async def test_a_forgotten_task_cannot_be_retried(store: Store) -> None:
    await store.add([Task("echo", 0)])
    [old] = (await store.claim(1)).tasks
    await end(store, old, "failed", finished_at=time.time() - 120)  # past the results' ttl
    recent = await failed_task(store)
    await store.maintain()
    assert await store.retry(old.id) is None
    assert await store.retry(recent.id) is not None


async def test_a_retried_task_is_not_forgotten_as_a_finished_one(store_opener: Opener) -> None:
    store = await store_opener(result_max=1)
    failed = await failed_task(store)
    await store.retry(failed.id)
    await store.add([Task("echo", 2)])
    for task in (await store.claim(5)).tasks:
        if task.id != failed.id:
            await end(store, task, "done")  # the one finished task kept
    await store.maintain()
    found = await store.get(failed.id)
    assert found is not None and found.status == "running"


async def test_a_retried_task_queued_again_for_later_waits(store: Store) -> None:
    [task] = await store.add([Task("echo", 1)])
    await store.cancel(task.id)
    await store.retry(task.id)
    [claimed] = (await store.claim(1)).tasks
    claimed.status, claimed.run_at = "queued", time.time() + 60  # a retry after a backoff
    store.record(claimed)
    await store.flush()
    assert (await store.claim(5)).tasks == []


# Processes sharing one store.


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
async def test_concurrent_retries_queue_the_task_once(store_opener: Opener) -> None:
    first, second = await store_opener(), await store_opener()
    failed = await failed_task(first)
    one, two = await asyncio.gather(first.retry(failed.id), second.retry(failed.id))
    assert one is not None and two is not None
    assert (one.status, two.status) == ("queued", "queued")
    claimed = (await first.claim(5)).tasks + (await second.claim(5)).tasks
    assert [task.id for task in claimed] == [failed.id] and claimed[0].attempts == 1
    again = await second.retry(failed.id)  # running now: a retry changes nothing
    assert again is not None and again.status == "running" and again.claim == claimed[0].claim
    assert await first.count_unfinished() == 1


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
async def test_a_retry_wakes_the_other_processes(store_opener: Opener) -> None:
    first, second = await store_opener(), await store_opener()
    failed = await failed_task(first)
    woken = asyncio.Event()
    second.listen(woken.set)
    await asyncio.wait_for(woken.wait(), 10)  # listening: it wakes once, to catch up
    woken.clear()
    await first.retry(failed.id)
    await asyncio.wait_for(woken.wait(), 10)
    woken.clear()
    await first.retry(failed.id)  # queued already: no new work
    await asyncio.sleep(0.3)
    assert not woken.is_set()
