"""Shutdown is bounded whatever the handlers do, on real Hypercorn."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.e2e.server import Server
from tests.e2e.test_lifecycle import summary

STORES = {"memory": "memory", "sqlite": "sqlite:///tasks.db"}


@pytest.mark.parametrize("store", STORES)
def test_a_hung_plain_handler_does_not_hold_up_the_exit(tmp_path: Path, store: str) -> None:
    env = {"SERVICE_STORE": STORES[store], "SERVICE_DRAIN_TIMEOUT": "1"}
    with Server(tmp_path, env) as server:
        assert server.post("/tasks?type=hang_plain", [120, 120]).status_code == 202
        began = time.monotonic()
        assert server.stop() == 0
        elapsed = time.monotonic() - began
    counts = summary(server.log())
    assert elapsed < 8, f"the exit took {elapsed:.1f} s"
    kept = "released" if store == "sqlite" else "abandoned"
    assert counts[kept] == 2 and counts["done"] == 0


@pytest.mark.parametrize("store", STORES)
def test_a_handler_that_ignores_cancellation_does_not_hold_the_process(
    tmp_path: Path, store: str
) -> None:
    env = {"SERVICE_STORE": STORES[store], "SERVICE_DRAIN_TIMEOUT": "1"}
    with Server(tmp_path, env) as server:
        ids = server.post("/tasks?type=stubborn", [1, 2]).json()["ids"]
        while server.get(f"/task/{ids[1]}").json()["status"] != "running":
            time.sleep(0.01)
        began = time.monotonic()
        code = server.stop()
        elapsed = time.monotonic() - began
    log = server.log()
    assert code == 1, log
    assert elapsed < 10, f"the exit took {elapsed:.1f} s"
    counts = summary(log)
    kept = "released" if store == "sqlite" else "abandoned"
    assert counts[kept] == 2, log
    assert "2 handlers ignored their cancellation at the drain deadline" in log
    assert "exiting: 2 handlers still ignore their cancellation" in log
    if store == "sqlite":
        with Server(tmp_path, {"SERVICE_STORE": STORES[store]}) as restarted:
            statuses = {restarted.get(f"/task/{task_id}").json()["status"] for task_id in ids}
            assert statuses <= {"queued", "running"}
