"""Crash rounds: kill -9 the service during intake and processing, restart, lose nothing.

The test suite runs a few rounds; run many by hand with
`python -m tests.e2e.soak --rounds 50`, or on PostgreSQL with several instances (clients
spread over them, one of them killed, the others finish its tasks once its lease runs out):
`python -m tests.e2e.soak --store postgresql --instances 3 --rounds 20`.
"""

from __future__ import annotations

import argparse
import random
import signal
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

import httpx

from tests.e2e.server import Server
from tests.postgres import Cluster

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


def kill9_round(
    workdir: Path, seed: int, store: str | None = None, instances: int = 1
) -> tuple[int, int]:
    """One round; returns (tasks acknowledged, tasks that ran more than once).

    `store` defaults to the service's own SQLite file in `workdir`. With one instance, it
    is killed and restarted; with several, one is killed and the others finish the work.
    """
    rng = random.Random(seed)
    base = {"SERVICE_CONCURRENCY": "4", "SERVICE_LEASE_TIMEOUT": "2"}
    base |= {"SERVICE_STORE": store} if store else {}
    accepted: list[str] = []
    with ExitStack() as stack:
        env = base | {"JOURNAL_DELAY": "0.001"}
        servers = [stack.enter_context(Server(workdir, env)) for _ in range(instances)]
        stop = threading.Event()
        clients = [
            threading.Thread(
                target=post_until_refused,
                args=(servers[number % instances].url, accepted, stop),
            )
            for number in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        time.sleep(rng.uniform(0.3, 1.0))
        victim = rng.randrange(instances)
        servers[victim].stop(signal.SIGKILL, group=True)
        stop.set()
        for client in clients:
            client.join()
        survivors = [server for number, server in enumerate(servers) if number != victim]
        if not survivors:
            survivors = [stack.enter_context(Server(workdir, base))]
        records = survivors[0].wait_done(accepted, timeout=60)
        assert all(server.stop() == 0 for server in survivors)
    assert all(record["status"] == "done" for record in records.values())
    runs = [task_id for task_id, _ in survivors[0].journal()]
    assert set(accepted) <= set(runs)
    return len(accepted), len(runs) - len(set(runs))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--store", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--instances", type=int, default=1)
    args = parser.parse_args()
    with ExitStack() as stack:
        cluster = stack.enter_context(Cluster()) if args.store == "postgresql" else None
        if cluster is not None:
            cluster.start()
        total = 0
        for number in range(args.rounds):
            store = None
            if cluster is not None:
                cluster.create_database(f"soak_{number}")
                store = cluster.url(f"soak_{number}")
            with tempfile.TemporaryDirectory() as workdir:
                acknowledged, repeated = kill9_round(Path(workdir), number, store, args.instances)
            total += acknowledged
            print(
                f"round {number + 1}/{args.rounds}: {acknowledged} acknowledged, all done, "
                f"{repeated} ran again (running at the kill, or finished but not yet written)",
                flush=True,
            )
    print(f"{args.rounds} rounds, {total} acknowledged tasks, none lost")


if __name__ == "__main__":
    main()
