"""Reading the queue, on every store backend: pages of tasks (newest first, filtered, a
page at a time), tasks by id, and the queue's counts.

Two stores on one SQLite file or PostgreSQL database stand for two processes.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from service import Task
from service.store import QueueStats, Store
from service.task import Status
from tests.any_stores import Opener
from tests.stores import end

shared = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)

MIXED: list[tuple[str, Status]] = [
    ("echo", "done"),
    ("sleep", "done"),
    ("echo", "failed"),
    ("sleep", "failed"),
    ("echo", "running"),
    ("sleep", "running"),
    ("echo", "queued"),
    ("sleep", "queued"),
    ("echo", "cancelled"),
    ("sleep", "cancelled"),
]


async def mixed(store: Store) -> dict[str, tuple[str, Status]]:
    """Two types in each status; (type, status) by id."""
    started = [Task(kind, n) for n, (kind, _) in enumerate(MIXED[:6])]
    await store.add(started)
    claimed = {task.id: task for task in (await store.claim(len(started))).tasks}
    for task, (_, status) in zip(started, MIXED, strict=False):
        if status != "running":
            await end(store, claimed[task.id], status)
    waiting = [Task(kind, n) for n, (kind, _) in enumerate(MIXED[6:])]
    await store.add(waiting)
    for task in waiting[2:]:
        await store.cancel(task.id)
    everything = [*started, *waiting]
    return {task.id: spec for task, spec in zip(everything, MIXED, strict=True)}


def ids(tasks: list[Task]) -> list[str]:
    return [task.id for task in tasks]


# Pages of tasks.


async def test_tasks_are_listed_newest_first_up_to_the_limit(store: Store) -> None:
    added = await store.add([Task("echo", n) for n in range(5)])
    newest_first = sorted(ids(added), reverse=True)
    assert ids(await store.list_tasks()) == newest_first
    assert ids(await store.list_tasks(limit=2)) == newest_first[:2]
    assert await store.list_tasks(limit=0) == []
    [found] = await store.list_tasks(limit=1)
    newest = next(task for task in added if task.id == found.id)
    assert found.id == newest_first[0] and found is not newest
    assert (found.type, found.status, found.payload) == ("echo", "queued", newest.payload)


async def test_filters_by_status_by_type_and_by_both(store: Store) -> None:
    specs = await mixed(store)

    def expected(kind: str | None, status: Status | None) -> list[str]:
        return sorted(
            (
                task_id
                for task_id, (task_type, task_status) in specs.items()
                if kind in (None, task_type) and status in (None, task_status)
            ),
            reverse=True,
        )

    assert ids(await store.list_tasks()) == expected(None, None)
    for status in ("queued", "running", "done", "failed", "cancelled"):
        found = await store.list_tasks(status=status)
        assert ids(found) == expected(None, status) and len(found) == 2
        assert {task.status for task in found} == {status}
        for kind in ("echo", "sleep"):
            [one] = await store.list_tasks(status=status, type=kind)
            assert [one.id] == expected(kind, status)
            assert (one.type, one.status) == (kind, status)
    for kind in ("echo", "sleep"):
        found = await store.list_tasks(type=kind)
        assert ids(found) == expected(kind, None) and len(found) == 5
        assert ids(await store.list_tasks(type=kind, limit=3)) == expected(kind, None)[:3]
    assert await store.list_tasks(type="unknown") == []
    assert await store.list_tasks(type="unknown", status="done") == []


@pytest.mark.parametrize(
    ("status", "kind"), [(None, None), ("queued", None), (None, "b"), ("queued", "b")]
)
async def test_pages_follow_each_other_without_gaps_or_repeats(
    store: Store, status: Status | None, kind: str | None
) -> None:
    added = await store.add([Task("ab"[n % 2], n) for n in range(23)])
    statuses = {task.id: "queued" for task in added}
    for task in added[:3]:
        await store.cancel(task.id)
        statuses[task.id] = "cancelled"
    wanted = [
        task.id
        for task in added
        if kind in (None, task.type) and status in (None, statuses[task.id])
    ]
    pages: list[list[str]] = []
    after = None
    while page := ids(await store.list_tasks(status=status, type=kind, limit=4, after=after)):
        assert len(page) <= 4
        pages.append(page)
        after = page[-1]
    assert [task_id for page in pages for task_id in page] == sorted(wanted, reverse=True)
    assert all(len(page) == 4 for page in pages[:-1])


async def test_get_many_returns_the_known_tasks_once(store: Store) -> None:
    first, second = await store.add([Task("echo", 1), Task("echo", 2)])
    [running] = (await store.claim(1)).tasks
    found = await store.get_many([second.id, "unknown", first.id, second.id])
    assert sorted(ids(found)) == sorted([first.id, second.id])
    by_id = {task.id: task for task in found}
    assert by_id[running.id].status == "running" and by_id[running.id].attempts == 1
    assert await store.get_many([]) == []
    await end(store, running, "done", result={"ok": True})
    done = await store.get_many([running.id])
    assert [(task.status, task.result) for task in done] == [("done", {"ok": True})]


async def test_get_many_shows_a_state_as_soon_as_it_is_recorded(store: Store) -> None:
    await store.add([Task("echo", 1)])
    [task] = (await store.claim(1)).tasks
    task.status, task.result, task.finished_at = "done", 7, time.time()
    store.record(task)  # not flushed: a durable store may not have written it yet
    [found] = await store.get_many([task.id])
    assert (found.status, found.result) == ("done", 7)


async def test_a_recorded_state_is_listed_at_once(store: Store) -> None:
    await store.add([Task("echo", 1), Task("echo", 2)])
    done, running = (await store.claim(2)).tasks
    done.status, done.finished_at = "done", time.time()
    store.record(done)  # not flushed: a durable store may not have written it yet
    assert ids(await store.list_tasks(status="done")) == [done.id]
    assert ids(await store.list_tasks(type="echo", status="running")) == [running.id]
    assert (await store.stats()).running == 1


# The queue's counts.


async def test_stats_count_due_delayed_and_running_tasks(store: Store) -> None:
    assert await store.stats() == QueueStats(0, 0, 0, 0.0)
    await store.add([Task("echo", 1), Task("echo", 2)])
    await asyncio.sleep(0.3)
    now = time.time()
    await store.add([Task("echo", 3, created_at=now, run_at=now + 60)])
    await store.claim(1)
    stats = await store.stats()
    assert (stats.due, stats.delayed, stats.running) == (1, 1, 1)
    assert 0.25 <= stats.oldest_due_age < 10
    await store.claim(5)
    assert await store.stats() == QueueStats(0, 1, 2, 0.0)


# Processes sharing one store.


@shared
async def test_every_process_lists_and_gets_every_task(store_opener: Opener) -> None:
    first, second = await store_opener(), await store_opener()
    mine = await first.add([Task("echo", 1), Task("sleep", 2)])
    theirs = await second.add([Task("echo", 3)])
    everything = sorted(ids([*mine, *theirs]), reverse=True)
    for store in (first, second):
        assert ids(await store.list_tasks()) == everything
        assert len(await store.list_tasks(type="echo", status="queued")) == 2
        assert sorted(ids(await store.get_many(everything))) == sorted(everything)
        assert (await store.stats()).due == 3
