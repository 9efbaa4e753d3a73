from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from quart import Quart
from quart.typing import TestClientProtocol

from service import Settings, create_app
from service.core import TaskService
from tests import sample_handlers
from tests.postgres import Cluster

STORES = ["memory", "sqlite", "postgresql"]
pytest_plugins = [
    "tests.sqlite_stores",  # the `path` and `opener` fixtures of SQLite's tests
    "tests.any_stores",  # `store_opener` and `store`, on `store_url`
]
POSTGRES_TEMPLATE = "service_template"
_database_numbers = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_sample_state() -> None:
    sample_handlers.seen.clear()
    sample_handlers.lifecycle.clear()
    sample_handlers.gate = asyncio.Event()
    sample_handlers.released.clear()


@pytest.fixture(params=STORES)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        return url
    return "memory" if request.param == "memory" else f"sqlite:///{tmp_path / 'tasks.db'}"


@pytest.fixture
def settings(store_url: str) -> Settings:
    return Settings(
        store=store_url,
        handlers=("tests.sample_handlers",),
        retry_delay=0.01,
        drain_timeout=5,
    )


class Running:
    """A started app, its test client and its service."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.client: TestClientProtocol = app.test_client()
        self.service: TaskService = app.extensions["task_service"]

    async def post(self, path: str, body: Any, **kwargs: Any) -> Any:
        return await self.client.post(path, json=body, **kwargs)

    async def wait_finished(self, task_id: str, timeout: float = 10) -> dict[str, Any]:
        """Ask until the task has finished (its final state stored)."""
        async with asyncio.timeout(timeout):
            while True:
                response = await self.client.get(f"/task/{task_id}")
                body: dict[str, Any] = await response.get_json()
                if body["status"] not in ("queued", "running"):
                    return body
                await asyncio.sleep(0.002)


Starter = Callable[..., Any]


@pytest.fixture
def start(settings: Settings) -> Starter:
    """`async with start(**overrides) as running:` a fresh app per use, started and drained."""

    @asynccontextmanager
    async def starter(**overrides: Any) -> AsyncIterator[Running]:
        app = create_app(replace(settings, **overrides))
        async with app.test_app():
            yield Running(app)

    return starter


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """One throwaway PostgreSQL server for the whole run, without fsync."""
    cluster = Cluster(fast=True)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.cleanup()


@pytest.fixture(scope="session")
def postgres_template(postgres_cluster: Cluster) -> str:
    """The database each test's database is cloned from; nothing may stay connected to it."""
    postgres_cluster.create_database(POSTGRES_TEMPLATE)
    return POSTGRES_TEMPLATE


@pytest.fixture
def postgres_url(postgres_cluster: Cluster, postgres_template: str) -> Iterator[str]:
    """A URL to a fresh database of this test's own, owned by the `service` role."""
    name = f"test_{next(_database_numbers)}"
    postgres_cluster.create_database(name, template=postgres_template)
    try:
        yield postgres_cluster.url(name)
    finally:
        postgres_cluster.terminate(name)
        postgres_cluster.drop_database(name)
