"""Stores that tests open, each standing for a process, all closed when the test ends."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from service.store import Store

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
