"""The SQLite store on real Hypercorn: kill -9, drain past the deadline, full disk, 2 workers."""

from __future__ import annotations

import errno
import signal
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.server import Server
from tests.e2e.soak import kill9_round

CI_ROUNDS = 3


@pytest.mark.parametrize("seed", range(CI_ROUNDS))
def test_kill9_during_intake_loses_no_acknowledged_task(tmp_path: Path, seed: int) -> None:
    acknowledged, _ = kill9_round(tmp_path, seed)
    assert acknowledged > 0


def test_kill9_of_one_of_three_postgresql_instances_loses_no_acknowledged_task(
    tmp_path: Path, postgres_url: str
) -> None:
    acknowledged, _ = kill9_round(tmp_path, seed=7, store=postgres_url, instances=3)
    assert acknowledged > 0


def test_task_running_at_kill9_runs_again_with_the_next_attempt(tmp_path: Path) -> None:
    env = {"JOURNAL_DELAY": "60", "SERVICE_LEASE_TIMEOUT": "60"}
    with Server(tmp_path, env) as server:
        task_id = server.post("/task?type=journal", {}).json()["id"]
        while server.get(f"/task/{task_id}").json()["status"] != "running":
            pass
        server.stop(signal.SIGKILL, group=True)
    # The dead process's lease would last a minute, but its pid is gone from this host.
    with Server(tmp_path) as restarted:
        record = restarted.wait_done([task_id], timeout=10)[task_id]
        assert restarted.stop() == 0
    assert record["status"] == "done" and record["attempts"] == 2
    assert [(run_id, attempt) for run_id, attempt in restarted.journal()] == [(task_id, 2)]


def test_sigterm_past_the_deadline_gives_tasks_back_without_using_an_attempt(
    tmp_path: Path,
) -> None:
    env = {"JOURNAL_DELAY": "60", "SERVICE_DRAIN_TIMEOUT": "1", "SERVICE_CONCURRENCY": "2"}
    with Server(tmp_path, env) as server:
        ids = server.post("/tasks?type=journal", [1, 2, 3, 4]).json()["ids"]
        assert server.stop() == 0
        # Two attempts were running: given back; the other two never left the queue.
        assert "abandoned=0 (run again once the lease runs out) released=2" in server.log()
    with Server(tmp_path) as restarted:
        records = restarted.wait_done(ids, timeout=10)
        assert restarted.stop() == 0
    assert [records[task_id]["attempts"] for task_id in ids] == [1, 1, 1, 1]
    assert sorted(restarted.journal()) == sorted((task_id, 1) for task_id in ids)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 2 MiB filesystem, so that the disk can really fill up."""
    disk = tmp_path / "disk"
    disk.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], check=True)
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=True)


def fill(disk: Path) -> Path:
    filler = disk / "filler"
    with open(filler, "wb") as file:
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC
    return filler


def test_full_disk_answers_503_and_acknowledges_nothing(small_disk: Path) -> None:
    env = {"SERVICE_STORE": f"sqlite:///{small_disk / 'tasks.db'}"}
    with Server(small_disk.parent, env) as server:
        assert server.post("/task?type=echo", "fits").status_code == 202
        filler = fill(small_disk)
        big = "x" * 200_000
        refused = [server.post("/task?type=echo", big) for _ in range(5)]
        assert [response.status_code for response in refused] == [503] * 5
        assert {response.json()["error"] for response in refused} == {"store_unavailable"}
        filler.unlink()
        again = server.post("/task?type=echo", big)
        assert again.status_code == 202
        server.wait_done([again.json()["id"]])
        assert server.stop() == 0


def test_two_workers_run_every_task_exactly_once(tmp_path: Path) -> None:
    env = {"JOURNAL_DELAY": "0.002", "SERVICE_CONCURRENCY": "2"}
    with Server(tmp_path, env, "--workers", "2") as server:
        ids = []
        for _ in range(60):
            response = server.post("/tasks?type=journal", list(range(10)))
            assert response.status_code == 202
            ids += response.json()["ids"]
        server.wait_done(ids)
        assert server.stop() == 0
    runs = Counter(task_id for task_id, _ in server.journal())
    assert set(runs) == set(ids) and set(runs.values()) == {1}
    assert server.log().count("serving with store=sqlite") == 2
