"""The `store_opener` and `store` fixtures: stores on the test's `store_url`, any backend."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from service import Settings
from service.store import Store, open_store
from tests.stores import opening

Opener = Callable[..., Awaitable[Store]]


@pytest.fixture
async def store_opener(store_url: str) -> AsyncIterator[Opener]:
    """Opens stores on the test's backing, each standing for a process; closed after."""

    def make(**overrides: Any) -> Store:
        return open_store(Settings(store=store_url, result_ttl=60, **overrides))

    async with opening(make) as open_one:
        yield open_one


@pytest.fixture
async def store(store_opener: Opener) -> Store:
    return await store_opener()
