"""Tasks that finish while another process holds the database past the busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
from pathlib import Path
from typing import Any

from service import Settings, create_app
from service.core import TaskService
from service.store.sqlite import BUSY_TIMEOUT_MS
from tests import sample_handlers

HOLD = BUSY_TIMEOUT_MS / 1000 + 1.5

LOCKER = """
import sqlite3, sys, time
connection = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=10)
connection.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
connection.execute("ROLLBACK")
"""


def stored(path: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT id, status, attempts FROM tasks").fetchall()
    return {task_id: (status, attempts) for task_id, status, attempts in rows}


async def test_states_recorded_under_a_long_lock_are_written_after_it(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    settings = Settings(
        store=f"sqlite:///{path}",
        handlers=("tests.sample_handlers",),
        drain_timeout=5,
        concurrency=20,
    )
    app = create_app(settings)
    async with app.test_app():
        service: TaskService = app.extensions["task_service"]
        response = await app.test_client().post("/tasks?type=gated", json=list(range(20)))
        assert response.status_code == 202
        ids: list[str] = (await response.get_json())["ids"]
        await service.store.flush()
        assert stored(path) == {task_id: ("running", 1) for task_id in ids}  # all started

        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(path), str(HOLD), stdout=asyncio.subprocess.PIPE
        )
        assert locker.stdout is not None
        assert await locker.stdout.readline() == b"locked\n"
        sample_handlers.gate.set()  # the tasks finish while the lock is held
        async with asyncio.timeout(5):
            while service.pool.held:
                await asyncio.sleep(0.01)
        assert await locker.wait() == 0
        await asyncio.wait_for(service.store.flush(), 10)
        assert stored(path) == {task_id: ("done", 1) for task_id in ids}

    sample_handlers.seen.clear()
    again = create_app(settings)
    async with again.test_app():
        service = again.extensions["task_service"]
        await service.store.flush()
        assert service.pool.held == {}
    assert sample_handlers.seen == []  # nothing ran a second time
    assert stored(path) == {task_id: ("done", 1) for task_id in ids}


async def test_a_caller_gets_an_answer_while_the_lock_is_held(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    settings = Settings(store=f"sqlite:///{path}", handlers=("tests.sample_handlers",))
    app = create_app(settings)
    async with app.test_app():
        locker = await asyncio.create_subprocess_exec(
            sys.executable, "-c", LOCKER, str(path), str(HOLD), stdout=asyncio.subprocess.PIPE
        )
        assert locker.stdout is not None
        assert await locker.stdout.readline() == b"locked\n"
        refused: Any = await app.test_client().post("/task?type=echo", json=1)
        assert refused.status_code == 503
        assert (await refused.get_json())["error"] == "store_unavailable"
        assert await locker.wait() == 0
        accepted = await app.test_client().post("/task?type=echo", json=2)
        assert accepted.status_code == 202
