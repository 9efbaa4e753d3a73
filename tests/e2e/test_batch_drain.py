"""A batch handler's partial batch on real Hypercorn: SIGTERM runs it before the exit."""

from __future__ import annotations

import re
import signal
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.e2e.server import Server

PATIENT = 3
"""Tasks of the `patient` type, which waits a minute for a batch of 50."""


def summary(log: str) -> dict[str, int]:
    line = re.search(r"stopped after .*", log)
    assert line, log
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(0))}


@pytest.mark.parametrize("store", ["memory", "sqlite"])
def test_sigterm_runs_the_partial_batch_it_holds(tmp_path: Path, store: str) -> None:
    database = tmp_path / "tasks.db"
    env = {
        "SERVICE_HANDLERS": "tests.batch_handlers",
        "SERVICE_STORE": "memory" if store == "memory" else f"sqlite:///{database}",
        "SERVICE_DRAIN_TIMEOUT": "10",
    }
    with Server(tmp_path, env) as server:
        response = server.post("/tasks?type=patient", list(range(PATIENT)))
        assert response.status_code == 202, response.text
        ids = response.json()["ids"]
        deadline = time.monotonic() + 10
        while any(server.get(f"/task/{i}").json()["status"] != "running" for i in ids):
            assert time.monotonic() < deadline, "the tasks were never claimed"
            time.sleep(0.02)
        assert server.journal_lines() == []  # claimed, and waiting for 47 more
        began = time.monotonic()
        assert server.stop(signal.SIGTERM) == 0
        elapsed = time.monotonic() - began
        log = server.log()
    assert elapsed < 10, f"the drain took {elapsed:.1f} s"
    [call] = server.journal_lines()
    assert sorted(call.split()) == sorted(f"{task_id}:1" for task_id in ids)  # one batch
    counts = summary(log)
    assert (counts["done"], counts["abandoned"], counts["released"]) == (PATIENT, 0, 0)
    if store == "sqlite":
        with closing(sqlite3.connect(database)) as db:
            rows = db.execute("SELECT status, result FROM tasks ORDER BY seq").fetchall()
        assert rows == [("done", b'"ran"')] * PATIENT
