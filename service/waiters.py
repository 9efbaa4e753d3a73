"""Requests waiting for tasks to finish (`GET /task/<id>?wait=`).

A waiter costs a future, not a poll. A task that ends in this process wakes its waiters at
once, with the finished task. Tasks run or cancelled by other processes are found by one
`get_many` per poll interval for all the ids waited on, however many waiters there are.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from .errors import StoreError
from .store import Store
from .task import Task

log = logging.getLogger("service.waiters")

CHUNK = 500
"""Ids per `get_many`: well below SQLite's limit on query parameters."""


class Waiters:
    def __init__(self, store: Store, poll_interval: float) -> None:
        self.store = store
        self.poll_interval = poll_interval
        self._waiting: dict[str, set[asyncio.Future[Task | None]]] = {}
        self._poller: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return sum(len(futures) for futures in self._waiting.values())

    @asynccontextmanager
    async def waiting(self, task_id: str) -> AsyncIterator[asyncio.Future[Task | None]]:
        """A future set to the finished task (or None at shutdown) when the task ends.

        Enter it before reading the task: an end that comes between the read and the wait
        is then not missed.
        """
        future: asyncio.Future[Task | None] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(task_id, set()).add(future)
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name="service-waiters")
        try:
            yield future
        finally:
            futures = self._waiting.get(task_id)
            if futures is not None:
                futures.discard(future)
                if not futures:
                    del self._waiting[task_id]

    def finished(self, task: Task) -> None:
        """The task ended: answer everyone waiting on it."""
        for future in self._waiting.pop(task.id, ()):
            if not future.done():
                future.set_result(task)

    def close(self) -> None:
        """Shutdown: answer every waiter now, with the task as it stands."""
        waiting, self._waiting = self._waiting, {}
        for futures in waiting.values():
            for future in futures:
                if not future.done():
                    future.set_result(None)
        if self._poller is not None:
            self._poller.cancel()

    async def _poll(self) -> None:
        """While anyone waits: look up every waited-on task once per interval."""
        while self._waiting:
            await asyncio.sleep(self.poll_interval)
            ids = list(self._waiting)
            for start in range(0, len(ids), CHUNK):
                try:
                    tasks = await self.store.get_many(ids[start : start + CHUNK])
                except StoreError as error:
                    log.warning("could not look up awaited tasks: %s", error)
                    break
                for task in tasks:
                    if task.finished:
                        self.finished(task)
