"""The PostgreSQL store: the queue's verbs, over a connector and a group commit.

Writes share transactions (`writes`): `add` resolves once its COMMIT is done, so a 202
means the task is stored; recorded states wait for the next commit, fenced on their claim.
Claims go through the same group commit, so that they share transactions with states.
Reads, the lease's renewal and the upkeep run on pooled connections beside it.

Every time that decides something (a due time, a lease) is the server's `now()`: the
processes sharing the database need not agree on the time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Callable, Sequence
from contextlib import suppress
from functools import partial
from typing import Any

from ...errors import StoreError
from ...settings import Settings
from ...task import Status, Task, new_id
from ..base import Claimed, Lease, QueueStats
from ..groupcommit import GroupCommit
from ..views import Count, Failed, Instance, Minute
from . import reads, rows, views
from .connection import Connection, Connector, is_global
from .listener import Listener
from .rows import QUERIES
from .schema import migrate
from .ticks import ScheduleTicks
from .upkeep import upkeep
from .writes import Batch, Operation, Work, states_to_write, write

log = logging.getLogger("service.store")

RECORD_DELAY = 0.05
CLOSE_RETRY = 3.0
"""Seconds `close` keeps retrying task states that a failing database would not take."""


class PostgreSQLStore(ScheduleTicks):
    durable = True

    def __init__(self, settings: Settings) -> None:
        self.owner = new_id()
        self.fenced = 0
        """Recorded states that the fence stopped: attempts whose claim was lost."""
        self._lease = settings.lease_timeout
        self._concurrency = settings.concurrency
        self._ttl = settings.result_ttl
        self._listen = settings.listen
        self._host = socket.gethostname()
        self._db = Connector(settings.store, session_state=settings.listen)
        self._batcher: GroupCommit[Work] = GroupCommit(
            self._commit, is_global, self._db.name, RECORD_DELAY
        )
        self._listener: Listener | None = None
        self._opened = False

    def __repr__(self) -> str:
        return (
            f"PostgreSQLStore({self._db.name!r}, owner={self.owner}, commits={self.commits}, "
            f"unwritten={self._batcher.retained}, fenced={self.fenced})"
        )

    @property
    def commits(self) -> int:
        return self._db.commits

    @property
    def available(self) -> bool:
        """False while writes fail because the database cannot be reached or write."""
        return not self._batcher.failing

    @property
    def listener(self) -> Listener | None:
        return self._listener

    async def open(self) -> None:
        await self._db.open(self._start)
        self._opened = True

    async def close(self) -> None:
        """Write what is pending, sign off, disconnect; raise StoreError if a write failed."""
        if self._listener is not None:
            await self._listener.close()
            self._listener = None
        try:
            await self._batcher.close(CLOSE_RETRY)
        finally:
            await self._sign_off()

    def listen(self, wake: Callable[[], None]) -> None:
        if self._listen and self._listener is None:
            self._listener = Listener(self._db, wake)
            self._listener.start()

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        stored: list[Task] = await self._batcher.call(Work(new=tasks), with_states=False)
        return stored

    async def get(self, task_id: str) -> Task | None:
        recorded = self._batcher.recorded(task_id)
        if recorded is not None:
            return recorded
        found = await self._read("select_by_id", task_id)
        return found[0] if found else None

    async def get_many(self, task_ids: Sequence[str]) -> list[Task]:
        return await self._read("select_by_ids", list(dict.fromkeys(task_ids)))

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
        await self._written()
        page = partial(reads.select_page, status=status, type=type, limit=limit, after=after)
        return await self._batcher.read_latest(self._db.pooled(page), status)

    async def retry(self, task_id: str) -> Task | None:
        async def retry(connection: Connection, batch: Batch) -> Any:
            row = await connection.fetchrow(QUERIES["retry"], task_id)
            batch.due = batch.due or row is not None  # others hear of it at COMMIT
            return row

        row = await self._submit(retry)
        return await self.get(task_id) if row is None else rows.to_task(row)

    async def stats(self) -> QueueStats:
        await self._written()
        found: QueueStats = await self._db.pooled(reads.queue_stats)
        return found

    async def count_tasks(self) -> list[Count]:
        return await self._db.pooled(views.count_tasks)

    async def throughput(self, minutes: int) -> list[Minute]:
        return await self._db.pooled(partial(views.throughput, minutes=minutes))

    async def instances(self) -> list[Instance]:
        return await self._db.pooled(views.instances)

    async def count_failed(self, *, type: str | None = None, prefix: str = "") -> Failed:
        await self._written()
        return await self._db.pooled(partial(views.count_failed, type=type, prefix=prefix))

    async def retry_failed(self, *, type: str | None, prefix: str, upto: str) -> int:
        retry = partial(views.retry_failed, type=type, prefix=prefix, upto=upto)
        retried: int = await self._submit(retry)
        return retried

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        found = await self._read("select_by_key", type, idempotency_key)
        return found[0] if found else None

    async def claim(
        self, limit: int, *, only: str | None = None, skip: frozenset[str] = frozenset()
    ) -> Claimed:
        if limit <= 0:
            return Claimed()
        query, arguments = QUERIES["claim"], [self.owner, self._lease, limit]
        if only is not None or skip:
            query, arguments = QUERIES["claim_some"], [*arguments, only, sorted(skip)]

        async def claim(connection: Connection, batch: Batch) -> tuple[list[Any], float | None]:
            await connection.execute(QUERIES["promote"])
            found = await connection.fetch(query, *arguments)
            full = len(found) == limit  # the dispatcher claims again, whatever is due
            return found, None if full else await connection.fetchval(QUERIES["next_due"])

        found, next_due = await self._submit(claim)
        tasks = sorted(map(rows.to_task, found), key=lambda task: (-task.priority, task.seq))
        return Claimed(tasks, None if next_due is None else max(next_due, 0.0))

    def record(self, task: Task) -> None:
        if task.claim is None:
            log.error(
                "task %s: a state without a claim to fence it on is not written",
                task.id,
                extra={"action": "store", "task_id": task.id},
            )
            return
        self._batcher.record(task)

    async def release(self, tasks: Sequence[Task]) -> int:
        held = [task for task in tasks if task.claim is not None]
        for task in held:
            self._batcher.record(task)  # kept and retried, should this commit fail
        released: int = await self._batcher.call(Work(released=held))
        return released

    async def flush(self) -> None:
        await self._batcher.call(Work())

    async def cancel(self, task_id: str) -> Task | None:
        async def cancel(connection: Connection, batch: Batch) -> Any:
            return await connection.fetchrow(QUERIES["cancel"], task_id)

        row = await self._submit(cancel)
        return await self.get(task_id) if row is None else rows.to_task(row)

    async def heartbeat(self) -> Lease:
        owner = self.owner

        async def renew(connection: Connection) -> tuple[str | None, int]:
            async with connection.transaction():
                if await connection.fetchval(QUERIES["renew_lease"], owner, self._lease):
                    return None, await connection.fetchval(QUERIES["count_peers"], owner)
                fresh = new_id()
                await self._add_owner(connection, fresh)
                return fresh, await connection.fetchval(QUERIES["count_peers"], fresh)

        fresh, peers = await self._db.pooled(renew)
        if fresh is None:
            return Lease(peers=peers)
        self.owner = fresh
        return Lease(lapsed=True, peers=peers)

    async def take_over(self) -> int:
        async def take_over(connection: Connection, batch: Batch) -> int:
            taken = await connection.fetch(QUERIES["take_over"])
            batch.due = batch.due or bool(taken)
            return len(taken)

        count: int = await self._submit(take_over)
        return count

    async def count_unfinished(self) -> int:
        count: int = await self._db.pooled(lambda c: c.fetchval(QUERIES["count_unfinished"]))
        return count

    async def maintain(self) -> None:
        await self._db.pooled(partial(upkeep, ttl=self._ttl))

    async def _written(self) -> None:
        """Commit this process's recorded states before a read that filters or counts by
        status; should that fail, the read shows what is stored."""
        if self._batcher.pending:
            with suppress(StoreError):
                await self.flush()

    def _submit(self, operation: Operation) -> asyncio.Future[Any]:
        return self._batcher.call(Work(operation=operation))

    async def _read(self, query: str, *arguments: Any) -> list[Task]:
        """The tasks a named query finds, read beside the writes: the live ones while their
        latest state is not yet written (see `GroupCommit.read_latest`)."""
        select = partial(reads.select, query=query, arguments=arguments)
        return await self._batcher.read_latest(self._db.pooled(select))

    async def _start(self, connection: Connection) -> None:
        await migrate(connection)
        await self._add_owner(connection, self.owner)

    async def _add_owner(self, connection: Connection, owner: str) -> None:
        add = QUERIES["add_owner"]
        await connection.execute(
            add, owner, self._host, os.getpid(), self._lease, self._concurrency
        )

    async def _commit(self, works: Sequence[Work], tasks: Sequence[Task]) -> list[Any]:
        states = states_to_write(works, tasks)  # read here, on the loop that changes them
        batch = Batch(self._lease)
        results = await self._db.run(lambda c: write(c, works, states, batch))
        self.fenced += batch.report()
        return results

    async def _sign_off(self) -> None:
        """Give up the lease, so that others take over at once; then disconnect."""
        if not self._opened:
            await self._db.close()
            return
        self._opened = False
        owner = self.owner

        async def drop(connection: Connection) -> None:
            await connection.execute(QUERIES["drop_owner"], owner)

        try:
            await self._db.run(drop)
        except Exception as error:
            log.warning(
                "could not give up the lease (%s); others take over once it runs out",
                error,
                extra={"action": "store"},
            )
        finally:
            await self._db.close()
