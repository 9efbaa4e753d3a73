"""Requests still open when Hypercorn's graceful_timeout passes: cut, one log line, exit 0."""

from __future__ import annotations

import signal
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server
from tests.e2e.test_slow_clients import read_until_closed, stalled

GRACE = ("--graceful-timeout", "1")
CUT_LINE = "shutdown cut 1 connection(s) with a request still unanswered"


def assert_quiet_log(server: Server) -> None:
    log = server.log()
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert "Task exception was never retrieved" not in log, log
    assert CUT_LINE in log, log


def test_a_slow_upload_cut_at_shutdown_logs_one_line(tmp_path: Path) -> None:
    env = {"SERVICE_STORE": "memory", "SERVICE_BODY_TIMEOUT": "30"}
    with Server(tmp_path, env, *GRACE) as server, stalled(server, b"[1, 2") as sock:
        time.sleep(0.2)
        assert server.stop() == 0
        answer = read_until_closed(sock, 5)
    assert_quiet_log(server)
    assert answer.startswith(b"HTTP/1.1 500 ")
    assert b"connection: close" in answer and answer.endswith(b"\r\n\r\n")
    assert server.journal() == []


@contextmanager
def locked(database: Path) -> Iterator[None]:
    """Hold SQLite's write lock, so that the service's next write waits on it."""
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def in_background(call: Callable[[], httpx.Response]) -> list[object]:
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(call())
        except httpx.HTTPError as error:
            outcome.append(error)

    threading.Thread(target=run, daemon=True).start()
    return outcome


@pytest.mark.parametrize("route", ["intake", "quart"])
def test_a_request_waiting_on_the_store_cut_at_shutdown_logs_one_line(
    tmp_path: Path, route: str
) -> None:
    database = tmp_path / "tasks.db"
    with Server(tmp_path, {"SERVICE_STORE": f"sqlite:///{database}"}, *GRACE) as server:
        delayed = server.post("/task?type=journal&delay=60", 1).json()["id"]
        with locked(database):
            if route == "intake":
                outcome = in_background(lambda: server.post("/task?type=journal", 2))
            else:
                outcome = in_background(lambda: httpx.delete(f"{server.url}/task/{delayed}"))
            time.sleep(0.3)
            assert outcome == [], "the request did not wait on the store"
            assert server.process is not None
            server.process.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 10
            while not outcome and time.monotonic() < deadline:
                time.sleep(0.05)
        assert server.process.wait(timeout=30) == 0
    assert_quiet_log(server)
    [response] = outcome
    assert isinstance(response, httpx.Response) and response.status_code == 500
    assert response.content == b""


def test_an_idle_connection_is_not_a_cut(tmp_path: Path) -> None:
    with Server(tmp_path, {"SERVICE_STORE": "memory"}, *GRACE) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as idle:
            assert server.stop() == 0
            assert read_until_closed(idle, 5) == b""
    assert "shutdown cut" not in server.log()
