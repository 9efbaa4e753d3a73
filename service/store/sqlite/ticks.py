"""The ticks of schedules in the SQLite file: read the latest, store new ones with their tasks.

A tick and its task are written in one transaction, under SQLite's write lock: of the
processes that share the file, the first stores the tick and the others skip it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

from ...task import Task
from ..base import Tick, Ticks
from . import rows
from .rows import QUERIES


class ScheduleTicks:
    """The store's verbs for ticks; mixed into SQLiteStore."""

    def _submit(
        self, operation: Callable[[sqlite3.Connection], Any], *, with_states: bool = True
    ) -> asyncio.Future[Any]:
        raise NotImplementedError

    async def last_ticks(self, schedules: Sequence[str]) -> Ticks:
        found: Ticks = await self._submit(partial(last, schedules=schedules), with_states=False)
        return found

    async def add_ticks(self, ticks: Sequence[tuple[Tick, Task]]) -> list[Task]:
        stored: list[Task] = await self._submit(partial(add, ticks=ticks), with_states=False)
        return stored


def last(connection: sqlite3.Connection, schedules: Sequence[str]) -> Ticks:
    """The host's clock (the file has none of its own) and each schedule's latest tick."""
    found = {}
    for name in schedules:
        row = connection.execute(QUERIES["last_tick"], (name,)).fetchone()
        if row is not None:
            found[name] = Tick(name, row["due_at"], row["task_id"])
    return Ticks(time.time(), found)


def add(connection: sqlite3.Connection, ticks: Sequence[tuple[Tick, Task]]) -> list[Task]:
    new = []
    for tick, task in ticks:
        parameters = (tick.schedule, tick.due, tick.task_id)
        if connection.execute(QUERIES["insert_tick"], parameters).rowcount == 1:
            new.append(task)
    if new:
        rows.insert(connection, new)
    return new
