"""The SQLite store: the queue's verbs, over a connector and a group commit.

Calls from the event loop queue up while a transaction is in flight and all go into the
next one: one commit, one fsync (WAL, `synchronous=FULL`) for everything that arrived
meanwhile. `add` resolves only after that commit, so a 202 means the task is on disk.
State changes (`record`) keep the live task: its state is read once, when it is written,
so a task that started and finished meanwhile costs one row update. While new tasks keep
arriving, state changes wait up to RECORD_DELAY so that the commits that acknowledge
clients stay small; `get` answers from the live tasks until they are written, and also
while a failing database keeps them waiting (see `groupcommit`).

Each process is an *owner* with a lease it renews from `maintain()`. A task belongs to the
process that accepted or claimed it; tasks whose owner's lease ran out (or whose owner is a
dead process on this host) are claimed by the others, or by the next start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ...errors import StoreError
from ...settings import Settings
from ...task import Task, new_id
from ..groupcommit import GroupCommit
from . import rows
from .connector import Connector, database_path, is_global
from .rows import QUERIES

log = logging.getLogger("service.store")

Operation = Callable[[sqlite3.Connection], Any]

OWNER_MEMORY = 3600.0
RECORD_DELAY = 0.05
CLOSE_RETRY = 3.0
"""Seconds `close` keeps retrying task states that a failing database would not take."""


@dataclass(frozen=True, slots=True)
class Work:
    """One caller's part of a transaction: new tasks to store, or an operation to run."""

    new: Sequence[Task] = ()
    operation: Operation | None = None


class SQLiteStore:
    durable = True

    def __init__(self, settings: Settings) -> None:
        self.path = database_path(settings.store)
        self.owner = new_id()
        self._lease = settings.lease_timeout
        self._ttl = settings.result_ttl
        self._host = socket.gethostname()
        self._db = Connector(self.path)
        self._batcher: GroupCommit[Work] = GroupCommit(
            self._commit, is_global, str(self.path), RECORD_DELAY
        )

    def __repr__(self) -> str:
        return (
            f"SQLiteStore({str(self.path)!r}, owner={self.owner}, commits={self.commits}, "
            f"unwritten={self._batcher.retained})"
        )

    @property
    def commits(self) -> int:
        return self._db.commits

    async def open(self) -> None:
        await self._db.open(self._start)

    async def close(self) -> None:
        """Write what is pending, sign off, disconnect; raise StoreError if a write failed.

        Unwritten task states are the error to tell: a failed sign-off then only follows.
        """
        unwritten: StoreError | None = None
        try:
            await self._batcher.close(0.0 if self._db.broken else CLOSE_RETRY)
        except StoreError as error:
            unwritten = error
        try:
            await self._db.close(lambda c: c.execute(QUERIES["drop_owner"], (self.owner,)))
        except StoreError:
            if unwritten is None:
                raise
        if unwritten is not None:
            raise unwritten

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        stored: list[Task] = await self._batcher.call(Work(new=tasks), with_states=False)
        return stored

    async def get(self, task_id: str) -> Task | None:
        recorded = self._batcher.recorded(task_id)
        if recorded is not None:
            return recorded

        def select(connection: sqlite3.Connection) -> Task | None:
            row = connection.execute(QUERIES["select_by_id"], (task_id,)).fetchone()
            return None if row is None else rows.to_task(row)

        result: Task | None = await self._submit(select, with_states=False)
        return result

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        def select(connection: sqlite3.Connection) -> Task | None:
            row = connection.execute(QUERIES["select_by_key"], (type, idempotency_key)).fetchone()
            return None if row is None else rows.to_task(row)

        result: Task | None = await self._submit(select, with_states=False)
        return result

    def record(self, task: Task) -> None:
        self._batcher.record(task)

    async def flush(self) -> None:
        await self._submit(lambda connection: None)

    async def claim(self, limit: int) -> list[Task]:
        if limit <= 0:
            return []
        parameters = {"owner": self.owner, "now": time.time(), "limit": limit}

        def claim(connection: sqlite3.Connection) -> list[Task]:
            found = connection.execute(QUERIES["claim"], parameters).fetchall()
            found.sort(key=lambda row: (-row["priority"], row["seq"]))
            return [rows.to_task(row) for row in found]

        claimed: list[Task] = await self._submit(claim)
        if claimed:
            log.info("claimed %d unfinished tasks", len(claimed), extra={"action": "claim"})
        return claimed

    async def release(self, tasks: Sequence[Task]) -> int:
        for task in tasks:
            self.record(task)
        owner = self.owner

        def release(connection: sqlite3.Connection) -> int:
            return connection.execute(QUERIES["release"], (owner,)).rowcount

        released: int = await self._submit(release)
        return released

    async def maintain(self) -> None:
        now = time.time()

        def upkeep(connection: sqlite3.Connection) -> None:
            self._renew(connection)
            connection.execute(QUERIES["purge_finished"], (now - self._ttl,))
            connection.execute(QUERIES["forget_old_owners"], (now - OWNER_MEMORY,))

        await self._submit(upkeep)
        await self._db.checkpoint()

    def _submit(self, operation: Operation, *, with_states: bool = True) -> asyncio.Future[Any]:
        return self._batcher.call(Work(operation=operation), with_states=with_states)

    async def _commit(self, works: Sequence[Work], tasks: Sequence[Task]) -> list[Any]:
        """One transaction: new tasks, recorded states, then the operations in order."""
        states = [rows.state(task) for task in tasks]  # read here, on the loop that changes them
        body = partial(_write, works=works, states=states, owner=self.owner)
        return await self._db.run(body)

    def _start(self, connection: sqlite3.Connection) -> None:
        self._forget_dead_owners(connection)
        self._renew(connection)

    def _renew(self, connection: sqlite3.Connection) -> None:
        lease = (self.owner, self._host, os.getpid(), time.time() + self._lease)
        connection.execute(QUERIES["renew_lease"], lease)

    def _forget_dead_owners(self, connection: sqlite3.Connection) -> None:
        """Owners on this host whose process is gone hold nothing: free their tasks now."""
        found = connection.execute(QUERIES["select_owners_on_host"], (self._host, self.owner))
        for owner, pid in found.fetchall():
            if not _process_alive(pid):
                connection.execute(QUERIES["drop_owner"], (owner,))


def _write(
    connection: sqlite3.Connection,
    works: Sequence[Work],
    states: list[rows.State],
    owner: str,
) -> list[Any]:
    """Each work's result: the stored tasks of an add, the return value of an operation."""
    new = [task for work in works for task in work.new]
    kept = rows.insert(connection, new, owner) if new else {}
    if states:
        rows.update(connection, states)
    return [
        work.operation(connection)
        if work.operation is not None
        else [kept.get(task.id, task) for task in work.new]
        for work in works
    ]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
