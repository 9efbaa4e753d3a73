"""Crash rounds: kill -9 the service during intake and processing, restart, lose nothing.

The test suite runs a few rounds; run many by hand with
`python -m tests.e2e.soak --rounds 50`.
"""

from __future__ import annotations

import argparse
import random
import signal
import tempfile
import threading
import time
from pathlib import Path

import httpx

from tests.e2e.server import Server

CLIENTS = 4


def post_until_refused(url: str, accepted: list[str], stop: threading.Event) -> None:
    with httpx.Client(timeout=5) as client:
        while not stop.is_set():
            try:
                response = client.post(f"{url}/task?type=journal", json={"at": time.time()})
            except httpx.TransportError:
                return
            if response.status_code == 202:
                accepted.append(response.json()["id"])


def kill9_round(workdir: Path, seed: int) -> tuple[int, int]:
    """One round; returns (tasks acknowledged, tasks that ran more than once)."""
    rng = random.Random(seed)
    env = {"JOURNAL_DELAY": "0.001", "SERVICE_CONCURRENCY": "4"}
    accepted: list[str] = []
    with Server(workdir, env) as server:
        stop = threading.Event()
        clients = [
            threading.Thread(target=post_until_refused, args=(server.url, accepted, stop))
            for _ in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(rng.uniform(0.3, 1.0))
        server.stop(signal.SIGKILL, group=True)
        stop.set()
        for client in clients:
            client.join()
    with Server(workdir, {"SERVICE_CONCURRENCY": "4"}) as restarted:
        records = restarted.wait_done(accepted)
        assert restarted.stop() == 0
    assert all(record["status"] == "done" for record in records.values())
    runs = [task_id for task_id, _ in restarted.journal()]
    assert set(accepted) <= set(runs)
    return len(accepted), len(runs) - len(set(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    rounds = parser.parse_args().rounds
    total = 0
    for number in range(rounds):
        with tempfile.TemporaryDirectory() as workdir:
            acknowledged, repeated = kill9_round(Path(workdir), seed=number)
        total += acknowledged
        print(
            f"round {number + 1}/{rounds}: {acknowledged} acknowledged, all done, "
            f"{repeated} ran again (running at the kill, or finished but not yet written)",
            flush=True,
        )
    print(f"{rounds} rounds, {total} acknowledged tasks, none lost")


if __name__ == "__main__":
    main()
