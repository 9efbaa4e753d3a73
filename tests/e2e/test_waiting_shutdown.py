"""Waiters across a drain on real Hypercorn: they never hold the shutdown up.

On SIGTERM, Hypercorn stops accepting and gives open requests `graceful_timeout` before it
tells the app to stop. The workers still run meanwhile: a waiter whose task ends in that
time gets its answer. One still waiting then has its connection closed with no answer.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.server import Server

MEMORY = {"SERVICE_STORE": "memory"}


def wait_in_background(server: Server, task_id: str) -> tuple[threading.Thread, list[object]]:
    outcome: list[object] = []

    def wait() -> None:
        try:
            response = httpx.get(f"{server.url}/task/{task_id}?wait=60", timeout=90)
            outcome.append(response.json() if response.content else response)
        except httpx.TransportError as error:
            outcome.append(error)
        outcome.append(time.monotonic())

    thread = threading.Thread(target=wait)
    thread.start()
    return thread, outcome


def test_a_waiter_is_answered_when_its_task_ends_during_the_graceful_time(
    tmp_path: Path,
) -> None:
    with Server(tmp_path, MEMORY) as server:
        task_id = server.post("/task?type=sleep", 1.5).json()["id"]
        thread, outcome = wait_in_background(server, task_id)
        time.sleep(0.3)
        assert server.stop(signal.SIGTERM) == 0
        thread.join(10)
    [answer, _] = outcome
    assert isinstance(answer, dict) and answer["status"] == "done"


def test_a_waiter_still_waiting_is_cut_at_the_graceful_timeout(tmp_path: Path) -> None:
    with Server(tmp_path, MEMORY, "--graceful-timeout", "2") as server:
        task_id = server.post("/task?type=echo&delay=300", 1).json()["id"]
        thread, outcome = wait_in_background(server, task_id)
        time.sleep(0.3)
        signalled = time.monotonic()
        assert server.stop(signal.SIGTERM) == 0
        stopped = time.monotonic()
        thread.join(10)
    [answer, answered_at] = outcome
    assert isinstance(answer, httpx.Response), answer
    assert (answer.status_code, answer.content) == (500, b"")
    assert answer.headers["Connection"] == "close"
    assert isinstance(answered_at, float) and 1.8 < answered_at - signalled < 4
    assert stopped - signalled < 6, "the waiter held the shutdown up"
    assert "Traceback" not in server.log()
