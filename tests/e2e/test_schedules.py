"""Schedules on real Hypercorn: one task per tick with several processes and instances,
catch-up after a pause, and a bad schedule stopping start-up."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from collections import defaultdict
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from service import Settings, Task
from service.store import open_store
from tests.e2e.instances import instances, shared_store, wait_until
from tests.e2e.server import Server

HANDLERS = "tests.sample_handlers,tests.schedule_env"
RUN = 10.0


def schedules(*declared: dict[str, Any]) -> dict[str, str]:
    return {
        "SERVICE_HANDLERS": HANDLERS,
        "SERVICE_SCHEDULE_INTERVAL": "0.2",
        "SCHEDULES": json.dumps(list(declared)),
    }


def scheduled_tasks(store: str) -> dict[str, list[Task]]:
    """The tasks the ticks made, by schedule, in due order: read from the store itself."""

    async def read() -> list[Task]:
        opened = open_store(Settings(store=store))
        await opened.open()
        try:
            return await opened.list_tasks(type="echo", limit=1000)
        finally:
            await opened.close()

    found: dict[str, list[Task]] = defaultdict(list)
    for task in sorted(asyncio.run(read()), key=lambda task: task.payload["due"]):
        found[task.payload["schedule"]].append(task)
    return found


def dues(tasks: list[Task]) -> list[float]:
    """Each task's tick, which its payload carries."""
    return [datetime.fromisoformat(task.payload["due"]).timestamp() for task in tasks]


def assert_one_task_per_tick(found: list[float], began: float, ended: float) -> int:
    """No tick twice, none skipped; as many as whole seconds passed while all ran (±1)."""
    assert len(set(found)) == len(found), "a tick ran twice"
    assert all(b - a == 1.0 for a, b in zip(found, found[1:], strict=False)), f"a gap: {found}"
    inside = [due for due in found if began < due <= ended]
    expected = int(ended) - int(began)
    assert abs(len(inside) - expected) <= 1, (len(inside), expected)
    return len(inside)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_one_task_per_tick(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = shared_store(backend, request, tmp_path)
    env = {"SERVICE_STORE": store, **schedules({"name": "beat", "type": "echo", "every": 1})}
    with ExitStack() as stack:
        if backend == "sqlite":  # two processes of one Hypercorn on one file
            server = stack.enter_context(Server(tmp_path, env, "--workers", "2"))
            servers = [server]
            owners = tmp_path / "tasks.db"
            wait_until(lambda: owner_count(owners) == 2, 20, "both processes started")
        else:  # three instances on one database
            servers = stack.enter_context(instances(3, tmp_path, store, **env))
        began = time.time()
        time.sleep(RUN)
        ended = time.time()
        for each in servers:
            assert each.stop(signal.SIGTERM) == 0
    found = scheduled_tasks(store)
    assert list(found) == ["beat"]
    inside = assert_one_task_per_tick(dues(found["beat"]), began, ended)
    with capsys.disabled():
        print(
            f"\n{backend}: {len(found['beat'])} tasks, {len(found['beat'])} ticks in all; "
            f"{inside} ticks while every process ran {ended - began:.2f} s"
        )


def owner_count(path: Path) -> int:
    try:
        with sqlite3.connect(path) as connection:
            count: int = connection.execute("SELECT count(*) FROM owners").fetchone()[0]
            return count
    except sqlite3.Error:
        return 0


def test_catch_up_after_a_pause_of_five_periods(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'tasks.db'}"
    env = {
        "SERVICE_STORE": store,
        **schedules(
            {"name": "all", "type": "echo", "every": 1, "catch_up": "all"},
            {"name": "latest", "type": "echo", "every": 1},
            {"name": "none", "type": "echo", "every": 1, "catch_up": "none"},
        ),
    }
    with Server(tmp_path, env) as server:
        time.sleep(3)
        assert server.stop() == 0
    stopped = time.time()
    time.sleep(5.5)
    with Server(tmp_path, env) as server:
        time.sleep(3)
        assert server.stop() == 0
    found = {name: dues(tasks) for name, tasks in scheduled_tasks(store).items()}
    before = {name: max(due for due in each if due <= stopped) for name, each in found.items()}
    after = {name: [due for due in each if due > stopped] for name, each in found.items()}
    # all: every missed tick ran, so the ticks have no gap.
    assert all(b - a == 1.0 for a, b in zip(found["all"], found["all"][1:], strict=False))
    assert after["all"][0] == before["all"] + 1 and len(after["all"]) >= 8
    # none: no missed tick ran: the first after the pause fell due after the restart.
    assert after["none"][0] - before["none"] >= 6
    # latest: the most recent missed tick ran, alone: one second before none's first.
    assert after["latest"][0] == after["none"][0] - 1
    assert after["latest"][0] - before["latest"] >= 5
    for name in ("latest", "none"):
        rest = after[name]
        assert all(b - a == 1.0 for a, b in zip(rest, rest[1:], strict=False)), name


def test_a_bad_schedule_stops_start_up(tmp_path: Path) -> None:
    env = {
        "SERVICE_STORE": "memory",
        **schedules({"name": "nightly", "type": "echo", "cron": "0 3 * *"}),
    }
    server = Server(tmp_path, env)
    process = server.launch()
    assert process.wait(timeout=30) != 0
    assert "start-up failed: schedule 'nightly' in tests.schedule_env: cron must have five" in (
        server.log()
    )
