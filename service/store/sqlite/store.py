"""The SQLite store: the queue's verbs, over a connector and a group commit.

Calls from the event loop queue up while a transaction is in flight and all go into the
next one: one commit, one fsync (WAL, `synchronous=FULL`) for everything that arrived
meanwhile. `add` resolves only after that commit, so a 202 means the task is on disk; so do
cancels and retries. A commit that carries only the service's own bookkeeping (claims, ends
of attempts, leases, take-overs) skips the fsync (`synchronous=NORMAL`): a crash of the
process keeps it, and the next synced commit or checkpoint puts it on disk. Only a power
loss can undo it, and then every process on the file is gone too, so the tasks it concerns
are run again, never twice at once.
Ends of attempts (`record`) keep the live task: its state is read once, when it is written.
While new tasks keep arriving, they wait up to RECORD_DELAY so that the commits that
acknowledge clients stay small; `get` answers from the live tasks until they are written,
and also while a failing database keeps them waiting (see `groupcommit`).

Processes sharing the file share the queue: each is an *owner* with a lease on the host's
clock; a claim is an UPDATE under the write lock, so no task is claimed twice. Owners on
this host whose process is gone are dropped at once by `take_over`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from ...errors import StoreError
from ...settings import Settings
from ...task import Status, Task, new_id
from ..base import TICK_MEMORY, Claimed, Lease, QueueStats
from ..groupcommit import GroupCommit
from . import claims, owners, reads, rows
from .connector import Connector, database_path, is_global
from .rows import QUERIES
from .ticks import ScheduleTicks
from .views import DashboardViews

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
    synced: bool = True
    """Whether the commit must reach the disk before the caller hears of it: every operation
    but the bookkeeping (claims, leases, take-overs, upkeep)."""


class SQLiteStore(ScheduleTicks, DashboardViews):
    durable = True

    def __init__(self, settings: Settings) -> None:
        self.path = database_path(settings.store)
        self.owner = new_id()
        self.fenced = 0
        """Ends of attempts the fence stopped: their claims had been taken over."""
        self._lease = settings.lease_timeout
        self._concurrency = settings.concurrency
        self._ttl = settings.result_ttl
        self._host = socket.gethostname()
        self._db = Connector(self.path)
        self._batcher: GroupCommit[Work] = GroupCommit(
            self._commit, is_global, str(self.path), RECORD_DELAY
        )

    def __repr__(self) -> str:
        return (
            f"SQLiteStore({str(self.path)!r}, owner={self.owner}, commits={self.commits}, "
            f"unwritten={self._batcher.retained}, fenced={self.fenced})"
        )

    @property
    def available(self) -> bool:
        return not self._batcher.failing

    @property
    def commits(self) -> int:
        return self._db.commits

    async def open(self) -> None:
        await self._db.open(self._register)

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

    def listen(self, wake: Callable[[], None]) -> None:
        return None  # other processes on the file are found by polling

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        stored: list[Task] = await self._batcher.call(Work(new=tasks), with_states=False)
        return stored

    async def get(self, task_id: str) -> Task | None:
        recorded = self._batcher.recorded(task_id)
        if recorded is not None:
            return recorded
        return await self._select("select_by_id", (task_id,))

    async def get_many(self, task_ids: Sequence[str]) -> list[Task]:
        select = partial(reads.select_many, task_ids=list(dict.fromkeys(task_ids)))
        return await self._batcher.read_latest(self._submit(select, with_states=False))

    async def list_tasks(
        self,
        *,
        status: Status | None = None,
        type: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[Task]:
        if limit <= 0:
            return []
        page = partial(reads.select_page, status=status, type=type, limit=limit, after=after)
        # With this process's recorded states: read_latest for those written meanwhile.
        return await self._batcher.read_latest(self._submit(page), status)

    async def retry(self, task_id: str) -> Task | None:
        retried: Task | None = await self._submit(partial(rows.retry, task_id=task_id))
        return retried

    async def stats(self) -> QueueStats:
        found: QueueStats = await self._submit(reads.queue_stats)
        return found

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        return await self._select("select_by_key", (type, idempotency_key))

    async def claim(
        self, limit: int, *, only: str | None = None, skip: frozenset[str] = frozenset()
    ) -> Claimed:
        claim = partial(
            claims.claim, owner=self.owner, limit=limit, lease=self._lease, only=only, skip=skip
        )
        claimed: Claimed = await self._submit(claim, synced=False)
        return claimed

    def record(self, task: Task) -> None:
        self._batcher.record(task)

    async def release(self, tasks: Sequence[Task]) -> int:
        ends = [end for end in map(rows.state, tasks) if end is not None]

        def release(connection: sqlite3.Connection) -> int:
            fenced = self._end_attempts(connection, ends)
            return len(ends) - len(fenced)

        released: int = await self._submit(release)
        return released

    async def flush(self) -> None:
        await self._submit(lambda connection: None)

    async def cancel(self, task_id: str) -> Task | None:
        def cancel(connection: sqlite3.Connection) -> Task | None:
            connection.execute(QUERIES["cancel"], (time.time(), task_id))
            row = connection.execute(QUERIES["select_by_id"], (task_id,)).fetchone()
            return None if row is None else rows.to_task(row)

        cancelled: Task | None = await self._submit(cancel, with_states=False)
        return cancelled

    async def heartbeat(self) -> Lease:
        def renew(connection: sqlite3.Connection) -> Lease:
            now = time.time()
            lapsed = not self._renew(connection, self.owner, now)
            if lapsed:
                self.owner = new_id()
                self._register(connection)
            peers = connection.execute(QUERIES["count_peers"], (self.owner, now)).fetchone()[0]
            return Lease(lapsed, peers)

        lease: Lease = await self._submit(renew, synced=False)
        return lease

    async def take_over(self) -> int:
        def take_over(connection: sqlite3.Connection) -> int:
            owners.forget_dead(connection, self._host, self.owner)
            return connection.execute(QUERIES["take_over"], (time.time(),)).rowcount

        taken: int = await self._submit(take_over, synced=False)
        return taken

    async def count_unfinished(self) -> int:
        query = QUERIES["count_unfinished"]
        counted: int = await self._submit(
            lambda connection: connection.execute(query).fetchone()[0], with_states=False
        )
        return counted

    async def maintain(self) -> None:
        def upkeep(connection: sqlite3.Connection) -> None:
            now = time.time()
            connection.execute(QUERIES["purge_finished"], (now - self._ttl,))
            connection.execute(QUERIES["forget_old_owners"], (now - OWNER_MEMORY,))
            connection.execute(QUERIES["forget_old_ticks"], (now - TICK_MEMORY,))

        await self._submit(upkeep, synced=False)
        await self._db.checkpoint()

    async def _select(self, query: str, parameters: tuple[str, ...]) -> Task | None:
        def select(connection: sqlite3.Connection) -> Task | None:
            row = connection.execute(QUERIES[query], parameters).fetchone()
            return None if row is None else rows.to_task(row)

        result: Task | None = await self._submit(select, with_states=False)
        return result

    def _submit(
        self, operation: Operation, *, with_states: bool = True, synced: bool = True
    ) -> asyncio.Future[Any]:
        work = Work(operation=operation, synced=synced)
        return self._batcher.call(work, with_states=with_states)

    async def _commit(self, works: Sequence[Work], tasks: Sequence[Task]) -> list[Any]:
        """One transaction: new tasks, ends of attempts, then the operations in order;
        synced if any part of it is to be acknowledged as on disk."""
        ends = []
        for task in tasks:  # read here, on the loop that changes them
            end = rows.state(task)
            if end is None:
                log.error("task %s: no claim to fence its state on; not written", task.id)
            else:
                ends.append(end)
        synced = any(work.synced for work in works)  # new tasks are always synced
        return await self._db.run(partial(self._write, works=works, ends=ends), synced=synced)

    def _write(
        self, connection: sqlite3.Connection, works: Sequence[Work], ends: list[rows.State]
    ) -> list[Any]:
        """Each work's result: the stored tasks of an add, the return value of an operation."""
        new = [task for work in works for task in work.new]
        if any(task.claim is not None for task in new):
            self._claim_new(connection, new)
        kept = rows.insert(connection, new) if new else {}
        if ends:
            self._end_attempts(connection, ends)
        return [
            work.operation(connection)
            if work.operation is not None
            else [kept.get(task.id, task) for task in work.new]
            for work in works
        ]

    def _claim_new(self, connection: sqlite3.Connection, new: list[Task]) -> None:
        """New tasks marked claimed are stored running only under a live lease."""
        claimants = {task.claim[0] for task in new if task.claim is not None}
        live = {owner for owner in claimants if self._renew(connection, owner, time.time())}
        for task in new:
            if task.claim is not None and task.claim[0] not in live:
                task.status, task.attempts, task.started_at, task.claim = "queued", 0, None, None

    def _end_attempts(self, connection: sqlite3.Connection, ends: list[rows.State]) -> list[str]:
        fenced = rows.end_attempts(connection, ends)
        self.fenced += len(fenced)
        for task_id in fenced:
            log.warning(
                "task %s: this attempt's end is discarded: the process no longer held the "
                "task (its lease had run out and another process took the task over)",
                task_id,
                extra={"action": "fenced", "task_id": task_id},
            )
        return fenced

    def _register(self, connection: sqlite3.Connection) -> None:
        owners.register(connection, self.owner, self._host, self._lease, self._concurrency)

    def _renew(self, connection: sqlite3.Connection, owner: str, now: float) -> bool:
        return owners.renew(connection, owner, now, self._lease)
