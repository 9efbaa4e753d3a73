"""Which SQLite commits wait for the disk: those whose answer promises something to a client.

New tasks, cancels and retries are committed with `synchronous=FULL` (the WAL is fsynced
before the caller hears of it). Claims, ends of attempts, leases and take-overs are committed
with `synchronous=NORMAL`: they reach the disk with the next FULL commit or checkpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from service import Task
from service.store.sqlite import SQLiteStore
from tests.sqlite_stores import sqlite_store, stored

FULL, NORMAL = "FULL", "NORMAL"


class Commits:
    """The `synchronous` level of each commit, from the statements the connection ran."""

    def __init__(self, store: SQLiteStore) -> None:
        connection = store._db._connection
        assert connection is not None
        self.levels: list[str] = []
        self._level = {1: NORMAL, 2: FULL}[connection.execute("PRAGMA synchronous").fetchone()[0]]
        connection.set_trace_callback(self._traced)

    def _traced(self, statement: str) -> None:
        if statement.startswith("PRAGMA synchronous = "):
            self._level = statement.removeprefix("PRAGMA synchronous = ")
        elif statement == "COMMIT":
            self.levels.append(self._level)


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SQLiteStore]:
    opened = sqlite_store(path)
    await opened.open()
    yield opened
    await opened.close()


async def test_the_file_is_opened_for_full_durability(store: SQLiteStore) -> None:
    assert store._db._connection is not None
    assert store._db._connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store._db._connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


async def test_new_tasks_wait_for_the_disk(store: SQLiteStore) -> None:
    commits = Commits(store)
    await store.add([Task(type="echo", payload=1)])
    assert commits.levels == [FULL]


async def test_claims_and_leases_do_not_wait_for_the_disk(store: SQLiteStore) -> None:
    await store.add([Task(type="echo", payload=1)])
    commits = Commits(store)
    assert len((await store.claim(1)).tasks) == 1
    await store.heartbeat()
    await store.take_over()
    await store.maintain()
    assert commits.levels == [NORMAL] * 4


async def test_ends_of_attempts_do_not_wait_for_the_disk(store: SQLiteStore, path: Path) -> None:
    await store.add([Task(type="echo", payload=1)])
    [task] = (await store.claim(1)).tasks
    commits = Commits(store)
    task.status, task.finished_at, task.result = "done", task.started_at, "ok"
    store.record(task)
    while not commits.levels:
        await asyncio.sleep(0.005)
    assert commits.levels == [NORMAL]
    assert stored(path)[task.id][0] == "done"


async def test_cancel_and_retry_wait_for_the_disk(store: SQLiteStore) -> None:
    task = Task(type="echo", payload=1)
    await store.add([task])
    commits = Commits(store)
    cancelled = await store.cancel(task.id)
    assert cancelled is not None and cancelled.status == "cancelled"
    retried = await store.retry(task.id)
    assert retried is not None and retried.status == "queued"
    assert commits.levels == [FULL, FULL]


async def test_a_claim_sharing_a_commit_with_new_tasks_waits_for_the_disk(
    store: SQLiteStore,
) -> None:
    await store.add([Task(type="echo", payload=1)])
    commits = Commits(store)
    added, claimed = await asyncio.gather(store.add([Task(type="echo", payload=2)]), store.claim(1))
    assert len(added) == 1 and len(claimed.tasks) == 1
    assert commits.levels == [FULL]  # one commit for both, and it waited


async def test_the_level_follows_each_commit(store: SQLiteStore) -> None:
    """A NORMAL commit does not leave the next FULL one without its fsync, nor the reverse."""
    commits = Commits(store)
    for payload in range(3):
        await store.add([Task(type="echo", payload=payload)])
        await store.claim(1)
    assert commits.levels == [FULL, NORMAL] * 3
    assert store._db._connection is not None
    assert store._db._connection.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
