"""Batches: due tasks of a batch type, claimed over time and handed to one worker together.

The dispatcher skips batch types. For each of them a collector waits for a free worker,
keeps it, and claims the type's due tasks: again as they arrive, until it holds
`batch_size` of them or `batch_wait` seconds have passed since its first claim; then that
worker calls the handler with the list. A batch takes one worker from its first claim to
its end, whatever its size.

Claimed tasks are running attempts of this process from their claim, as any other: held,
under this process's lease, taken over if it dies, and each one's end recorded on its own,
fenced on its own claim. The drain hands over the partial batches at once.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, suppress
from typing import TYPE_CHECKING, Any

from . import jsoncodec
from .errors import BadBatchResult, StoreError
from .handlers.batch import BatchSpec
from .metrics import Metrics
from .task import Task

if TYPE_CHECKING:
    from .worker import WorkerPool

log = logging.getLogger("service.worker")


class Batch:
    """Claimed tasks of one batch type, for one call of its handler."""

    __slots__ = ("tasks",)

    def __init__(self, tasks: list[Task]) -> None:
        self.tasks = tasks

    def __repr__(self) -> str:
        return f"Batch({self.tasks[0].type!r}, {len(self.tasks)} tasks)"


def split_results(returned: Any, count: int) -> list[Any]:
    """Each task's result, or the exception that fails it, from a batch handler's return.

    None is every task's result; a list (or tuple) of `count` items is one per task, in
    order, where an exception instance fails its task alone, as does a result that JSON
    cannot carry. Anything else fails the whole batch.
    """
    if returned is None:
        return [None] * count
    if not isinstance(returned, list | tuple) or len(returned) != count:
        got = f"{len(returned)} items" if isinstance(returned, list | tuple) else repr(returned)
        raise BadBatchResult(
            f"a batch handler returns None or a list of one result per task ({count}), "
            f"not {got[:200]}"
        )
    return [_checked(result) for result in returned]


def _checked(result: Any) -> Any:
    if result is None or isinstance(result, BaseException):
        return result
    try:
        jsoncodec.check_result(result)
    except Exception as error:
        return error
    return result


def attempts(metrics: Metrics, tasks: list[Task]) -> AbstractContextManager[object]:
    """`metrics.attempt` around the attempt of each task of a call (a task alone goes without
    a stack: this is every plain task's path)."""
    if len(tasks) == 1:
        return metrics.attempt(tasks[0])
    stack = ExitStack()
    for task in tasks:
        stack.enter_context(metrics.attempt(task))
    return stack


class Collector:
    """The pool's batch collectors, one per batch type, and the workers their batches use."""

    def __init__(self, pool: WorkerPool, specs: Mapping[str, BatchSpec]) -> None:
        self._pool = pool
        self._specs = dict(specs)
        self._events = {type: asyncio.Event() for type in specs}
        self._arrived = dict.fromkeys(specs, 0)
        self._room: dict[str, int | None] = dict.fromkeys(specs)
        """Tasks a filling batch still has room for; None while the collector is not filling."""
        self._empty = dict.fromkeys(specs, False)
        self._needs_worker = dict.fromkeys(specs, False)
        self._failing = False
        self.batched: set[str] = set()
        """Ids of the held tasks that are in batches: filling, waiting for their worker, running."""
        self.units = 0
        """Batches handed to the workers and not over yet."""
        self.hurry = False
        """Draining: hand over partial batches at once."""

    def __repr__(self) -> str:
        return f"Collector({sorted(self._specs)}, batched={len(self.batched)}, units={self.units})"

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._specs)

    @property
    def empty(self) -> bool:
        """Every collector's last claim found no due task, and nothing woke it since."""
        return all(self._empty.values())

    def discount(self) -> int:
        """Held tasks that need no worker of their own: a batch takes one, whatever its size."""
        return len(self.batched) - self.units

    def wake(self, work: bool = True) -> None:
        """Workers came free, and work may have come (else `work` is False): the collectors
        that wait for what came look again; a filling one waits for its batch to fill."""
        for type, event in self._events.items():
            if work:
                self._empty[type] = False
            if self._room[type] is not None:  # filling
                if self.hurry:
                    event.set()
            elif work or self._needs_worker[type]:
                event.set()

    def arrived(self, pairs: Sequence[tuple[Task, bool]]) -> None:
        """Tasks were stored by this process, (task, created): a collector looks again if the
        new ones may fill it."""
        if not pairs or pairs[0][0].type not in self._specs:
            return
        type, new = pairs[0][0].type, sum(created for _, created in pairs)
        if not new:
            return
        self._arrived[type] += sum(created and not task.run_at for task, created in pairs)
        room = self._room[type]
        self._empty[type] = False
        if room is None or self._arrived[type] >= room:
            self._events[type].set()

    def ran(self) -> None:
        """A batch handed to the workers is over."""
        self.units -= 1

    async def run(self) -> None:
        await asyncio.gather(*(self._collect(type, spec) for type, spec in self._specs.items()))

    async def _collect(self, type: str, spec: BatchSpec) -> None:
        pool, event = self._pool, self._events[type]
        wait: float | None = 0.0
        while True:
            await _nap(event, wait)
            event.clear()
            claiming = pool.dispatcher.claiming
            self._needs_worker[type] = claiming and not pool.promise(1)
            if not claiming or self._needs_worker[type]:
                wait = None if claiming else pool.settings.poll_interval
                continue
            tasks: list[Task] = []
            try:
                tasks, wait = await self._fill(type, spec)
            finally:
                starved = pool.idle() <= 0
                pool.unpromise(1)
                self._room[type] = None
            if tasks:
                self.units += 1
                pool.enqueue(Batch(tasks))
            elif starved:  # the dispatcher may be waiting for the worker this kept
                pool.dispatcher.wake(work=False)

    async def _fill(self, type: str, spec: BatchSpec) -> tuple[list[Task], float | None]:
        """Claim a batch; the tasks, and how long to sleep before the next claim if none."""
        pool, event, poll = self._pool, self._events[type], self._pool.settings.poll_interval
        tasks: list[Task] = []
        deadline = math.inf
        while True:
            self._arrived[type] = 0
            self._room[type] = room = spec.size - len(tasks)
            sent = time.monotonic()
            found, next_due = await self._claim(type, room)
            if found:
                pool.renewed(sent)
                self.batched.update(task.id for task in found)
                pool.held.update((task.id, task) for task in found)
                tasks += found
                deadline = min(deadline, sent + spec.wait)
            elif not tasks:
                self._empty[type] = not event.is_set()
                return [], poll if next_due is None else min(poll, next_due)
            now = time.monotonic()
            if len(tasks) >= spec.size or self.hurry or now >= deadline or tasks[0].claim is None:
                return tasks, 0.0
            event.clear()
            await _nap(event, min(deadline - now, poll))

    async def _claim(self, type: str, limit: int) -> tuple[list[Task], float | None]:
        try:
            claimed = await self._pool.store.claim(limit, only=type)
        except StoreError as error:
            if not self._failing:
                log.error("cannot claim %s tasks: %s", type, error, extra={"action": "claim"})
            self._failing = True
            return [], None
        if self._failing:
            log.warning("claiming %s tasks again", type, extra={"action": "claim"})
            self._failing = False
        return claimed.tasks, claimed.next_due


async def _nap(event: asyncio.Event, seconds: float | None) -> None:
    """Until the event is set or `seconds` pass (None: no limit); yields to the loop at least."""
    if seconds == 0.0 or event.is_set():
        await asyncio.sleep(0)  # a store that answers at once must not starve the loop
        return
    # Not wait_for: on Python 3.11 it can swallow the cancellation that stops this.
    with suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
