"""The in-memory store: the shared-queue semantics for one process, lost when it ends.

It keeps copies, never the caller's objects, so that it behaves as the durable stores do:
a task changes in the store only through the store's verbs.
"""

from __future__ import annotations

import heapq
import itertools
import os
import socket
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from contextlib import suppress
from copy import copy
from operator import attrgetter, itemgetter

from ..settings import Settings
from ..task import Status, Task, new_id
from .base import TICK_MEMORY, Claimed, Lease, QueueStats, Tick, Ticks
from .views import Count, Failed, Instance, Minute, matching_failed, per_minute

DueEntry = tuple[int, int, str]
"""(-priority, seq, id) of a queued task that is due."""
DelayedEntry = tuple[float, int, str]
"""(run_at, seq, id) of a queued task that is not yet due."""


class MemoryStore:
    durable = False
    available = True

    def __init__(self, settings: Settings) -> None:
        self.owner = new_id()
        self._started_at = time.time()
        self._concurrency = settings.concurrency
        self._ttl = settings.result_ttl
        self._max_finished = settings.result_max
        self._tasks: dict[str, Task] = {}
        self._keys: dict[tuple[str, str], Task] = {}
        """By (type, idempotency key): the same key under another type is another task."""
        self._due: dict[str, list[DueEntry]] = {}
        """By type: a claim limited to one type, or skipping some, looks at their heads only."""
        self._delayed: list[DelayedEntry] = []
        self._finished: deque[Task] = deque()
        self._unfinished: dict[str, Task] = {}
        """Queued and running tasks, by id."""
        self._seq = itertools.count(1)
        self._ticks: dict[str, dict[float, Tick]] = {}
        """By schedule, then due time: the ticks stored, about oldest first."""
        self._latest: dict[str, Tick] = {}
        self.fenced = 0

    def __repr__(self) -> str:
        return f"MemoryStore(tasks={len(self._tasks)}, unfinished={len(self._unfinished)})"

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    def listen(self, wake: Callable[[], None]) -> None:
        return None  # no other process shares this store

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        stored = []
        for task in tasks:
            key = _key(task)
            existing = self._keys.get(key) if key is not None else None
            if existing is not None:
                stored.append(copy(existing))
                continue
            task.seq = next(self._seq)
            kept = copy(task)
            self._tasks[task.id] = kept
            self._unfinished[task.id] = kept
            if key is not None:
                self._keys[key] = kept
            if kept.status == "queued":
                self._queue(kept)
            stored.append(task)
        return stored

    async def get(self, task_id: str) -> Task | None:
        found = self._tasks.get(task_id)
        return None if found is None else copy(found)

    async def get_many(self, task_ids: Sequence[str]) -> list[Task]:
        found = (self._tasks.get(task_id) for task_id in dict.fromkeys(task_ids))
        return [copy(task) for task in found if task is not None]

    async def list_tasks(
        self,
        *,
        status: Status | None = None,
        type: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[Task]:
        found = (
            task
            for task in self._tasks.values()
            if (status is None or task.status == status)
            and (type is None or task.type == type)
            and (after is None or task.id < after)
        )
        return [copy(task) for task in heapq.nlargest(limit, found, key=attrgetter("id"))]

    async def retry(self, task_id: str) -> Task | None:
        task = self._tasks.get(task_id)
        if task is None:
            return None
        if task.status in ("failed", "cancelled"):
            with suppress(ValueError):
                self._finished.remove(task)  # rare, and at most result_max long
            self._requeue(task)
        return copy(task)

    def _requeue(self, task: Task) -> None:
        task.status, task.run_at, task.attempts = "queued", time.time(), 0
        task.result = task.error = task.started_at = task.finished_at = None
        self._unfinished[task.id] = task
        self._queue(task)

    async def stats(self) -> QueueStats:
        now = time.time()
        due = delayed = running = 0
        oldest = now
        for task in self._unfinished.values():
            if task.status == "running":
                running += 1
            elif task.run_at > now:
                delayed += 1
            else:
                due += 1
                oldest = min(oldest, max(task.run_at, task.created_at))
        return QueueStats(due, delayed, running, max(now - oldest, 0.0))

    async def count_tasks(self) -> list[Count]:
        counted = Counter((task.type, task.status) for task in self._tasks.values())
        return [Count(type, status, count) for (type, status), count in counted.items()]

    async def throughput(self, minutes: int) -> list[Minute]:
        return per_minute(self._finished, time.time() - minutes * 60)

    async def instances(self) -> list[Instance]:
        running = sum(task.status == "running" for task in self._unfinished.values())
        host, pid = socket.gethostname(), os.getpid()
        return [Instance(self.owner, host, pid, self._started_at, None, self._concurrency, running)]

    async def count_failed(self, *, type: str | None = None, prefix: str = "") -> Failed:
        found = [task.id for task in matching_failed(self._finished, type, prefix)]
        return Failed(len(found), max(found, default=None))

    async def retry_failed(self, *, type: str | None, prefix: str, upto: str) -> int:
        found = {
            task.id for task in matching_failed(self._finished, type, prefix) if task.id <= upto
        }
        self._finished = deque(task for task in self._finished if task.id not in found)
        for task_id in found:
            self._requeue(self._tasks[task_id])
        return len(found)

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        found = self._keys.get((type, idempotency_key))
        return None if found is None else copy(found)

    async def claim(
        self, limit: int, *, only: str | None = None, skip: frozenset[str] = frozenset()
    ) -> Claimed:
        now = time.time()
        delayed, tasks = self._delayed, self._tasks
        while delayed and delayed[0][0] <= now:
            run_at, seq, task_id = heapq.heappop(delayed)
            task = tasks.get(task_id)
            if task is not None and task.status == "queued" and task.run_at == run_at:
                heapq.heappush(self._due.setdefault(task.type, []), (-task.priority, seq, task_id))
        heaps = [
            heap
            for type, heap in self._due.items()
            if (only is None or type == only) and type not in skip
        ]
        claimed: list[Task] = []
        while len(claimed) < limit:
            heap = min((heap for heap in heaps if heap), key=itemgetter(0), default=None)
            if heap is None:
                break
            task = tasks.get(heapq.heappop(heap)[2])
            if task is None or task.status != "queued" or task.run_at > now:
                continue  # cancelled while it waited, or retried and queued for later
            task.status = "running"
            task.attempts += 1
            task.started_at = now
            task.claim = (self.owner, task.attempts)
            claimed.append(copy(task))
        next_due = max(delayed[0][0] - now, 0.0) if delayed else None
        return Claimed(claimed, next_due)

    def record(self, task: Task) -> None:
        self._write(task)

    async def release(self, tasks: Sequence[Task]) -> int:
        return sum(self._write(task) for task in tasks)

    async def flush(self) -> None:
        return None

    async def cancel(self, task_id: str) -> Task | None:
        task = self._tasks.get(task_id)
        if task is None:
            return None
        if task.status == "queued":
            task.status = "cancelled"
            task.finished_at = time.time()
            self._finish(task)
        return copy(task)

    async def heartbeat(self) -> Lease:
        return Lease()

    async def take_over(self) -> int:
        return 0

    async def count_unfinished(self) -> int:
        return len(self._unfinished)

    async def maintain(self) -> None:
        expired_before = time.time() - self._ttl
        finished = self._finished
        while finished and (finished[0].finished_at or 0.0) <= expired_before:
            self._forget(finished.popleft())
        self._forget_ticks()

    async def last_ticks(self, schedules: Sequence[str]) -> Ticks:
        last = {name: self._latest[name] for name in schedules if name in self._latest}
        return Ticks(time.time(), last)

    async def add_ticks(self, ticks: Sequence[tuple[Tick, Task]]) -> list[Task]:
        new = []
        for tick, task in ticks:
            stored = self._ticks.setdefault(tick.schedule, {})
            if tick.due not in stored:
                stored[tick.due] = tick
                new.append(task)
                latest = self._latest.get(tick.schedule)
                if latest is None or latest.due < tick.due:
                    self._latest[tick.schedule] = tick
        return await self.add(new)

    def _forget_ticks(self) -> None:
        before = time.time() - TICK_MEMORY
        for name, ticks in self._ticks.items():
            latest = self._latest[name].due
            while ticks:
                due = next(iter(ticks))
                if due >= before or due == latest:
                    break
                del ticks[due]

    def _write(self, task: Task) -> bool:
        """The fenced end of an attempt: True if it was written."""
        stored = self._tasks.get(task.id)
        if stored is None or stored.status != "running" or stored.claim != task.claim:
            self.fenced += 1
            return False
        stored.status, stored.attempts, stored.run_at = task.status, task.attempts, task.run_at
        stored.result, stored.error = task.result, task.error
        stored.started_at, stored.finished_at = task.started_at, task.finished_at
        stored.claim = None
        if stored.status == "queued":
            self._queue(stored)
        else:
            self._finish(stored)
        return True

    def _queue(self, task: Task) -> None:
        if task.run_at > time.time():
            heapq.heappush(self._delayed, (task.run_at, task.seq, task.id))
        else:
            heapq.heappush(self._due.setdefault(task.type, []), (-task.priority, task.seq, task.id))

    def _finish(self, task: Task) -> None:
        del self._unfinished[task.id]
        self._finished.append(task)
        while len(self._finished) > self._max_finished:
            self._forget(self._finished.popleft())

    def _forget(self, task: Task) -> None:
        self._tasks.pop(task.id, None)
        key = _key(task)
        if key is not None and self._keys.get(key) is task:
            del self._keys[key]


def _key(task: Task) -> tuple[str, str] | None:
    return None if task.idempotency_key is None else (task.type, task.idempotency_key)
