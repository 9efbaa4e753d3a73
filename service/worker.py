"""The worker pool: worker coroutines that run the tasks this process has claimed.

Every task this process has claimed and not finished is *held*: it is running, or about to
run on the next free worker. Due tasks wait in the store, not here, so that any process
sharing the store may take them; the dispatcher claims as many as there are idle workers.
Tasks of batch types are claimed by the collector (`batches`) instead, a batch to a worker.
Every end of an attempt is recorded in the store, fenced on the claim.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable
from typing import Any

from . import jsoncodec, outcome
from .batches import Batch, Collector, attempts, split_results
from .dispatch import Dispatcher
from .handlers import Registry
from .metrics import Metrics
from .outcome import Counts
from .settings import Settings
from .slots import Slot, Slots, forget_cancellation
from .store import Store
from .task import Task

log = logging.getLogger("service.worker")

DRAIN_CHECK = 0.005


class WorkerPool:
    def __init__(
        self, settings: Settings, registry: Registry, store: Store, metrics: Metrics
    ) -> None:
        self.settings = settings
        self.metrics = metrics
        self.registry = registry
        self.store = store
        self.counts = Counts()
        self.held: dict[str, Task] = {}
        self._promised = 0
        self._ready: asyncio.Queue[Task | Batch] = asyncio.Queue()
        self.slots = Slots(settings.concurrency, settings.task_timeout, self._work, self._give_up)
        self.batches = Collector(self, registry.batches)
        self.dispatcher = Dispatcher(
            store, self.idle, self.push, settings.poll_interval, self.batches.types
        )
        self._stopping = False
        self._helpers: list[asyncio.Task[None]] = []
        self._finished_recently = 0
        self._rate = 0.0
        self.ended = 0
        """Attempts that finished their task (done or failed), ever."""
        self.lease_until = math.inf
        """Monotonic time until which this process's lease surely lives: no start after it."""
        self.on_end: list[Callable[[Task], None]] = []
        """Called with each task that finished here (done or failed) under a live claim."""

    def __repr__(self) -> str:
        return (
            f"WorkerPool(workers={len(self.slots.all)}, held={len(self.held)}, "
            f"ready={self._ready.qsize()}, {self.counts})"
        )

    def idle(self) -> int:
        """Workers with nothing to run, nor promised to tasks being stored."""
        return self.settings.concurrency - len(self.held) - self._promised + self.batches.discount()

    def promise(self, count: int) -> int:
        """Keep up to `count` idle workers for new tasks being stored; how many were kept."""
        kept = max(min(count, self.idle()), 0)
        self._promised += kept
        return kept

    def unpromise(self, count: int) -> None:
        self._promised -= count

    def retry_after(self, count: int) -> int:
        """Whole seconds until `count` tasks have likely finished at the recent rate."""
        if self._rate <= 0:
            return 1
        return max(1, min(60, math.ceil(count / self._rate)))

    def start(self) -> None:
        self.store.listen(self.dispatcher.wake)
        self.dispatcher.on_wake.append(self.batches.wake)
        self._helpers = [
            asyncio.create_task(self.dispatcher.run(), name="service-dispatcher"),
            asyncio.create_task(self.slots.watch(), name="service-watchdog"),
            asyncio.create_task(self.batches.run(), name="service-batches"),
        ]
        self.slots.start()

    def push(self, tasks: Iterable[Task], claimed_at: float | None = None) -> None:
        """Run tasks this process has claimed; a claim made at monotonic `claimed_at` was
        made under a live lease, which it renewed."""
        if claimed_at is not None:
            self.renewed(claimed_at)
        for task in tasks:
            self.held[task.id] = task
            self._ready.put_nowait(task)

    def enqueue(self, batch: Batch) -> None:
        """Run a batch of held tasks on the next free worker."""
        self._ready.put_nowait(batch)

    def renewed(self, sent: float) -> None:
        """The lease was renewed by a request sent at monotonic time `sent`."""
        self.lease_until = max(self.lease_until, sent + self.settings.lease_timeout)

    def lapse(self) -> None:
        """This process's lease ran out: its claims are void; stop their attempts unrecorded."""
        lost = list(self.held.values())
        for task in lost:
            task.claim = None
        for slot in self.slots.all:
            if slot.tasks and slot.tasks[0].claim is None and slot.runner is not None:
                slot.runner.cancel()
        self.held.clear()
        self.batches.batched.clear()
        self.counts.lost += len(lost)
        if lost:
            log.warning(
                "this process's lease ran out: %d tasks it held are left to the process that "
                "takes them over, and their results here are discarded",
                len(lost),
                extra={"action": "lease", "task_ids": [task.id for task in lost]},
            )
        self.dispatcher.wake()

    def measure(self, interval: float) -> None:
        """Update the completion rate that `retry_after` uses; call once per interval."""
        self._rate = self._finished_recently / interval
        self._finished_recently = 0

    async def drain(self, timeout: float, alone: bool) -> list[Task]:
        """Finish the held tasks (and, `alone` on the store, every due one) for up to `timeout`.

        Returns the tasks still held: cut off by the deadline, or run by handlers that would
        not stop (their coroutines are left behind in `slots.strays`).
        """
        dispatcher = self.dispatcher
        dispatcher.claiming, self.batches.hurry = alone, True
        dispatcher.wake()
        deadline = time.monotonic() + timeout
        while self.held or (alone and not (dispatcher.empty and self.batches.empty)):
            if time.monotonic() >= deadline:
                log.warning("drain deadline of %.1f s passed", timeout, extra={"action": "drain"})
                break
            await asyncio.sleep(DRAIN_CHECK)
        dispatcher.claiming = False
        self._stopping = True
        for helper in self._helpers:
            helper.cancel()
        await self.slots.stop()
        await asyncio.gather(*self._helpers, return_exceptions=True)
        self._helpers = []
        left = [task for task in self.held.values() if task.claim is not None]
        for task in left:
            if task.status == "running":  # never started, or its handler would not stop
                outcome.put_back(task)
        return left

    async def _work(self, slot: Slot) -> None:
        ready = self._ready
        timeout = self.settings.task_timeout
        while not self._stopping:
            unit = await ready.get()
            batch = isinstance(unit, Batch)
            claimed = unit.tasks if isinstance(unit, Batch) else [unit]
            tasks = [task for task in claimed if task.claim is not None]  # else it lapsed
            try:
                if not tasks:
                    pass
                elif time.monotonic() > self.lease_until:
                    for task in tasks:  # the lease may have run out: start nothing
                        outcome.put_back(task)
                        self._end(task)
                else:
                    slot.begin(tasks, timeout)
                    with attempts(self.metrics, tasks):
                        await self._execute(tasks, slot, batch)
            finally:
                if batch:
                    self.batches.ran()
                if not slot.abandoned:  # else the watchdog has settled the tasks
                    slot.tasks = []
            if slot.abandoned:
                return

    async def _execute(self, tasks: list[Task], slot: Slot, batch: bool) -> None:
        results: list[Any] = []
        error = None
        try:
            results = await self._call(tasks, batch)
        except asyncio.CancelledError:
            if slot.abandoned or self._stopping:
                if not slot.abandoned:
                    for task in tasks:
                        outcome.put_back(task)
                raise
            # Not the drain's: the watchdog's at the deadline, a lapsed lease's, or the
            # handler's own.
            forget_cancellation()
            timed_out = slot.cancelled_at is not None
            error = self._timed_out() if timed_out else "CancelledError: raised by the handler"
        except BaseException as exception:  # SystemExit, KeyboardInterrupt: the attempt fails
            error = f"{type(exception).__name__}: {exception}"
        else:
            if slot.cancelled_at is not None:  # the handler swallowed its cancellation
                forget_cancellation()
                error = self._timed_out() + "; the handler ignored the cancellation"
        if not slot.abandoned:
            self._settle(tasks, results, error)

    async def _call(self, tasks: list[Task], batch: bool) -> list[Any]:
        """The handler's result for each task (an exception: that task failed alone)."""
        if batch:
            return split_results(await self.registry.run_batch(tasks), len(tasks))
        result = await self.registry.run(tasks[0])
        if result is not None:
            jsoncodec.check_result(result)
        return [result]

    def _settle(self, tasks: list[Task], results: list[Any], error: str | None) -> None:
        """End each attempt: with the call's error if it failed, else with its own result."""
        for task, result in zip(tasks, results or [None] * len(tasks), strict=True):
            if task.claim is None:
                continue
            if error is not None:
                self._fail(task, error)
            elif isinstance(result, BaseException):
                self._fail(task, f"{type(result).__name__}: {result}")
            else:
                outcome.done(task, result, self.counts)
                self._end(task)

    def _timed_out(self) -> str:
        return f"timed out after {self.settings.task_timeout:g} s"

    def _give_up(self, tasks: list[Task]) -> None:
        """The watchdog left these tasks' handler behind: fail the attempts in its stead."""
        for task in tasks:
            if task.claim is not None:
                self._fail(task, self._timed_out() + "; the handler ignored the cancellation")

    def _fail(self, task: Task, message: str) -> None:
        outcome.failed(task, message, self.settings.retry_delay, self.counts)
        self._end(task)

    def _end(self, task: Task) -> None:
        """The attempt is over: record it, and let the dispatcher fill the worker."""
        self.held.pop(task.id, None)
        self.batches.batched.discard(task.id)
        self._finished_recently += 1
        self.ended += task.finished
        self.store.record(task)
        self.dispatcher.wake(work=False)
        if task.finished and task.claim is not None:
            for call in self.on_end:
                call(task)
