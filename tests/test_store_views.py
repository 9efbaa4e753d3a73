"""What the dashboard reads from every store backend: counts by type and status,
throughput per minute, the instances sharing the store; and the bulk retry of the failed
tasks a filter matches, fenced on their status."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from typing import Any

import pytest

from service import Task
from service.store import Count, Failed, Store
from service.store.sqlite import QUERIES, migrate
from service.task import Status
from tests.any_stores import Opener
from tests.stores import end, failed_task

shared = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)


async def ended(store: Store, specs: list[tuple[str, Status]]) -> list[Task]:
    """A task per (type, status): run and ended, left running, or queued and cancelled."""
    tasks = [Task(kind, n) for n, (kind, _) in enumerate(specs)]
    await store.add(tasks)
    claimed = {task.id: task for task in (await store.claim(len(tasks))).tasks}
    for task, (_, status) in zip(tasks, specs, strict=True):
        if status in ("done", "failed"):
            await end(store, claimed[task.id], status, error="E" if status == "failed" else None)
        elif status in ("queued", "cancelled"):
            claimed[task.id].status = "queued"  # given back uncounted, for anyone to claim
            await store.release([claimed[task.id]])
            if status == "cancelled":
                await store.cancel(task.id)
    return tasks


def counted(counts: list[Count]) -> dict[tuple[str, str], int]:
    return {(count.type, count.status): count.count for count in counts}


async def test_tasks_are_counted_by_type_and_status(store: Store) -> None:
    assert await store.count_tasks() == []
    await ended(
        store,
        [
            ("echo", "done"),
            ("echo", "done"),
            ("echo", "failed"),
            ("sleep", "cancelled"),
            ("sleep", "running"),
            ("sleep", "queued"),
            ("echo", "queued"),
        ],
    )
    assert counted(await store.count_tasks()) == {
        ("echo", "done"): 2,
        ("echo", "failed"): 1,
        ("echo", "queued"): 1,
        ("sleep", "cancelled"): 1,
        ("sleep", "running"): 1,
        ("sleep", "queued"): 1,
    }


async def test_throughput_counts_done_and_failed_per_minute(store: Store) -> None:
    assert await store.throughput(60) == []
    before = time.time()
    await ended(store, [("echo", "done"), ("echo", "done"), ("sleep", "failed")])
    await ended(store, [("echo", "cancelled"), ("echo", "running")])
    minutes = await store.throughput(60)
    assert sum(minute.done for minute in minutes) == 2
    assert sum(minute.failed for minute in minutes) == 1
    assert len(minutes) in (1, 2)  # the tasks may straddle a minute's end
    for minute in minutes:
        assert minute.start % 60 == 0 and before - 60 < minute.start <= time.time()


async def test_this_process_is_an_instance_with_its_concurrency_and_tasks_in_flight(
    store_opener: Opener,
) -> None:
    store = await store_opener(concurrency=3)
    await ended(store, [("echo", "running"), ("echo", "running"), ("echo", "done")])
    [instance] = await store.instances()
    assert (instance.id, instance.concurrency, instance.running) == (store.owner, 3, 2)
    assert instance.pid > 0 and instance.host
    assert time.time() - 60 < instance.started_at <= time.time() + 1
    assert instance.lease_left is None or 0 < instance.lease_left <= 5


@shared
async def test_every_process_sharing_the_store_is_listed(store_opener: Opener) -> None:
    first, second = await store_opener(concurrency=2), await store_opener(concurrency=5)
    await ended(second, [("echo", "running")])
    for store in (first, second):
        found = {instance.id: instance for instance in await store.instances()}
        assert set(found) == {first.owner, second.owner}
        assert (found[first.owner].concurrency, found[first.owner].running) == (2, 0)
        assert (found[second.owner].concurrency, found[second.owner].running) == (5, 1)


async def test_failed_tasks_are_counted_and_retried_by_type_and_id_prefix(store: Store) -> None:
    echoes = [await failed_task(store) for _ in range(3)]
    [other] = await ended(store, [("sleep", "failed")])
    await ended(store, [("echo", "done"), ("echo", "cancelled")])
    newest = max(task.id for task in echoes)
    assert await store.count_failed() == Failed(4, max(newest, other.id))
    assert await store.count_failed(type="echo") == Failed(3, newest)
    assert await store.count_failed(type="nothing") == Failed(0, None)
    one = echoes[1]
    assert await store.count_failed(prefix=one.id[:30]) == Failed(1, one.id)
    assert await store.count_failed(type="sleep", prefix=one.id[:30]) == Failed(0, None)

    # Up to `upto`: a task that failed after the count is left alone.
    upto = sorted(task.id for task in echoes)[1]
    assert await store.retry_failed(type="echo", prefix="", upto=upto) == 2
    retried = {task.id for task in echoes if task.id <= upto}
    for task in await store.get_many([task.id for task in echoes] + [other.id]):
        if task.id in retried:
            assert (task.status, task.attempts, task.error, task.finished_at) == (
                "queued",
                0,
                None,
                None,
            )
        else:
            assert task.status == "failed" and task.error
    # Fenced on the status: the retried tasks are no longer failed, so nothing happens.
    assert await store.retry_failed(type="echo", prefix="", upto=upto) == 0
    assert await store.count_failed() == Failed(2, max(newest, other.id))
    assert await store.retry_failed(type=None, prefix=other.id, upto=other.id) == 1
    assert await store.count_failed() == Failed(1, newest)
    claimed = (await store.claim(10)).tasks
    assert {task.id for task in claimed} == retried | {other.id}


def test_sqlite_counts_from_covering_indexes_only() -> None:
    """No count reads a row of the table per finished task, nor the whole table."""
    queries: dict[str, dict[str, Any]] = {
        "count_tasks": {},
        "throughput": {"since": 0},
        "count_failed": {"low": "", "high": "g"},
        "count_failed_of_type": {"type": "a", "low": "", "high": "g"},
    }
    with closing(sqlite3.connect(":memory:", isolation_level=None)) as connection:
        migrate(connection)
        plans = {
            name: [
                row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + QUERIES[name], values)
            ]
            for name, values in queries.items()
        }
    assert "SCAN tasks USING COVERING INDEX tasks_finished_by_type" in plans["count_tasks"]
    assert any("COVERING INDEX tasks_finished " in line for line in plans["throughput"])
    assert any("COVERING INDEX tasks_finished_by_status" in line for line in plans["count_failed"])
    assert any(
        "COVERING INDEX tasks_finished_by_type" in line for line in plans["count_failed_of_type"]
    )
    lines = [line for plan in plans.values() for line in plan]
    assert not [line for line in lines if line.startswith("SCAN") and "INDEX" not in line]
