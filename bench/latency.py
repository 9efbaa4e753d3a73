"""Idle accept-to-start latency: one task at a time over HTTP, `started_at - created_at`.

Both stores run side by side and take turns: each gets a `POST /task` every
`latency_interval`, sequentially, so the service is idle when a task arrives. Then every task
is read back with `GET /task/<id>` and the service's own timestamps are compared.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path

import httpx

from . import servers
from .config import Config
from .report import STORES, Row, percentile
from .rounds import note

GROUP = "Idle latency, accept to start"
READ_TIMEOUT = 30.0
SEED_NOTE = (
    "stated from the seed's code, not measured: its thread sleeps 1 s whenever the queue is "
    "empty, so a task reaching an idle seed waits 0-1000 ms (uniform: p50 ~500 ms, p99 ~990 ms)"
)


def run(config: Config, workdir: Path) -> list[Row]:
    stores = ("memory", "sqlite")
    with ExitStack() as stack:
        clients: dict[str, httpx.Client] = {}
        for store in stores:
            server = servers.service(f"latency-{store}", store, workdir, config.concurrency)
            stack.enter_context(servers.running(server))
            clients[store] = stack.enter_context(httpx.Client(base_url=server.url, timeout=10))
        ids: dict[str, list[str]] = {store: [] for store in stores}
        pause = config.latency_interval / len(stores)
        for _ in range(config.latency_samples):
            for store, client in clients.items():
                ids[store].append(_post(client))
                time.sleep(pause)
        delays = {store: _delays_ms(clients[store], ids[store]) for store in stores}
    for store, values in delays.items():
        note(f"latency {store}: p50 {percentile(values, 50):.2f} ms")
    return rows(delays) + [Row(GROUP, "seed, 1 s polling", "0-1000 ms", SEED_NOTE)]


def _post(client: httpx.Client) -> str:
    response = client.post("/task", params={"type": "dummy"}, json={"foo": "bar"})
    response.raise_for_status()
    task_id: str = response.json()["id"]
    return task_id


def _delays_ms(client: httpx.Client, ids: list[str]) -> list[float]:
    return [_delay_ms(client, task_id) for task_id in ids]


def _delay_ms(client: httpx.Client, task_id: str) -> float:
    deadline = time.monotonic() + READ_TIMEOUT
    while time.monotonic() < deadline:
        task = client.get(f"/task/{task_id}").raise_for_status().json()
        if task["started_at"] is not None:
            started = datetime.fromisoformat(task["started_at"])
            created = datetime.fromisoformat(task["created_at"])
            return (started - created).total_seconds() * 1000
        time.sleep(0.01)
    raise TimeoutError(f"task {task_id} did not start within {READ_TIMEOUT:g} s")


def rows(delays: dict[str, list[float]]) -> list[Row]:
    table = []
    for store, values in delays.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        detail = f"{len(values)} tasks; max {max(values):.2f} ms"
        table.append(
            Row(GROUP, f"p50, {STORES[store]}", f"{p50:.2f} ms", detail, "<= 2 ms", p50 <= 2)
        )
        table.append(
            Row(GROUP, f"p99, {STORES[store]}", f"{p99:.2f} ms", "", "<= 20 ms", p99 <= 20)
        )
    return table
