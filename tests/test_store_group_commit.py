"""Group commit: a failed transaction loses nothing it was given, and fails only its culprit."""

from __future__ import annotations

import asyncio
import copy
import logging
import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from service import Settings, Task
from service.errors import StoreError
from service.store.groupcommit import GroupCommit
from service.store.sqlite import SQLiteStore


class Disk:
    """A fake database for the batcher: works are strings, a state is written by task id."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.broken: OSError | None = None
        self.attempts = 0
        self.gate = asyncio.Event()
        self.gate.set()

    async def commit(self, works: Sequence[str], states: Sequence[Task]) -> list[str]:
        self.attempts += 1
        await self.gate.wait()
        if self.broken is not None:
            raise self.broken
        if "bad" in works or any(task.result == "unwritable" for task in states):
            raise ValueError("cannot bind this row")
        self.rows.update({task.id: task.status for task in states})
        return [f"did {work}" for work in works]


def batcher(disk: Disk) -> GroupCommit[str]:
    return GroupCommit(disk.commit, lambda e: isinstance(e, OSError), "disk", record_delay=0.05)


def finished(result: object = None) -> Task:
    return Task(type="echo", payload=None, status="done", result=result)


async def eventually(condition: Callable[[], bool], timeout: float = 5) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


async def test_a_global_failure_fails_the_callers_and_keeps_the_states() -> None:
    disk = Disk()
    commits = batcher(disk)
    disk.broken = OSError("database or disk is full")
    task = finished()
    commits.record(task)
    with pytest.raises(StoreError, match="disk: database or disk is full"):
        await commits.call("add")
    assert commits.recorded(task.id) is task  # still answered from the live task
    disk.broken = None
    await eventually(lambda: disk.rows == {task.id: "done"})
    assert commits.recorded(task.id) is None and commits.retained == 0
    await commits.close(retry_for=1)


async def test_retries_back_off_while_nothing_succeeds_and_a_caller_cuts_the_wait() -> None:
    disk = Disk()
    commits = batcher(disk)
    disk.broken = OSError("disk I/O error")
    commits.record(finished())
    await asyncio.sleep(1.0)
    assert 3 <= disk.attempts <= 8  # 0.05, 0.1, 0.2, 0.4, 0.8 s: no hot loop
    disk.broken = None
    began = time.monotonic()
    assert await commits.call("add") == "did add"
    assert time.monotonic() - began < 0.5 and disk.rows and commits.retained == 0
    await commits.close(retry_for=1)


async def test_one_callers_bad_part_fails_that_caller_alone() -> None:
    disk = Disk()
    commits = batcher(disk)
    disk.gate.clear()
    first = commits.call("first")  # in flight while the others gather into one batch
    await asyncio.sleep(0)
    tasks = [finished() for _ in range(3)]
    for task in tasks:
        commits.record(task)
    calls = [commits.call(work) for work in ("a", "bad", "b", "c")]
    disk.gate.set()
    assert await first == "did first"
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert results[0] == "did a" and results[2:] == ["did b", "did c"]
    assert isinstance(results[1], StoreError) and "cannot bind this row" in str(results[1])
    assert disk.rows == {task.id: "done" for task in tasks}
    await commits.close(retry_for=1)


async def test_a_state_that_fails_alone_is_logged_and_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    disk = Disk()
    commits = batcher(disk)
    good, bad, other = finished(), finished("unwritable"), finished()
    for task in (good, bad, other):
        commits.record(task)
    await commits.call("flush")
    assert disk.rows == {good.id: "done", other.id: "done"}
    assert commits.retained == 0
    assert [r.task_id for r in caplog.records if hasattr(r, "task_id")] == [bad.id]
    assert "cannot be written, even alone, and is dropped" in caplog.text
    await commits.close(retry_for=1)


async def test_close_retries_for_a_while_then_says_what_is_not_written(
    caplog: pytest.LogCaptureFixture,
) -> None:
    disk = Disk()
    commits = batcher(disk)
    disk.broken = OSError("disk I/O error")
    commits.record(finished())
    commits.record(finished())
    began = time.monotonic()
    with pytest.raises(StoreError, match="disk: could not write the state of 2 tasks"):
        await commits.close(retry_for=0.5)
    assert 0.5 <= time.monotonic() - began < 2
    assert (
        "(disk: disk I/O error); they stay unfinished there and will run again on the next start"
        in caplog.text
    )
    with pytest.raises(StoreError, match="closed"):
        await commits.call("late")


async def test_close_writes_what_the_database_takes_back_in_time() -> None:
    disk = Disk()
    commits = batcher(disk)
    disk.broken = OSError("database is locked")
    task = finished()
    commits.record(task)
    await asyncio.sleep(0.1)
    asyncio.get_running_loop().call_later(0.3, setattr, disk, "broken", None)
    await commits.close(retry_for=3)
    assert disk.rows == {task.id: "done"}


# The same on the SQLite store.


def sqlite_store(path: Path) -> SQLiteStore:
    return SQLiteStore(Settings(store=f"sqlite:///{path}"))


async def test_a_read_beside_the_writes_shows_a_state_committed_while_it_ran() -> None:
    disk = Disk()
    commits = batcher(disk)
    disk.gate.clear()
    task = finished(7)
    commits.record(task)  # its commit starts and waits at the gate
    rows: asyncio.Future[list[Task]] = asyncio.get_running_loop().create_future()
    reading = asyncio.create_task(commits.read_latest(rows))
    await asyncio.sleep(0)  # the read is under way
    disk.gate.set()
    await eventually(lambda: disk.rows.get(task.id) == "done" and not commits.pending)
    stale = copy.copy(task)
    stale.status, stale.result = "running", None  # what a read begun before the commit saw
    rows.set_result([stale])
    assert [(found.status, found.result) for found in await reading] == [("done", 7)]


async def test_sqlite_one_callers_bad_row_fails_that_caller_alone(tmp_path: Path) -> None:
    path = tmp_path / "t.db"
    store = sqlite_store(path)
    await store.open()
    try:
        taken = Task(type="echo", payload=0)
        await store.add([taken])
        busy = store._submit(lambda connection: time.sleep(0.2))  # the adds below share a batch
        await asyncio.sleep(0)
        first = asyncio.ensure_future(store.add([Task(type="echo", payload=1)]))
        duplicate = asyncio.ensure_future(store.add([Task(type="echo", payload=2, id=taken.id)]))
        last = asyncio.ensure_future(store.add([Task(type="echo", payload=3)]))
        await busy
        with pytest.raises(StoreError, match="UNIQUE constraint failed: tasks.id"):
            await asyncio.wait_for(duplicate, 5)
        stored = await asyncio.wait_for(asyncio.gather(first, last), 5)
        assert [tasks[0].payload for tasks in stored] == [1, 3]
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        payloads = connection.execute("SELECT payload FROM tasks ORDER BY seq").fetchall()
    assert [row[0] for row in payloads] == [b"0", b"1", b"3"]


async def test_sqlite_a_state_that_cannot_be_written_does_not_take_the_others_down(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "service.store")
    path = tmp_path / "t.db"
    store = sqlite_store(path)
    await store.open()
    await store.add([Task(type="echo", payload=n) for n in range(4)])
    tasks = (await store.claim(4)).tasks
    for task in tasks:
        task.status, task.finished_at, task.result = "done", time.time(), {"n": task.payload}
    tasks[2].result = object()  # cannot be encoded: it would fail forever
    for task in tasks:
        store.record(task)
    try:
        await asyncio.wait_for(store.flush(), 5)
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        rows = dict(connection.execute("SELECT id, status FROM tasks").fetchall())
    assert rows == {task.id: "running" if task is tasks[2] else "done" for task in tasks}
    assert f"task {tasks[2].id}: its state cannot be written" in caplog.text


async def test_sqlite_a_fenced_state_is_counted_not_retried_and_its_batch_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "t.db"
    store = sqlite_store(path)
    await store.open()
    await store.add([Task(type="echo", payload=n) for n in range(4)])
    tasks = (await store.claim(4)).tasks
    tasks[1].claim = ("a-process-that-lost-it", 1)
    for task in tasks:
        task.status, task.finished_at = "done", time.time()
        store.record(task)
    try:
        await asyncio.wait_for(store.flush(), 5)
        assert (store.fenced, store._batcher.retained) == (1, 0)
    finally:
        await store.close()
    with sqlite3.connect(path) as connection:
        rows = dict(connection.execute("SELECT id, status FROM tasks").fetchall())
    assert rows == {task.id: "running" if task is tasks[1] else "done" for task in tasks}
