"""The scheduler: looks at the store's clock, and stores each tick that fell due with its task.

Every process runs one; none leads. Each look reads the store's time and each schedule's
latest tick, works out the ticks to run (`ticks.to_run`), and stores them with their tasks
in one transaction: a tick that another process stored first is skipped, with its task.
It then sleeps until the next tick is due, or `interval` at most.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from ..errors import StoreError
from ..handlers import Registry
from ..settings import Settings
from ..store import Store
from ..store.base import Tick, Ticks
from ..task import Task, iso
from .declare import Schedule, load
from .ticks import to_run

log = logging.getLogger("service.schedules")

MIN_SLEEP = 0.001


@dataclass(frozen=True, slots=True)
class Standing:
    """A schedule as `GET /schedules` shows it."""

    schedule: Schedule
    next_tick: float
    last: Tick | None

    def to_json(self, tasks: Mapping[str, Task]) -> dict[str, Any]:
        """The schedule's JSON; `tasks` holds the latest tick's task, unless forgotten."""
        declared, last = self.schedule.declared, self.last
        task = None if last is None else tasks.get(last.task_id)
        return {
            "name": declared.name,
            "type": declared.type,
            "every": None if declared.every is None else float(declared.every),
            "cron": declared.cron,
            "timezone": declared.timezone,
            "catch_up": declared.catch_up,
            "next_tick": iso(self.next_tick),
            "last_tick": None if last is None else iso(last.due),
            "last_task_id": None if last is None else last.task_id,
            "last_task_status": None if task is None else task.status,
        }


class Scheduler:
    def __init__(self, schedules: Sequence[Schedule], interval: float, max_attempts: int) -> None:
        self.schedules = list(schedules)
        self.interval = interval
        self.max_attempts = max_attempts
        self.started: float | None = None
        """The store's time at this process's first look."""
        self.stored = 0
        """Ticks this process stored (others skipped those it stored first)."""
        self._store: Store | None = None
        self._wake: Callable[[], None] = lambda: None
        self._loop: asyncio.Task[None] | None = None
        self._failing = False

    @classmethod
    def load(cls, settings: Settings, registry: Registry) -> Scheduler:
        """The schedules declared in the handler modules, checked; raises ConfigError."""
        schedules = load(settings.handlers, registry)
        return cls(schedules, settings.schedule_interval, settings.max_attempts)

    def __repr__(self) -> str:
        return f"Scheduler(schedules={len(self.schedules)}, stored={self.stored})"

    def start(self, store: Store, wake: Callable[[], None]) -> None:
        """Look now and at every tick; `wake` is called when new tasks are stored."""
        self._store, self._wake = store, wake
        if self.schedules:
            self._loop = asyncio.create_task(self._run(), name="service-scheduler")

    async def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()
            with suppress(asyncio.CancelledError):
                await self._loop
            self._loop = None

    async def standing(self) -> list[Standing]:
        """Each schedule with its next tick and its latest stored one; raises StoreError."""
        ticks = await self._read()
        return [
            Standing(each, each.timing.next_after(ticks.now), ticks.last.get(each.name))
            for each in self.schedules
        ]

    async def look(self) -> float:
        """Store the ticks due now; seconds until the next one is due."""
        ticks = await self._read()
        if self.started is None:
            self.started = ticks.now
        new = [self._tick(each, due) for each in self.schedules for due in self._due(each, ticks)]
        if new:
            stored = await self._store_ticks(new, ticks.now)
            self.stored += len(stored)
            if stored:
                self._wake()
        upcoming = min(each.timing.next_after(ticks.now) for each in self.schedules)
        return min(max(upcoming - ticks.now, MIN_SLEEP), self.interval)

    async def _run(self) -> None:
        while True:
            try:
                wait = await self.look()
            except StoreError as error:
                if not self._failing:
                    log.error("cannot store ticks: %s", error, extra={"action": "schedule"})
                self._failing, wait = True, self.interval
            except Exception:
                log.exception("the scheduler failed a look", extra={"action": "schedule"})
                wait = self.interval
            else:
                if self._failing:
                    log.warning("storing ticks again", extra={"action": "schedule"})
                self._failing = False
            await asyncio.sleep(wait)

    def _due(self, each: Schedule, ticks: Ticks) -> list[float]:
        last = ticks.last.get(each.name)
        assert self.started is not None
        return to_run(
            each.timing,
            each.catch_up,
            each.max_delay,
            None if last is None else last.due,
            self.started,
            ticks.now,
        )

    def _tick(self, each: Schedule, due: float) -> tuple[Tick, Task]:
        task = Task(
            type=each.type,
            payload={"schedule": each.name, "due": iso(due), **each.payload},
            priority=each.priority,
            max_attempts=each.max_attempts or self.max_attempts,
            created_at=time.time(),
        )
        return Tick(each.name, due, task.id), task

    async def _store_ticks(self, new: list[tuple[Tick, Task]], now: float) -> list[Task]:
        assert self._store is not None
        stored = await self._store.add_ticks(new)
        if stored:
            late = now - min(tick.due for tick, _ in new) > self.interval
            log.log(
                logging.INFO if late else logging.DEBUG,
                "stored %d tick(s)%s: %s",
                len(stored),
                " late (catching up)" if late else "",
                ", ".join(f"{task.payload['schedule']} {task.payload['due']}" for task in stored),
                extra={"action": "schedule", "task_ids": [task.id for task in stored]},
            )
        return stored

    async def _read(self) -> Ticks:
        assert self._store is not None, "the scheduler is not started"
        return await self._store.last_ticks([each.name for each in self.schedules])
