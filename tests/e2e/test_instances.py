"""Several instances on one store (an SQLite file, a PostgreSQL database), on real Hypercorn.

Each instance is a process with its own lease; the tests kill, stop, stall and terminate
them and check that every task runs, none twice at once, and none is lost.
"""

from __future__ import annotations

import signal
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.e2e.instances import LEASE, instances, runs, shared_store, wait_until

BACKENDS = ["sqlite", "postgresql"]


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return shared_store(request.param, request, tmp_path)


def post_spans(url: str, count: int, seconds: float, **params: str) -> list[str]:
    query = "&".join(f"{key}={value}" for key, value in {"type": "span", **params}.items())
    response = httpx.post(f"{url}/tasks?{query}", json=[seconds] * count, timeout=10)
    assert response.status_code == 202, response.text
    ids: list[str] = response.json()["ids"]
    return ids


def test_work_flows_to_whoever_is_free(store: str, tmp_path: Path) -> None:
    with instances(3, tmp_path, store) as servers:
        first = servers[0]
        posted = time.monotonic()
        ids = post_spans(first.url, 300, 0.1)
        records = first.wait_done(ids, timeout=60)
        pids = {server.process.pid: server for server in servers if server.process}
    assert {record["status"] for record in records.values()} == {"done"}
    found = runs(tmp_path)
    assert sorted(found) == sorted(ids) and {len(each) for each in found.values()} == {1}
    by_pid = Counter(each[0].pid for each in found.values())
    assert set(by_pid) == set(pids), by_pid
    assert min(by_pid.values()) >= 45, f"an unfair share: {by_pid}"
    first_start = {pid: min(r[0].start for r in found.values() if r[0].pid == pid) for pid in pids}
    assert max(first_start.values()) - posted < 2.0, "an idle instance took over a second"


def test_a_dead_instance_s_tasks_run_elsewhere(store: str, tmp_path: Path) -> None:
    with instances(2, tmp_path, store, SERVICE_CONCURRENCY="4") as (doomed, other):
        ids = post_spans(doomed.url, 4, 30)  # the doomed instance starts all four at once
        wait_until(lambda: len(runs(tmp_path)) == 4, 10, "the four tasks started")
        assert doomed.process is not None
        doomed.stop(signal.SIGKILL)
        killed = time.monotonic()
        wait_until(
            lambda: sum(len(each) for each in runs(tmp_path).values()) == 8,
            LEASE + 2 + 2,
            "the dead instance's tasks started again elsewhere",
        )
        restarted = max(each[-1].start for each in runs(tmp_path).values())
        assert restarted - killed <= LEASE + 2
        for run in (each[-1] for each in runs(tmp_path).values()):
            assert run.attempt == 2 and run.pid == other.process.pid  # type: ignore[union-attr]
        assert [other.get(f"/task/{task_id}").json()["status"] for task_id in ids] == [
            "running"
        ] * 4


def test_a_stalled_instance_finds_its_tasks_taken(store: str, tmp_path: Path) -> None:
    env = {"SERVICE_CONCURRENCY": "4", "SERVICE_MAX_ATTEMPTS": "3"}
    with instances(2, tmp_path, store, **env) as (stalled, other):
        assert stalled.process is not None and other.process is not None
        ids = post_spans(stalled.url, 4, 1.5)  # started at once by the stalled instance
        wait_until(lambda: len(runs(tmp_path)) == 4, 10, "the four tasks started")
        more = post_spans(other.url, 40, 0.2)
        stalled.process.send_signal(signal.SIGSTOP)
        stopped = time.monotonic()
        time.sleep(LEASE + 2.5)
        stalled.process.send_signal(signal.SIGCONT)
        records = other.wait_done(ids + more, timeout=60)
        rejoined = "this process's lease ran out"
        wait_until(lambda: rejoined in stalled.log(), 5, "the stalled instance rejoined")
        more_later = post_spans(stalled.url, 8, 0.1)  # it rejoined with a fresh lease
        records.update(other.wait_done(more_later, timeout=30))
        assert stalled.stop() == 0 and other.stop() == 0
    found = runs(tmp_path)
    held_at_stop = {
        task_id
        for task_id, each in found.items()
        if each[0].pid == stalled.process.pid and each[0].start < stopped
    }
    assert held_at_stop == set(ids)
    twice = {task_id for task_id, each in found.items() if len(each) > 1}
    assert twice <= held_at_stop, "a task that was not running at the stop ran twice"
    for task_id in ids:  # taken over by the other instance; the stalled one's result discarded
        assert records[task_id]["status"] == "done"
        assert records[task_id]["result"] == other.process.pid
    # The other instance had run all of `more` before the stalled one woke up: a run of
    # one of them by the stalled instance would have been a start on a lapsed lease.
    assert {run.pid for task_id in more for run in found[task_id]} == {other.process.pid}
    assert {records[task_id]["status"] for task_id in more + more_later} == {"done"}
    assert "lease" in stalled.log() and "discarded" in stalled.log()


