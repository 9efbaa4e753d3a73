"""Fixtures of the client's tests: real services on Hypercorn, and both clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from service.client import AsyncClient, Client
from tests.client.support import STORES, Api, Connect, Threaded
from tests.e2e.server import Server

SMALL_BODIES = {"SERVICE_MAX_BODY": "65536"}
"""Small enough that a body over the limit is sent whole before the 413 comes back: the
service closes the connection without reading the rest of a larger body, and the client may
then see the connection reset instead of the answer."""


@pytest.fixture(scope="module", params=list(STORES))
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One service per store for a whole test module: tests tell their tasks apart by id."""
    workdir: Path = tmp_path_factory.mktemp(f"client-{request.param}")
    with Server(workdir, {**STORES[request.param], **SMALL_BODIES}) as running:
        yield running


@pytest.fixture(params=["sync", "async"])
async def connect(request: pytest.FixtureRequest) -> AsyncIterator[Connect]:
    """`connect(url, **options)`: a `Client` (on threads) or an `AsyncClient`, closed after."""
    opened: list[Api] = []

    def open_client(
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        retry_unavailable: bool = True,
        max_retries: int = 5,
    ) -> Api:
        api: Api
        if request.param == "sync":
            client = Client(
                url,
                token=token,
                timeout=timeout,
                retry_unavailable=retry_unavailable,
                max_retries=max_retries,
            )
            api = Threaded(client)
        else:
            api = AsyncClient(
                url,
                token=token,
                timeout=timeout,
                retry_unavailable=retry_unavailable,
                max_retries=max_retries,
            )
        opened.append(api)
        return api

    yield open_client
    for api in opened:
        await api.close()


@pytest.fixture
def api(server: Server, connect: Connect) -> Api:
    return connect(server.url)
