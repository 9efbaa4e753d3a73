"""Worker slots, and the watchdog that keeps every slot working whatever its handler does.

A slot is one worker coroutine and the task it runs, or the tasks of one batch call. Once a
second at most the watchdog:
- cancels an attempt that runs past its deadline (SERVICE_TASK_TIMEOUT);
- gives up on an attempt whose handler ignored that cancellation for STOP_GRACE seconds:
  the attempt fails, the stuck coroutine is left behind (a *stray*, which never writes
  again) and a fresh worker takes the slot;
- replaces a worker coroutine that died, logging why.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from .task import Task

log = logging.getLogger("service.worker")

STOP_GRACE = 1.0
"""Seconds a cancelled handler gets to stop before it is left behind."""


@dataclass(slots=True, eq=False)
class Slot:
    number: int
    runner: asyncio.Task[None] | None = None
    tasks: list[Task] = field(default_factory=list)
    """What it runs: one task, or the tasks of one batch call; none while idle."""
    deadline: float = 0.0
    cancelled_at: float | None = None
    """When the watchdog cancelled the attempt for running past its deadline."""
    abandoned: bool = False
    """Left behind by the watchdog: whatever its handler does now is not recorded."""

    def begin(self, tasks: list[Task], timeout: float) -> None:
        self.tasks, self.deadline, self.cancelled_at = tasks, time.monotonic() + timeout, None


Work = Callable[[Slot], Coroutine[Any, Any, None]]
GiveUp = Callable[[list[Task]], None]


class Slots:
    """The pool's worker slots: started, watched, replaced and stopped together."""

    def __init__(self, count: int, timeout: float, work: Work, give_up: GiveUp) -> None:
        self._count = count
        self._timeout = timeout
        self._work = work
        self._give_up = give_up
        self.all: list[Slot] = []
        self.strays: set[asyncio.Task[None]] = set()
        """Coroutines whose handlers ignored their cancellation; kept so that they are not lost."""

    def start(self) -> None:
        self.all = [self._start(Slot(number)) for number in range(self._count)]

    async def watch(self) -> None:
        period = min(1.0, self._timeout / 4)
        while True:
            await asyncio.sleep(period)
            now = time.monotonic()
            for index, slot in enumerate(self.all):
                if slot.runner is not None and slot.runner.done():
                    self._died(slot)
                    self.all[index] = self._start(Slot(slot.number))
                elif not slot.tasks:
                    continue
                elif slot.cancelled_at is None and slot.deadline <= now:
                    slot.cancelled_at = now
                    assert slot.runner is not None
                    slot.runner.cancel()
                elif slot.cancelled_at is not None and now - slot.cancelled_at >= STOP_GRACE:
                    self._abandon(slot, slot.tasks)
                    self.all[index] = self._start(Slot(slot.number))

    async def stop(self) -> None:
        """Cancel every worker; leave behind, and log, those that do not stop in STOP_GRACE."""
        runners = {slot.runner: slot for slot in self.all if slot.runner is not None}
        for runner in runners:
            runner.cancel()
        stuck: list[Task] = []
        if runners:
            _, pending = await asyncio.wait(runners, timeout=STOP_GRACE)
            for runner in pending:
                slot = runners[runner]
                slot.abandoned = True
                self.strays.add(runner)
                stuck.extend(slot.tasks)
        if stuck:
            log.error(
                "%d handlers ignored their cancellation at the drain deadline and were left "
                "behind: tasks %s",
                len(stuck),
                ", ".join(task.id for task in stuck),
                extra={"action": "drain", "task_ids": [task.id for task in stuck]},
            )
        self.all = []

    def _start(self, slot: Slot) -> Slot:
        slot.runner = asyncio.create_task(self._work(slot), name=f"service-worker-{slot.number}")
        return slot

    def _abandon(self, slot: Slot, tasks: list[Task]) -> None:
        slot.abandoned = True
        assert slot.runner is not None
        self.strays.add(slot.runner)
        ids = ", ".join(task.id for task in tasks)
        log.error(
            "task %s: its handler ignored the cancellation at its deadline; it is left behind "
            "and worker %d starts afresh",
            ids,
            slot.number,
            extra={"action": "abandon", "task_id": ids},
        )
        self._give_up(tasks)

    def _died(self, slot: Slot) -> None:
        assert slot.runner is not None
        error = None if slot.runner.cancelled() else slot.runner.exception()
        log.error(
            "worker %d stopped unexpectedly (%r); a new one takes its place",
            slot.number,
            error,
            exc_info=error,
            extra={"action": "worker_died"},
        )


def exit_if_stuck(strays: set[asyncio.Task[None]], after: float = STOP_GRACE) -> None:
    """End the process soon if handlers ignore their cancellation: it would never exit.

    The event loop cancels every task left when it closes and waits for them all; a
    coroutine that swallows cancellations would hold the process open forever. Called once
    the service has stopped and written everything it could: the exit status is 1.
    """
    stuck = [stray for stray in strays if not stray.done()]
    if not stuck:
        return

    def exit_now() -> None:
        log.error(
            "exiting: %d handlers still ignore their cancellation",
            len(stuck),
            extra={"action": "stop"},
        )
        logging.shutdown()
        os._exit(1)

    timer = threading.Timer(after, exit_now)
    timer.daemon = True
    timer.start()


def forget_cancellation() -> None:
    """Take back every cancellation requested of this task, so that it can go on."""
    current = asyncio.current_task()
    assert current is not None
    while current.cancelling():
        current.uncancel()
