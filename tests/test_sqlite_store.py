"""What only the SQLite store promises: reopen, migrations, group commit."""

from __future__ import annotations

import asyncio
import os
import re
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from service import Task
from service.errors import StoreError
from service.store import sql
from service.store.sqlite import QUERIES, migrate
from tests.sqlite_stores import (
    NEWEST,
    execute,
    marked_claimed,
    sqlite_store,
    stored,
)


async def test_tasks_survive_a_reopen(path: Path) -> None:
    first = sqlite_store(path)
    await first.open()
    task = Task(type="echo", payload={"keep": True})
    await first.add([task])
    await first.close()

    second = sqlite_store(path)
    await second.open()
    try:
        [claimed] = (await second.claim(10)).tasks
        assert (claimed.id, claimed.payload) == (task.id, {"keep": True})
        assert (claimed.status, claimed.attempts) == ("running", 1)
        assert claimed.claim == (second.owner, 1)
    finally:
        await second.close()


@pytest.mark.parametrize("version", [number for number, _ in sql.migrations("sqlite")][:-1])
async def test_older_schema_is_migrated_and_keeps_its_tasks(path: Path, version: int) -> None:
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        assert migrate(connection, target=version) == version
        if version >= 2:  # an old process that still looks alive, on another host
            connection.execute(
                "INSERT INTO owners (id, host, pid, expires_at) "
                "VALUES ('old', 'elsewhere', 1, 1e12)"
            )
        connection.executemany(
            "INSERT INTO tasks (id, type, payload, created_at, idempotency_key, owner) "
            "VALUES (?, 'echo', ?, ?, ?, 'old')",
            [("old", "7", time.time(), None), ("keyed", "8", time.time(), "k")],
        )
    store = sqlite_store(path)
    await store.open()
    try:
        claimed = (await store.claim(10)).tasks  # queued tasks are nobody's: claimable
        assert [(task.id, task.payload) for task in claimed] == [("old", 7), ("keyed", 8)]
        assert {(task.status, task.claim) for task in claimed} == {("running", (store.owner, 1))}
        found = await store.find("echo", "k")
        assert found is not None and (found.id, found.fingerprint) == ("keyed", None)
        [same] = await store.add([Task(type="echo", payload=9, idempotency_key="k")])
        other = Task(type="sleep", payload=9, idempotency_key="k")
        assert (same.id, await store.add([other])) == ("keyed", [other])
    finally:
        await store.close()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == NEWEST
        by_key = connection.execute(
            "EXPLAIN QUERY PLAN " + QUERIES["select_by_key"], ("echo", "k")
        ).fetchall()
        claiming = connection.execute(
            "EXPLAIN QUERY PLAN " + QUERIES["claim"], {"owner": "o", "now": 0, "limit": 1}
        ).fetchall()
    assert "tasks_type_idempotency_key" in str(by_key)
    assert "tasks_queued" in str(claiming)


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        ("list_tasks", ["sqlite_autoindex_tasks_1"]),
        ("list_finished_by_status", ["tasks_finished_by_status"]),
        ("list_finished_by_type_and_status", ["tasks_finished_by_type"]),
        ("claim", ["tasks_queued"]),
        ("promote", ["tasks_waiting"]),
        ("next_due", ["tasks_queued_due"]),
        ("take_over", ["tasks_running"]),
        ("count_unfinished", ["tasks_queued_due", "tasks_running"]),
        ("queue_stats", ["tasks_queued_due", "tasks_running"]),
    ],
)
def test_each_query_reads_its_indexes_without_sorting(
    path: Path, query: str, indexes: list[str]
) -> None:
    """Pages of tasks read indexes in id order and stop at the limit; the queue's own
    queries keep their partial indexes beside the listing ones."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        migrate(connection)
        parameters = {"status": "done", "type": "echo", "limit": 1, "after": None}
        parameters |= {"owner": "o", "now": 0.0}
        statement = QUERIES[query]
        bound = parameters if ":" in statement else (0,) * statement.count("?")
        plan = str(connection.execute("EXPLAIN QUERY PLAN " + statement, bound).fetchall())
    for index in indexes:
        assert re.search(rf"INDEX {index}\b", plan)
    assert "TEMP B-TREE" not in plan and not re.search(r"SCAN tasks(?! USING)", plan)


@pytest.mark.parametrize(
    ("query", "indexes"),
    [
        ("list_queued", ["tasks_queued"]),
        ("list_running", ["tasks_running"]),
        ("list_by_type", ["tasks_finished_by_type", "tasks_queued", "tasks_running"]),
    ],
)
def test_unfinished_tasks_are_listed_from_the_queue_indexes(
    path: Path, query: str, indexes: list[str]
) -> None:
    """Queued and running tasks are read from the claim's own indexes, at most the queue,
    and sorted: no index of their own to write at each insert and end of a task."""
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        migrate(connection)
        parameters = {"type": "echo", "limit": 1, "after": None}
        plan = str(
            connection.execute("EXPLAIN QUERY PLAN " + QUERIES[query], parameters).fetchall()
        )
        names = {row[0] for row in connection.execute("SELECT name FROM sqlite_master")}
    for index in indexes:
        assert re.search(rf"INDEX {index}\b", plan)
    assert not re.search(r"SCAN tasks(?! USING)", plan)
    assert "tasks_unfinished_by_id" not in names


async def test_claimed_tasks_keep_their_fingerprint(path: Path) -> None:
    first = sqlite_store(path)
    await first.open()
    await first.add([Task(type="echo", payload=1, idempotency_key="k", fingerprint="f")])
    await first.close()
    second = sqlite_store(path)
    await second.open()
    try:
        assert [task.fingerprint for task in (await second.claim(10)).tasks] == ["f"]
    finally:
        await second.close()


async def test_a_failed_release_raises_and_counts_nothing(path: Path) -> None:
    store = sqlite_store(path)
    await store.open()
    try:
        await store.add([Task(type="echo", payload=n) for n in range(3)])
        claimed = (await store.claim(3)).tasks
        for task in claimed:  # cut off by the drain deadline: given back uncounted
            task.status, task.attempts, task.started_at = "queued", 0, None
        path.unlink()
        with pytest.raises(StoreError, match="deleted or replaced"):
            await store.release(claimed)
        assert store.fenced == 0
    finally:
        with pytest.raises(StoreError, match="deleted or replaced"):
            await store.close()


async def test_newer_schema_is_refused(path: Path) -> None:
    execute(path, "PRAGMA user_version = 99")
    store = sqlite_store(path)
    with pytest.raises(StoreError, match="schema version 99, newer than this service knows"):
        await store.open()


async def test_concurrent_adds_share_commits(path: Path) -> None:
    store = sqlite_store(path)
    await store.open()
    try:
        before = store.commits
        await asyncio.gather(*(store.add([Task(type="echo", payload=n)]) for n in range(200)))
        assert store.commits - before < 20
    finally:
        await store.close()


async def test_locked_database_is_a_store_error(path: Path) -> None:
    store = sqlite_store(path)
    await store.open()
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreError, match="database is locked"):
            await store.add([Task(type="echo", payload=1)])
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
        await store.close()
    assert os.path.exists(path)


async def test_state_changes_land_on_their_own_rows(path: Path) -> None:
    store = sqlite_store(path)
    await store.open()
    owner = store.owner
    keyed = marked_claimed(Task(type="echo", payload="k", idempotency_key="key"), owner)
    batch = [marked_claimed(Task(type="echo", payload=n), owner) for n in range(5)]
    await store.add([keyed])  # each row's number is learnt as it is stored
    await store.add(batch)
    now = time.time()
    keyed.status, keyed.run_at, keyed.error = "queued", now + 60, "retry"
    batch[1].status, batch[1].finished_at = "done", now
    batch[3].status, batch[3].finished_at = "failed", now
    for task in (keyed, batch[1], batch[3]):
        store.record(task)
    rest = [batch[0], batch[2], batch[4]]
    for task in rest:
        task.status, task.attempts, task.started_at = "queued", 0, None
    assert await store.release(rest) == 3
    await store.close()
    assert stored(path) == {
        keyed.id: ("queued", 1, None),
        batch[1].id: ("done", 1, None),
        batch[3].id: ("failed", 1, None),
        **{task.id: ("queued", 0, None) for task in rest},
    }


async def test_maintain_folds_the_wal_into_the_database(path: Path) -> None:
    store = sqlite_store(path)
    await store.open()
    try:
        await store.add([Task(type="echo", payload="x" * 100) for _ in range(5000)])
        before = path.stat().st_size
        await store.maintain()
        assert path.stat().st_size > before + 500_000
    finally:
        await store.close()


async def test_a_failing_operation_fails_alone_and_its_batch_is_written(path: Path) -> None:
    store = sqlite_store(path)
    await store.open()
    try:
        busy = store._submit(lambda connection: time.sleep(0.2))  # the next two share a batch
        added = asyncio.ensure_future(store.add([Task(type="echo", payload=1)]))
        await asyncio.sleep(0)
        broken = store._submit(lambda connection: 1 / 0)
        await busy
        with pytest.raises(StoreError, match="division by zero"):
            await asyncio.wait_for(broken, 5)
        assert [task.payload for task in await asyncio.wait_for(added, 5)] == [1]
        assert await store.add([Task(type="echo", payload=2)])  # and the store goes on
    finally:
        await store.close()


# Leases: a process that stopped renewing its lease starts nothing and writes nothing.