def test_sigterm_hands_back_and_drains_its_own(store: str, tmp_path: Path) -> None:
    with instances(2, tmp_path, store, SERVICE_CONCURRENCY="2") as (leaving, staying):
        assert leaving.process is not None and staying.process is not None
        ids = post_spans(leaving.url, 2, 1.0)  # running on the leaving instance
        wait_until(lambda: len(runs(tmp_path)) == 2, 10, "two tasks started")
        queued = post_spans(leaving.url, 6, 0.5)
        assert leaving.stop() == 0
        records = staying.wait_done(ids + queued, timeout=30)
    assert [records[task_id]["result"] for task_id in ids] == [leaving.process.pid] * 2
    assert {records[task_id]["status"] for task_id in ids + queued} == {"done"}
    found = runs(tmp_path)
    assert {len(each) for each in found.values()} == {1}
    assert "stopped after" in leaving.log()


def test_every_instance_sees_and_cancels_every_task(store: str, tmp_path: Path) -> None:
    with instances(2, tmp_path, store, SERVICE_CONCURRENCY="1") as (first, second):
        [blocker] = post_spans(first.url, 1, 2.0)
        [waiting] = post_spans(first.url, 1, 0.1, delay="1")
        seen = second.get(f"/task/{waiting}")
        assert seen.status_code == 200 and seen.json()["status"] == "queued"
        cancelled = httpx.delete(f"{second.url}/task/{waiting}", timeout=10)
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert first.get(f"/task/{waiting}").json()["status"] == "cancelled"
        busy = httpx.delete(f"{second.url}/task/{blocker}", timeout=10)
        assert busy.status_code == 409
        first.wait_done([blocker])
        time.sleep(1.2)
    assert waiting not in runs(tmp_path)


def test_one_idempotency_key_at_two_instances_makes_one_task(store: str, tmp_path: Path) -> None:
    with instances(2, tmp_path, store) as servers:
        with httpx.Client(timeout=10) as client:
            answers = []
            for attempt in range(20):
                headers = {"Idempotency-Key": f"key-{attempt}"}
                pair = [
                    client.post(f"{server.url}/task?type=span", json=0.01, headers=headers)
                    for server in servers
                ]
                answers.append(pair)
        for first, second in answers:
            assert {first.status_code, second.status_code} == {200, 202}
            assert first.json()["id"] == second.json()["id"]
        servers[0].wait_done([first.json()["id"] for first, _ in answers])
    assert len(runs(tmp_path)) == 20


def test_a_delayed_task_runs_on_time_when_its_acceptor_is_gone(store: str, tmp_path: Path) -> None:
    with instances(2, tmp_path, store) as (acceptor, other):
        sent = time.monotonic()
        [task_id] = post_spans(acceptor.url, 1, 0.01, delay="2")
        posted = time.monotonic()
        acceptor.stop(signal.SIGKILL)
        [record] = other.wait_done([task_id], timeout=10).values()
        assert record["status"] == "done"
    [run] = runs(tmp_path)[task_id]
    # Due 2 s after it was created, which is between sending the request and its answer.
    assert run.start - sent >= 2.0 - 0.05
    assert run.start - posted <= 2.0 + 1.5
