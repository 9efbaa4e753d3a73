"""Recovery after kill -9: two instances on one PostgreSQL database, one killed under load.

Instance A takes one `hang_once` task per worker (it starts them at once, being idle), and
is killed with SIGKILL, its whole process group, once all of them run. The clock runs from
the kill until instance B reports every one of A's tasks done: A's lease must run out
(SERVICE_LEASE_TIMEOUT, 5 s by default, from its last renewal), B's upkeep (once a second)
must queue them again, and B must claim and run them (at once: their second attempt).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from .config import Config
from .instances import Setup, Stores, instances

HANG_SECONDS = 120.0
TIMEOUT = 60.0
POLL = 0.01


@dataclass(frozen=True, slots=True)
class Recovered:
    seconds: float
    tasks: int
    attempts: int
    """The highest attempt number B ran: 2 when each task was taken over once."""


def measure(config: Config, stores: Stores, name: str) -> Recovered:
    with instances(config, stores, Setup("postgresql", 2), name) as (a, b):
        with httpx.Client(base_url=a.url, timeout=10) as to_a:
            payloads = [{"seconds": HANG_SECONDS}] * config.concurrency
            response = to_a.post("/tasks", params={"type": "hang_once"}, json=payloads)
            ids: list[str] = response.raise_for_status().json()["ids"]
            _until(to_a, ids, "running")
        killed = time.perf_counter()
        a.kill()
        with httpx.Client(base_url=b.url, timeout=10) as to_b:
            tasks = _until(to_b, ids, "done")
        seconds = time.perf_counter() - killed
    return Recovered(seconds, len(ids), max(task["attempts"] for task in tasks))


def _until(client: httpx.Client, ids: list[str], status: str) -> list[dict[str, object]]:
    """Poll until every task has `status`; the tasks as last read."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        tasks = [client.get(f"/task/{task_id}").raise_for_status().json() for task_id in ids]
        if all(task["status"] == status for task in tasks):
            return tasks
        time.sleep(POLL)
    raise TimeoutError(f"the tasks were not all {status} within {TIMEOUT:g} s")
