"""Stores that tests open, each standing for a process, all closed when the test ends;
attempts ended as a worker ends them."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from service import Task
from service.store import Store
from service.task import Status

S = TypeVar("S", bound=Store)


@asynccontextmanager
async def opening(make: Callable[..., S]) -> AsyncIterator[Callable[..., Awaitable[S]]]:
    """`open_one(*args, **overrides)` builds a store with `make`, opens it, keeps it to close."""
    opened: list[S] = []

    async def open_one(*args: Any, **overrides: Any) -> S:
        store = make(*args, **overrides)
        await store.open()
        opened.append(store)
        return store

    try:
        yield open_one
    finally:
        for store in opened:
            await store.close()


async def end(store: Store, task: Task, status: Status, **fields: Any) -> None:
    """End the claimed task's attempt as a worker does, and wait until it is stored."""
    task.status, task.finished_at = status, time.time()
    for name, value in fields.items():
        setattr(task, name, value)
    store.record(task)
    await store.flush()


async def failed_task(store: Store, **fields: Any) -> Task:
    """A new task whose first attempt (of two) failed, with an error and a result stored."""
    await store.add([Task("echo", 1, max_attempts=2, **fields)])
    [task] = (await store.claim(1)).tasks
    await end(store, task, "failed", error="ValueError: x", result={"partial": 1})
    return task
