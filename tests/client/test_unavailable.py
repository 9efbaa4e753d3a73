"""503 answers: retried after Retry-After, `max_retries` times, or raised at once on opt-out."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.client import QueueFull
from tests.client.support import Api, Connect
from tests.e2e.server import Server

TINY = {"SERVICE_STORE": "memory", "SERVICE_QUEUE_MAXSIZE": "1", "SERVICE_CONCURRENCY": "1"}


@pytest.fixture
def tiny(tmp_path: Path) -> Iterator[Server]:
    """A service with room for one unfinished task."""
    with Server(tmp_path, TINY) as server:
        yield server


async def fill(api: Api, seconds: float) -> str:
    """Take the only place in the queue for `seconds`."""
    ref = await api.submit("sleep", seconds)
    assert ref.created
    return ref.id


async def test_queue_full_is_retried_after_retry_after(tiny: Server, connect: Connect) -> None:
    api = connect(tiny.url)
    filler = await fill(api, 1.5)
    began = time.monotonic()
    ref = await api.submit("echo", "after the filler")
    waited = time.monotonic() - began
    assert ref.created
    assert (await api.get(filler)).status == "done", "it got in once the filler was done"
    assert 0.9 < waited < 10, "Retry-After is at least one second"
    assert (await api.wait(ref.id, 10)).result == {"echo": "after the filler", "attempt": 1}


async def test_batches_are_retried_too(tiny: Server, connect: Connect) -> None:
    api = connect(tiny.url)
    await fill(api, 1.5)
    [task_id] = await api.submit_many("echo", ["later"])
    assert (await api.wait(task_id, 10)).status == "done"


async def test_opt_out_raises_queue_full_at_once(tiny: Server, connect: Connect) -> None:
    api = connect(tiny.url, retry_unavailable=False)
    await fill(api, 10)
    began = time.monotonic()
    with pytest.raises(QueueFull) as refused:
        await api.submit("echo", 1)
    assert time.monotonic() - began < 0.9
    error = refused.value
    assert (error.status, error.code) == (503, "queue_full")
    assert error.message.startswith("the queue has room for 0 more tasks, 1 were sent")
    assert error.retry_after is not None and error.retry_after >= 1


async def test_retries_stop_after_max_retries(tiny: Server, connect: Connect) -> None:
    api = connect(tiny.url, max_retries=2)
    await fill(api, 30)
    began = time.monotonic()
    with pytest.raises(QueueFull):
        await api.submit("echo", 1)
    assert 1.9 < time.monotonic() - began < 15, "two pauses of Retry-After (>= 1 s each)"
