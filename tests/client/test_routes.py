"""Listing, retrying and tokens through the client."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.client import (
    Forbidden,
    InvalidParameter,
    NotFound,
    NotRetryable,
    Unauthorized,
)
from tests.client.support import STORES, Api, Connect
from tests.e2e.server import Server


@pytest.fixture(params=list(STORES))
def fresh(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    """A service of this test's own, so that a listing holds only the test's tasks."""
    with Server(tmp_path, STORES[request.param]) as server:
        yield server


async def submit_apart(api: Api, count: int) -> list[str]:
    """Queued tasks created a few milliseconds apart, so that newest-first is their order."""
    ids = []
    for number in range(count):
        ids.append((await api.submit("echo", number, delay=60)).id)
        await asyncio.sleep(0.003)
    return ids


async def test_list_pages_newest_first(fresh: Server, connect: Connect) -> None:
    api = connect(fresh.url)
    ids = await submit_apart(api, 5)
    newest_first = ids[::-1]
    every = await api.list(type="echo")
    assert [task.id for task in every.tasks] == newest_first and every.next is None
    first = await api.list(type="echo", limit=2)
    assert [task.id for task in first.tasks] == newest_first[:2]
    assert first.next == newest_first[1]
    second = await api.list(type="echo", limit=2, after=first.next)
    assert [task.id for task in second.tasks] == newest_first[2:4]
    assert [task.payload for task in second.tasks] == [2, 1]
    assert [task.id async for task in api.iter_tasks(type="echo", limit=2)] == newest_first


async def test_list_filters_by_status_and_type(fresh: Server, connect: Connect) -> None:
    api = connect(fresh.url)
    ids = await submit_apart(api, 3)
    await api.cancel(ids[1])
    cancelled = await api.list(status="cancelled")
    assert [task.id for task in cancelled.tasks] == [ids[1]]
    queued = await api.list(status="queued", type="echo")
    assert [task.id for task in queued.tasks] == [ids[2], ids[0]]
    assert (await api.list(type="boom")).tasks == ()
    with pytest.raises(InvalidParameter) as refused:
        await api.list(limit=0)
    assert "limit" in refused.value.message


async def test_retry_a_cancelled_task_runs_it(api: Api) -> None:
    ref = await api.submit("echo", "again", delay=60)
    await api.cancel(ref.id)
    again = await api.retry(ref.id)
    assert (again.id, again.status) == (ref.id, "queued")
    done = await api.wait(ref.id, 10)
    assert (done.status, done.result) == ("done", {"echo": "again", "attempt": 1})


async def test_retry_a_failed_task(api: Api) -> None:
    ref = await api.submit("boom", 1)
    failed = await api.wait(ref.id, 10)
    assert (failed.status, failed.error) == ("failed", "ValueError: cannot handle 1")
    assert (await api.retry(ref.id)).status == "queued"
    assert (await api.wait(ref.id, 10)).status == "failed"


async def test_a_done_task_is_not_retryable(api: Api) -> None:
    ref = await api.submit("echo", 1)
    await api.wait(ref.id, 10)
    with pytest.raises(NotRetryable) as refused:
        await api.retry(ref.id)
    assert (refused.value.status, refused.value.code) == (409, "not_retryable")
    assert refused.value.message.startswith(f"task {ref.id} is done")
    with pytest.raises(NotFound):
        await api.retry("0123")


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Server]:
    env = {"SERVICE_STORE": "memory", "SERVICE_WRITE_TOKENS": "w1,w2", "SERVICE_READ_TOKENS": "r1"}
    with Server(tmp_path, env) as server:
        yield server


async def test_tokens(guarded: Server, connect: Connect) -> None:
    writer, reader = connect(guarded.url, token="w2"), connect(guarded.url, token="r1")
    ref = await writer.submit("echo", 1, delay=60)
    assert (await reader.get(ref.id)).id == ref.id
    with pytest.raises(Forbidden) as forbidden:
        await reader.submit("echo", 2)
    assert (forbidden.value.status, forbidden.value.code) == (403, "forbidden")
    with pytest.raises(Forbidden):
        await reader.cancel(ref.id)
    assert (await writer.cancel(ref.id)).status == "cancelled"
    for stranger in (connect(guarded.url), connect(guarded.url, token="nope")):
        with pytest.raises(Unauthorized) as unauthorized:
            await stranger.get(ref.id)
        assert (unauthorized.value.status, unauthorized.value.code) == (401, "unauthorized")
