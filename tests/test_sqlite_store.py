"""What only a durable store promises: reopen, crash recovery, migrations, many owners."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from pathlib import Path

import pytest

from service import Settings, Task
from service.errors import StoreError
from service.store.sqlite import QUERIES, SQLiteStore, migrate


def sqlite_store(path: Path, **overrides: float) -> SQLiteStore:
    return SQLiteStore(Settings(store=f"sqlite:///{path}", **overrides))  # type: ignore[arg-type]


async def test_tasks_survive_a_reopen(tmp_path: Path) -> None:
    first = sqlite_store(tmp_path / "t.db")
    await first.open()
    task = Task(type="echo", payload={"keep": True})
    await first.add([task])
    await first.release([])
    await first.close()

    second = sqlite_store(tmp_path / "t.db")
    await second.open()
    try:
        claimed = await second.claim(10)
        assert [(t.id, t.payload, t.status) for t in claimed] == [
            (task.id, {"keep": True}, "queued")
        ]
    finally:
        await second.close()


async def test_tasks_of_a_dead_process_are_claimed_with_their_attempts(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    crashed = sqlite_store(path)
    await crashed.open()
    running, queued = Task(type="echo", payload=1), Task(type="echo", payload=2, priority=9)
    await crashed.add([running, queued])
    running.status, running.attempts = "running", 1
    crashed.record(running)
    found = await crashed.get(running.id)
    assert found is not None and (found.status, found.attempts) == ("running", 1)
    await crashed.flush()
    # The process dies: no close, no release. Its owner row says it lives on this host
    # with a pid that no longer exists.
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE owners SET pid = 2147483646")
    assert crashed._db._executor is not None
    crashed._db._executor.shutdown()

    successor = sqlite_store(path)
    await successor.open()
    try:
        claimed = await successor.claim(10)
        assert [task.id for task in claimed] == [queued.id, running.id]
        assert [(task.status, task.attempts) for task in claimed] == [("queued", 0), ("queued", 1)]
        assert await successor.claim(10) == []
    finally:
        await successor.close()


async def test_a_live_owner_keeps_its_tasks_until_its_lease_runs_out(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    holder, other = sqlite_store(path, lease_timeout=1), sqlite_store(path, lease_timeout=1)
    await holder.open()
    await other.open()
    try:
        task = Task(type="echo", payload=1)
        await holder.add([task])
        assert await other.claim(10) == []
        with sqlite3.connect(path) as connection:
            connection.execute("UPDATE owners SET expires_at = 0 WHERE id = ?", (holder.owner,))
        assert [t.id for t in await other.claim(10)] == [task.id]
        assert await other.claim(10) == []
    finally:
        await holder.close()
        await other.close()


async def test_claims_are_exclusive_between_owners(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    seeder = sqlite_store(path)
    await seeder.open()
    tasks = [Task(type="echo", payload=n) for n in range(200)]
    await seeder.add(tasks)
    await seeder.release([])
    await seeder.close()

    owners = [sqlite_store(path) for _ in range(3)]
    for owner in owners:
        await owner.open()
    try:
        batches = await asyncio.gather(*(owner.claim(30) for owner in owners for _ in range(3)))
        claimed = [task.id for batch in batches for task in batch]
        assert len(claimed) == len(set(claimed)) == 200  # 9 claims of 30: all, once each
    finally:
        for owner in owners:
            await owner.close()


@pytest.mark.parametrize("version", [1, 2])
async def test_older_schema_is_migrated_and_keeps_its_tasks(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path, isolation_level=None) as connection:
        assert migrate(connection, target=version) == version
        connection.executemany(
            "INSERT INTO tasks (id, type, payload, created_at, idempotency_key) "
            "VALUES (?, 'echo', ?, ?, ?)",
            [("old", "7", time.time(), None), ("keyed", "8", time.time(), "k")],
        )
    connection.close()
    store = sqlite_store(path)
    await store.open()
    try:
        claimed = await store.claim(10)
        assert [(task.id, task.payload) for task in claimed] == [("old", 7), ("keyed", 8)]
        found = await store.find("echo", "k")
        assert found is not None and (found.id, found.fingerprint) == ("keyed", None)
        [same] = await store.add([Task(type="echo", payload=9, idempotency_key="k")])
        other = Task(type="sleep", payload=9, idempotency_key="k")
        assert (same.id, await store.add([other])) == ("keyed", [other])
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 3
        plan = connection.execute(
            "EXPLAIN QUERY PLAN " + QUERIES["select_by_key"], ("echo", "k")
        ).fetchall()
    connection.close()
    assert "tasks_type_idempotency_key" in str(plan)


async def test_claimed_tasks_keep_their_fingerprint(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    first = sqlite_store(path)
    await first.open()
    await first.add([Task(type="echo", payload=1, idempotency_key="k", fingerprint="f")])
    assert await first.release([]) == 1
    await first.close()
    second = sqlite_store(path)
    await second.open()
    try:
        assert [task.fingerprint for task in await second.claim(10)] == ["f"]
    finally:
        await second.close()


async def test_a_failed_release_raises_and_counts_nothing(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = sqlite_store(path)
    await store.open()
    try:
        tasks = [Task(type="echo", payload=n) for n in range(3)]
        await store.add(tasks)
        path.unlink()
        with pytest.raises(StoreError, match="deleted or replaced"):
            await store.release(tasks)
    finally:
        with pytest.raises(StoreError, match="could not write the state of 3 tasks"):
            await store.close()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA user_version = 99")
    store = sqlite_store(path)
    with pytest.raises(StoreError, match="schema version 99, newer than this service knows"):
        await store.open()


async def test_durability_settings(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path / "t.db")
    await store.open()
    try:
        assert store._db._connection is not None
        assert store._db._connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store._db._connection.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        await store.close()


async def test_concurrent_adds_share_commits(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path / "t.db")
    await store.open()
    try:
        before = store.commits
        await asyncio.gather(*(store.add([Task(type="echo", payload=n)]) for n in range(200)))
        assert store.commits - before < 20
    finally:
        await store.close()


async def test_locked_database_is_a_store_error(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
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


async def test_state_changes_land_on_their_own_rows(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = sqlite_store(path)
    await store.open()
    keyed = Task(type="echo", payload="k", idempotency_key="key")
    batch = [Task(type="echo", payload=n) for n in range(5)]
    await store.add([keyed])
    await store.add(batch)
    for task, status in ((batch[1], "done"), (batch[3], "failed"), (keyed, "cancelled")):
        task.status, task.finished_at = status, time.time()  # type: ignore[assignment]
        store.record(task)
    await store.release([])
    await store.close()
    with sqlite3.connect(path) as connection:
        rows = dict(connection.execute("SELECT id, status FROM tasks").fetchall())
    assert rows == {
        keyed.id: "cancelled",
        **{task.id: "queued" for task in batch},
        batch[1].id: "done",
        batch[3].id: "failed",
    }


async def test_maintain_folds_the_wal_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = sqlite_store(path)
    await store.open()
    try:
        await store.add([Task(type="echo", payload="x" * 100) for _ in range(5000)])
        before = path.stat().st_size
        await store.maintain()
        assert path.stat().st_size > before + 500_000
    finally:
        await store.close()


async def test_a_failing_operation_fails_alone_and_its_batch_is_written(tmp_path: Path) -> None:
    store = sqlite_store(tmp_path / "t.db")
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
