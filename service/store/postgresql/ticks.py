"""The ticks of schedules in the database: read the latest, store new ones with their tasks.

A tick and its task are written in one transaction of the group commit. Instances that
store the same tick at once meet on the primary key: the first stores it, the others wait
for its COMMIT and skip it (`ON CONFLICT DO NOTHING`), and so skip its task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ...task import Task
from ..base import Tick, Ticks
from .connection import Connection, Connector
from .rows import QUERIES
from .writes import Batch, Operation, insert


class ScheduleTicks:
    """The store's verbs for ticks; mixed into PostgreSQLStore."""

    _db: Connector

    def _submit(self, operation: Operation) -> asyncio.Future[Any]:
        raise NotImplementedError

    async def last_ticks(self, schedules: Sequence[str]) -> Ticks:
        """The server's clock, and each schedule's latest tick."""
        names = list(schedules)

        async def read(connection: Connection) -> Ticks:
            now: float = await connection.fetchval(QUERIES["now"])
            found = await connection.fetch(QUERIES["last_ticks"], names)
            last = [Tick(row["schedule"], row["due"], row["task_id"]) for row in found]
            return Ticks(now, {tick.schedule: tick for tick in last})

        ticks: Ticks = await self._db.pooled(read)
        return ticks

    async def add_ticks(self, ticks: Sequence[tuple[Tick, Task]]) -> list[Task]:
        columns = [
            [tick.schedule for tick, _ in ticks],
            [tick.due for tick, _ in ticks],
            [tick.task_id for tick, _ in ticks],
        ]

        async def add(connection: Connection, batch: Batch) -> list[Task]:
            inserted = await connection.fetch(QUERIES["insert_ticks"], *columns)
            stored = {row["task_id"] for row in inserted}
            new = [task for _, task in ticks if task.id in stored]
            if new:
                await insert(connection, new, batch)
            return new

        added: list[Task] = await self._submit(add)
        return added
