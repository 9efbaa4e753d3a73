"""The scale-out group's HTTP measures: intake, bulk intake and idle latency, per setup.

With two instances the load is split between them: one wrk per instance, at the same time,
each with half the connections and threads; the rate is the sum of the two.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from . import wrk
from .config import Config
from .instances import Setup, Stores, instances

BODY = '{"foo":"bar"}'
READ_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class Load:
    rate: float
    """Requests/s for intake, tasks/s for bulk, summed over the instances."""
    failures: int
    """Non-2xx answers and socket errors."""
    p99_ms: float
    """The slowest instance's p99."""


def split_load(
    urls: list[str], script: Path, seconds: float, connections: int, threads: int
) -> list[wrk.WrkResult]:
    """One wrk per URL at once, the connections and threads shared out between them."""
    share_connections = max(1, connections // len(urls))
    share_threads = max(1, threads // len(urls))
    with ThreadPoolExecutor(len(urls)) as pool:
        runs = [
            pool.submit(wrk.run, url, script, seconds, share_connections, share_threads)
            for url in urls
        ]
        return [run.result() for run in runs]


def _load(
    config: Config, stores: Stores, setup: Setup, name: str, path: str, script: Path, size: int
) -> Load:
    connections = config.connections if size == 1 else config.bulk_connections
    with instances(config, stores, setup, name) as started:
        urls = [server.url + path for server in started]
        split_load(urls, script, config.warmup, connections, config.wrk_threads)
        results = split_load(urls, script, config.duration, connections, config.wrk_threads)
    return Load(
        rate=sum(each.rate for each in results) * size,
        failures=sum(each.non_2xx + each.socket_errors for each in results),
        p99_ms=max(each.p99_ms for each in results),
    )


def intake(config: Config, stores: Stores, setup: Setup, name: str) -> Load:
    """`POST /task` with one small payload, as bench/intake.py sends it."""
    script = wrk.post_script(stores.workdir, "scaleout-intake", BODY)
    return _load(config, stores, setup, name, "/task?type=dummy", script, 1)


def bulk(config: Config, stores: Stores, setup: Setup, name: str, size: int) -> Load:
    """`POST /tasks` with a JSON array of `size` payloads, as bench/bulk.py sends it."""
    body = json.dumps([json.loads(BODY)] * size, separators=(",", ":"))
    script = wrk.post_script(stores.workdir, f"scaleout-bulk-{size}", body)
    return _load(config, stores, setup, name, "/tasks?type=dummy", script, size)


def latency(config: Config, stores: Stores, setup: Setup, name: str) -> list[float]:
    """Milliseconds from just before each POST to its handler's start, idle instances.

    One `stamp` task at a time, every `latency_interval`, to each instance in turn.
    """
    with instances(config, stores, setup, name) as started:
        clients = [httpx.Client(base_url=server.url, timeout=10) for server in started]
        try:
            _post(clients[0], time.time())  # the first connection and statements
            sent = []
            for number in range(config.latency_samples):
                client = clients[number % len(clients)]
                began = time.time()
                sent.append((client, _post(client, began), began))
                time.sleep(config.latency_interval)
            return [(_started(client, task_id) - began) * 1000 for client, task_id, began in sent]
        finally:
            for client in clients:
                client.close()


def _post(client: httpx.Client, began: float) -> str:
    response = client.post("/task", params={"type": "stamp"}, json={"sent": began})
    response.raise_for_status()
    task_id: str = response.json()["id"]
    return task_id


def _started(client: httpx.Client, task_id: str) -> float:
    """The wall time at which the task's handler started, once the task is done."""
    deadline = time.monotonic() + READ_TIMEOUT
    while time.monotonic() < deadline:
        task = client.get(f"/task/{task_id}").raise_for_status().json()
        if task["status"] == "done":
            started: float = task["result"]["started"]
            return started
        if task["status"] not in ("queued", "running"):
            raise RuntimeError(f"latency task {task_id} ended {task['status']}: {task}")
        time.sleep(0.01)
    raise TimeoutError(f"latency task {task_id} not done within {READ_TIMEOUT:g} s")
