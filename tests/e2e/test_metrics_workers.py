"""`GET /metrics` on real Hypercorn with `--workers N`: every process answers the sums."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx

from service.metrics import FLUSH_INTERVAL
from tests.e2e.server import Server
from tests.scrape import Scrape

SENDERS = 4
ROUNDS = 3
SINGLES = 12
"""Per sender and round: single POST /task, then one POST /tasks of BATCH tasks."""
BATCH = 10
PER_ROUND = SENDERS * (SINGLES + BATCH)
SENT = ROUNDS * PER_ROUND
SUBMITTED = "service_tasks_submitted_total"
ACCEPTED = (SUBMITTED, frozenset({("type", "journal"), ("outcome", "accepted")}))
DONE = {"type": "journal", "status": "done"}
FLUSHED = FLUSH_INTERVAL + 0.5
"""Seconds after which every process's counts so far are in any process's scrape."""


def environment(tmp_path: Path) -> tuple[dict[str, str], Path]:
    directory = tmp_path / "metrics"
    directory.mkdir()
    env = {
        "SERVICE_STORE": f"sqlite:///{tmp_path / 'tasks.db'}",
        "PROMETHEUS_MULTIPROC_DIR": str(directory),
        "JOURNAL_DELAY": "0.002",
    }
    return env, directory


def scrape(server: Server) -> Scrape:
    response = httpx.get(f"{server.url}/metrics", timeout=10)  # a new connection: any process
    assert response.status_code == 200, response.text
    return Scrape(response.text)


def send(server: Server, answers: list[int], rounds: threading.Barrier) -> None:
    """Rounds of requests, each on a connection of its own; all wait for the scrape between."""
    for round in range(ROUNDS):
        if round:
            rounds.wait(timeout=60)
        for number in range(SINGLES):
            answers.append(httpx.post(f"{server.url}/task?type=journal", json=number).status_code)
        answers.append(httpx.post(f"{server.url}/tasks?type=journal", json=[0] * BATCH).status_code)


def test_counters_add_up_over_two_workers(tmp_path: Path) -> None:
    env, _ = environment(tmp_path)
    with Server(tmp_path, env, "--workers", "2") as server:
        answers: list[int] = []
        rounds = threading.Barrier(SENDERS + 1)
        senders = [
            threading.Thread(target=send, args=(server, answers, rounds)) for _ in range(SENDERS)
        ]
        for sender in senders:
            sender.start()
        during = []
        for _ in range(ROUNDS - 1):
            rounds.wait(timeout=60)  # every sender has sent its round and sends the next now
            time.sleep(FLUSHED)
            during.append(scrape(server))
        for sender in senders:
            sender.join(timeout=60)
        assert answers == [202] * (SENDERS * ROUNDS * (SINGLES + 1))
        after = scrape(server)
        deadline = time.monotonic() + 30
        while (
            after.value("service_tasks_finished_total", **DONE) < SENT
            or after.value("service_queue_depth") + after.value("service_tasks_running") > 0
        ):
            assert time.monotonic() < deadline, after.samples
            time.sleep(0.1)
            after = scrape(server)
        time.sleep(FLUSHED)
        after = scrape(server)
        settled = [scrape(server) for _ in range(6)]
        server.stop()
    first, second = (each.counters() for each in during)
    assert all(second.get(key, 0) >= value for key, value in first.items())
    assert PER_ROUND <= first[ACCEPTED] and 2 * PER_ROUND <= second[ACCEPTED] <= SENT
    assert after.value(SUBMITTED) == after.value(SUBMITTED, type="journal", outcome="accepted")
    assert after.value(SUBMITTED) == SENT
    assert after.value("service_tasks_finished_total") == SENT
    requests = "service_http_request_duration_seconds_count"
    assert after.value(requests, route="/task", method="POST") == SENDERS * ROUNDS * SINGLES
    assert after.value(requests, route="/tasks", method="POST") == SENDERS * ROUNDS
    assert after.value("service_attempt_duration_seconds_count", type="journal") == SENT
    assert after.value("service_tasks_in_progress") == 0
    assert after.value("service_build_info") == 1
    # Read from the store at each scrape (the loop above waited for them to come to 0).
    for each in [*during, after]:
        assert {"service_queue_depth", "service_queue_oldest_due_age_seconds"} <= each.names
    # Whichever process answers, the sums are the same (but for the scrapes themselves).
    tallies = [
        {
            key: value
            for key, value in each.counters().items()
            if ("route", "/metrics") not in key[1]
        }
        for each in settled
    ]
    assert all(tally == tallies[0] for tally in tallies)
    pids = {line.split()[2] for line in (tmp_path / "journal.txt").read_text().splitlines()}
    assert len(pids) == 2, "both processes ran tasks"


def test_an_idle_process_counts_reach_the_others_scrapes(tmp_path: Path) -> None:
    env, _ = environment(tmp_path)
    with Server(tmp_path, env, "--workers", "2") as server:
        with httpx.Client() as client:  # one connection: one process gets all the tasks
            for number in range(5):
                assert client.post(f"{server.url}/task?type=journal", json=number).is_success
        time.sleep(FLUSHED)
        scrapes = [scrape(server) for _ in range(6)]  # a new connection each: either process
    assert [each.value(SUBMITTED) for each in scrapes] == [5] * 6


def test_a_stopped_process_takes_its_live_gauges_away(tmp_path: Path) -> None:
    env, directory = environment(tmp_path)
    with Server(tmp_path, env, "--workers", "1") as server:
        assert server.post("/task?type=sleep", 0.5).status_code == 202
        deadline = time.monotonic() + 10
        while scrape(server).value("service_tasks_in_progress", type="sleep") != 1:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert list(directory.glob("gauge_livesum_*.db"))
        assert server.stop() == 0
    assert "done=1 " in server.log()
    assert not list(directory.glob("gauge_live*.db")), list(directory.iterdir())
    assert list(directory.glob("counter_*.db")), "counters outlive the process"
