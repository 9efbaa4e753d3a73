"""The worker pool: a bounded asyncio queue drained by worker coroutines.

Every task this process has accepted and not finished is *held*: it waits in the ready
queue (ordered by priority, then arrival), waits in the delayed heap until its `run_at`,
or runs. `SERVICE_QUEUE_MAXSIZE` bounds the held tasks, which bounds memory.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import math
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from . import jsoncodec
from .handlers import Registry
from .settings import Settings
from .slots import Slot, Slots
from .store import Store
from .task import Task

log = logging.getLogger("service.worker")

Entry = tuple[float, int, Task]


@dataclass(slots=True)
class Counts:
    done: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    abandoned: int = 0
    released: int = 0


class WorkerPool:
    def __init__(self, settings: Settings, registry: Registry, store: Store) -> None:
        self.settings = settings
        self.registry = registry
        self.store = store
        self.counts = Counts()
        self.held: dict[str, Task] = {}
        self._reserved = 0
        # Unbounded on purpose: `reserve` bounds the held tasks before they are stored, and
        # entries of cancelled tasks may linger here until a worker skips them.
        self._ready: asyncio.PriorityQueue[Entry] = asyncio.PriorityQueue()
        self._delayed: list[Entry] = []
        self._delayed_changed = asyncio.Event()
        self._order = itertools.count()
        self.slots = Slots(settings.concurrency, settings.task_timeout, self._work, self._give_up)
        self._stopping = False
        self._timer: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._finished_recently = 0
        self._rate = 0.0

    def __repr__(self) -> str:
        return (
            f"WorkerPool(workers={len(self.slots.all)}, held={len(self.held)}, "
            f"ready={self._ready.qsize()}, delayed={len(self._delayed)}, {self.counts})"
        )

    @property
    def free(self) -> int:
        return self.settings.queue_maxsize - len(self.held) - self._reserved

    def reserve(self, count: int) -> bool:
        """Hold room for `count` tasks while they are being stored."""
        if count > self.free:
            return False
        self._reserved += count
        return True

    def unreserve(self, count: int) -> None:
        self._reserved -= count

    def retry_after(self, count: int) -> int:
        """Whole seconds until `count` tasks have likely finished at the recent rate."""
        if self._rate <= 0:
            return 1
        return max(1, min(60, math.ceil(count / self._rate)))

    def start(self) -> None:
        self._timer = asyncio.create_task(self._release_due(), name="service-timer")
        self._watchdog = asyncio.create_task(self.slots.watch(), name="service-watchdog")
        self.slots.start()

    def push(self, tasks: Iterable[Task]) -> None:
        for task in tasks:
            self.held[task.id] = task
            self._schedule(task)

    def cancel(self, task: Task) -> None:
        """Cancel a held task that has not started; the worker skips it when it comes up."""
        task.status = "cancelled"
        task.finished_at = time.time()
        self.counts.cancelled += 1
        self._finish(task)

    def measure(self, interval: float) -> None:
        """Update the completion rate that `retry_after` uses; call once per interval."""
        self._rate = self._finished_recently / interval
        self._finished_recently = 0

    async def drain(self, timeout: float) -> list[Task]:
        """Let the workers finish the due tasks for up to `timeout` seconds, then stop them.

        Returns the tasks still held: not yet due, cut off by the deadline, or run by
        handlers that would not stop (their coroutines are left behind in `slots.strays`).
        """
        if self._timer is not None:
            self._timer.cancel()  # tasks not yet due are not waited for
        try:
            await asyncio.wait_for(self._ready.join(), timeout)
        except TimeoutError:
            log.warning("drain deadline of %.1f s passed", timeout, extra={"action": "drain"})
        self._stopping = True
        helpers = [task for task in (self._timer, self._watchdog) if task is not None]
        for helper in helpers:
            helper.cancel()
        await self.slots.stop()
        await asyncio.gather(*helpers, return_exceptions=True)
        self._timer, self._watchdog = None, None
        return list(self.held.values())

    def _schedule(self, task: Task) -> None:
        if task.run_at > time.time():
            heapq.heappush(self._delayed, (task.run_at, next(self._order), task))
            self._delayed_changed.set()
        else:
            self._ready.put_nowait((-task.priority, next(self._order), task))

    async def _release_due(self) -> None:
        delayed = self._delayed
        while True:
            now = time.time()
            while delayed and delayed[0][0] <= now:
                task = heapq.heappop(delayed)[2]
                if task.status == "queued":
                    self._ready.put_nowait((-task.priority, next(self._order), task))
            wait = delayed[0][0] - now if delayed else None
            self._delayed_changed.clear()
            try:
                await asyncio.wait_for(self._delayed_changed.wait(), wait)
            except TimeoutError:
                pass

    async def _work(self, slot: Slot) -> None:
        ready = self._ready
        timeout = self.settings.task_timeout
        while not self._stopping:
            task = (await ready.get())[2]
            try:
                if task.status == "queued":
                    slot.begin(task, timeout)
                    await self._execute(task, slot)
            finally:
                if not slot.abandoned:  # else the watchdog has settled the task
                    slot.task = None
                    ready.task_done()
            if slot.abandoned:
                return

    async def _execute(self, task: Task, slot: Slot) -> None:
        task.status = "running"
        task.attempts += 1
        task.started_at = time.time()
        self.store.record(task)
        result, error = None, None
        try:
            result = await self.registry.run(task)
            if result is not None:
                jsoncodec.check_result(result)
        except asyncio.CancelledError:
            if slot.abandoned or self._stopping:
                if not slot.abandoned:
                    self._put_back(task)
                raise
            # Not the drain's: the watchdog's at the deadline, or the handler's own.
            _forget_cancellation()
            timed_out = slot.cancelled_at is not None
            error = self._timed_out() if timed_out else "CancelledError: raised by the handler"
        except BaseException as exception:  # SystemExit, KeyboardInterrupt: the attempt fails
            error = f"{type(exception).__name__}: {exception}"
        else:
            if slot.cancelled_at is not None:  # the handler swallowed its cancellation
                _forget_cancellation()
                error = self._timed_out() + "; the handler ignored the cancellation"
        if slot.abandoned:
            return
        if error is not None:
            self._fail(task, error)
            return
        task.status = "done"
        task.result = result
        task.finished_at = time.time()
        self.counts.done += 1
        self._finish(task)

    def _timed_out(self) -> str:
        return f"timed out after {self.settings.task_timeout:g} s"

    def _give_up(self, task: Task) -> None:
        """The watchdog left this task's handler behind: fail the attempt in its stead."""
        self._fail(task, self._timed_out() + "; the handler ignored the cancellation")
        self._ready.task_done()

    def _fail(self, task: Task, message: str) -> None:
        # An exception's text may hold what UTF-8 cannot carry (a lone surrogate): escape it.
        task.error = message.encode("utf-8", "backslashreplace").decode("utf-8")
        if task.attempts < task.max_attempts:
            task.status = "queued"
            task.run_at = time.time() + self._backoff(task.attempts)
            self.counts.retried += 1
            self.store.record(task)
            log.info(
                "task %s failed (attempt %d), will retry: %s",
                task.id,
                task.attempts,
                message,
                extra={"action": "retry", "task_id": task.id},
            )
            self._schedule(task)
            return
        task.status = "failed"
        task.finished_at = time.time()
        self.counts.failed += 1
        log.warning(
            "task %s failed: %s", task.id, message, extra={"action": "failed", "task_id": task.id}
        )
        self._finish(task)

    def _put_back(self, task: Task) -> None:
        """A task cut off by the drain deadline: queued again, its attempt not used up."""
        task.status = "queued"
        task.attempts -= 1
        task.started_at = None

    def _finish(self, task: Task) -> None:
        self.held.pop(task.id, None)
        self._finished_recently += 1
        self.store.record(task)

    def _backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: half to all of retry_delay * 2^(attempt-1), capped."""
        ceiling = min(self.settings.retry_delay * 2 ** (attempt - 1), 300.0)
        return random.uniform(ceiling / 2, ceiling)


def _forget_cancellation() -> None:
    """Take back every cancellation requested of this task, so that it can go on."""
    current = asyncio.current_task()
    assert current is not None
    while current.cancelling():
        current.uncancel()
