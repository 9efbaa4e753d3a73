"""`wait` across a restart of the service: the waiter asks again until the task is done."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from tests.client.support import Api, Connect
from tests.e2e.server import Server

ENV = {"SERVICE_DRAIN_TIMEOUT": "1"}
"""SQLite; the drain gives the running task back to the store after a second."""


def in_place_of(server: Server) -> Server:
    """A service on the same port and the same SQLite file."""
    successor = Server(server.workdir, ENV)
    successor.port, successor.url, successor.log_path = server.port, server.url, server.log_path
    return successor


async def until_running(api: Api, task_id: str) -> None:
    deadline = time.monotonic() + 10
    while (await api.get(task_id)).status != "running":
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)


async def test_wait_rides_out_a_restart(tmp_path: Path, connect: Connect) -> None:
    with Server(tmp_path, ENV) as first:
        api = connect(first.url)
        ref = await api.submit("slow_once", str(tmp_path / "ran-once"))
        await until_running(api, ref.id)
        waiter = asyncio.create_task(api.wait(ref.id, timeout=90))
        await asyncio.sleep(0.5)  # the waiter's request is in flight
        assert await asyncio.to_thread(first.stop) == 0
        assert not waiter.done(), waiter
        second = in_place_of(first)
        try:
            await asyncio.to_thread(second.start)
            task = await asyncio.wait_for(waiter, 60)
        finally:
            second.__exit__(None, None, None)
    assert (task.id, task.status, task.result) == (ref.id, "done", "second run")
