"""Reading tasks as they stand: held by this process, or in the store; waiting for one to end."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

from .errors import RequestError, StoreError
from .store import Store
from .task import Status, Task
from .waiters import Waiters
from .worker import WorkerPool

T = TypeVar("T")

WAIT_LIMIT = 60.0
"""Seconds a `GET /task/<id>?wait=` may wait at most."""


class TaskReads:
    def __init__(self, store: Store, pool: WorkerPool, waiters: Waiters) -> None:
        self.store = store
        self.pool = pool
        self.waiters = waiters

    async def get(self, task_id: str) -> Task | None:
        held = self.pool.held.get(task_id)
        if held is not None:
            return held
        return await read(self.store.get(task_id))

    async def wait(self, task_id: str, timeout: float) -> Task:
        """The task once it is finished, or as it stands after `timeout` seconds."""
        async with self.waiters.waiting(task_id) as ended:
            task = await self.get(task_id)
            if task is None:
                raise not_found(task_id)
            if task.finished:
                return task
            try:
                async with asyncio.timeout(timeout):
                    finished = await ended
            except TimeoutError:
                finished = None
        if finished is not None:
            return finished
        return await self.get(task_id) or task

    async def list_tasks(
        self, status: Status | None, type: str | None, limit: int, after: str | None
    ) -> list[Task]:
        """Newest first, of every process; tasks running here as they stand now."""
        query = self.store.list_tasks(status=status, type=type, limit=limit, after=after)
        tasks = await read(query)
        held = self.pool.held
        return [held.get(task.id, task) for task in tasks]


async def read(query: Awaitable[T]) -> T:
    try:
        return await query
    except StoreError as error:
        raise RequestError(503, "store_unavailable", "the task store cannot be read") from error


async def write(query: Awaitable[T]) -> T:
    try:
        return await query
    except StoreError as error:
        raise RequestError(503, "store_unavailable", "the task store cannot write") from error


def not_found(task_id: str) -> RequestError:
    return RequestError(404, "not_found", f"no task with id {task_id!r}")
