"""Signals, drain and start-up on real Hypercorn, as a user runs it."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.server import Server

MEMORY = {"SERVICE_STORE": "memory"}


def enqueue(server: Server, count: int, query: str = "type=journal") -> list[str]:
    ids: list[str] = []
    for start in range(0, count, 100):
        response = server.post(f"/tasks?{query}", list(range(start, min(count, start + 100))))
        assert response.status_code == 202, response.text
        ids += response.json()["ids"]
    return ids


def summary(log: str) -> dict[str, int]:
    line = re.search(r"stopped after .*", log)
    assert line, log
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(0))}


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("group", [False, True], ids=["process", "group"])
def test_signal_drains_every_queued_task(tmp_path: Path, how: signal.Signals, group: bool) -> None:
    env = {**MEMORY, "JOURNAL_DELAY": "0.002", "SERVICE_CONCURRENCY": "2"}
    with Server(tmp_path, env) as server:
        ids = enqueue(server, 400)
        assert len(server.journal()) < 400, "the test needs tasks still queued at the signal"
        assert server.stop(how, group=group) == 0
        ran = [task_id for task_id, _ in server.journal()]
        assert sorted(ran) == sorted(ids)
        assert summary(server.log())["done"] == 400


def test_drain_deadline_is_kept(tmp_path: Path) -> None:
    env = {**MEMORY, "SERVICE_DRAIN_TIMEOUT": "1", "SERVICE_CONCURRENCY": "2"}
    with Server(tmp_path, env) as server:
        assert server.post("/tasks?type=sleep", [60] * 5).status_code == 202
        began = time.monotonic()
        assert server.stop() == 0
        elapsed = time.monotonic() - began
        counts = summary(server.log())
    assert counts["abandoned"] == 5 and counts["done"] == 0
    assert elapsed < 15, f"drain of 1 s took {elapsed:.1f} s"
    assert "drain deadline of 1.0 s passed" in server.log()


def test_bad_inputs_enqueue_nothing(tmp_path: Path) -> None:
    with Server(tmp_path, {**MEMORY, "SERVICE_MAX_BODY": "1000"}) as server:
        json_header = {"Content-Type": "application/json"}
        cases = [
            (server.url + "/task", {"content": b"{oops", "headers": json_header}, 400),
            (server.url + "/task", {"content": b'"\xff"', "headers": json_header}, 400),
            (
                server.url + "/task",
                {"content": b"{}", "headers": {"Content-Type": "text/plain"}},
                415,
            ),
            (server.url + "/task", {"content": b"1" * 1001, "headers": json_header}, 413),
            (server.url + "/task?type=nope", {"content": b"{}", "headers": json_header}, 422),
            (server.url + "/task?delay=x", {"content": b"{}", "headers": json_header}, 422),
            (server.url + "/nowhere", {"content": b"{}", "headers": json_header}, 404),
        ]
        for url, options, status in cases:
            response = httpx.post(url, timeout=10, **options)  # type: ignore[arg-type]
            assert response.status_code == status, (url, response.text)
            body = response.json()
            assert set(body) == {"error", "message"}
        assert httpx.delete(server.url + "/health").status_code == 405
        assert server.stop() == 0
        assert summary(server.log())["done"] == 0
        assert server.journal() == []


def test_failing_handler_does_not_stop_later_tasks(tmp_path: Path) -> None:
    with Server(tmp_path, {**MEMORY, "SERVICE_CONCURRENCY": "1"}) as server:
        failing = [server.post("/task?type=boom", n).json()["id"] for n in range(3)]
        later = enqueue(server, 10)
        records = server.wait_done(failing + later)
        assert [records[task_id]["status"] for task_id in failing] == ["failed"] * 3
        assert [records[task_id]["status"] for task_id in later] == ["done"] * 10
        assert server.stop() == 0


def test_full_queue_answers_503_with_retry_after(tmp_path: Path) -> None:
    env = {**MEMORY, "SERVICE_QUEUE_MAXSIZE": "3", "SERVICE_DRAIN_TIMEOUT": "0"}
    with Server(tmp_path, env) as server:
        accepted = [server.post("/task?type=sleep", 60).status_code for _ in range(3)]
        full = server.post("/task?type=sleep", 60)
        assert accepted == [202, 202, 202]
        assert full.status_code == 503 and full.json()["error"] == "queue_full"
        assert full.headers["Retry-After"].isdigit()
        assert server.stop() == 0


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SERVICE_CONCURRENCY": "abc"}, "SERVICE_CONCURRENCY must be an integer, got 'abc'"),
        ({"SERVICE_HANDLERS": "no.such.module"}, "cannot import handler module 'no.such.module'"),
        ({"SERVICE_STORE": "mongodb://x"}, "is not a known store"),
    ],
    ids=["bad-setting", "bad-module", "bad-store"],
)
def test_failed_start_up_exits_non_zero(tmp_path: Path, env: dict[str, str], message: str) -> None:
    server = Server(tmp_path, env)
    process = server.launch()
    assert process.wait(timeout=30) != 0
    assert "start-up failed: " in server.log() and message in server.log()
