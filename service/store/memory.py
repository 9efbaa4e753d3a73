"""The in-memory store: fast, and everything is lost when the process ends."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Sequence

from ..settings import Settings
from ..task import Task


class MemoryStore:
    durable = False

    def __init__(self, settings: Settings) -> None:
        self._ttl = settings.result_ttl
        self._max_finished = settings.result_max
        self._tasks: dict[str, Task] = {}
        self._keys: dict[tuple[str, str], Task] = {}
        """By (type, idempotency key): the same key under another type is another task."""
        self._finished: deque[Task] = deque()

    def __repr__(self) -> str:
        return f"MemoryStore(tasks={len(self._tasks)}, finished={len(self._finished)})"

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        stored = []
        for task in tasks:
            key = _key(task)
            existing = self._keys.get(key) if key is not None else None
            if existing is not None:
                stored.append(existing)
                continue
            self._tasks[task.id] = task
            if key is not None:
                self._keys[key] = task
            stored.append(task)
        return stored

    async def get(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        return self._keys.get((type, idempotency_key))

    def record(self, task: Task) -> None:
        if task.finished:
            self._finished.append(task)
            while len(self._finished) > self._max_finished:
                self._forget(self._finished.popleft())

    async def flush(self) -> None:
        return None

    async def claim(self, limit: int) -> list[Task]:
        return []

    async def release(self, tasks: Sequence[Task]) -> int:
        for task in tasks:
            self._forget(task)
        return 0

    async def maintain(self) -> None:
        expired_before = time.time() - self._ttl
        finished = self._finished
        while finished and (finished[0].finished_at or 0.0) <= expired_before:
            self._forget(finished.popleft())

    def _forget(self, task: Task) -> None:
        self._tasks.pop(task.id, None)
        key = _key(task)
        if key is not None and self._keys.get(key) is task:
            del self._keys[key]


def _key(task: Task) -> tuple[str, str] | None:
    return None if task.idempotency_key is None else (task.type, task.idempotency_key)
