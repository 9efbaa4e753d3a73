"""Memory per queued task: RSS growth of the service while 100,000 small tasks wait.

The tasks are posted with `delay=3600`, so they wait in the delayed heap and none starts.
A first 2,000 warm the process up; then VmRSS is read before and after the measured ones,
and the difference is divided by their number.
"""

from __future__ import annotations

import itertools
import time
from pathlib import Path

from . import client, servers
from .config import Config
from .report import Row, median
from .rounds import alternate

GROUP = "Memory per queued task"
BATCH = 1000
WARMUP_BATCHES = 2
TARGET = 1024


def once(config: Config, workdir: Path, name: str) -> float:
    tasks = config.memory_tasks
    server = servers.service(
        name, "memory", workdir, config.concurrency, queue_maxsize=tasks + 10 * BATCH
    )
    batch = [{"foo": "bar"}] * BATCH
    params = {"type": "dummy", "delay": "3600"}
    with servers.running(server):
        url = server.url + "/tasks"
        client.post_all(url, [batch] * WARMUP_BATCHES, 1, params)
        time.sleep(0.2)
        before = server.rss_bytes()
        client.post_all(url, [batch] * (tasks // BATCH), 1, params)
        time.sleep(0.2)
        after = server.rss_bytes()
    return (after - before) / (tasks // BATCH * BATCH)


def run(config: Config, workdir: Path) -> list[Row]:
    counter = itertools.count()

    def measure() -> float:
        return once(config, workdir, f"memory-{next(counter)}")

    results = alternate(config.rounds, {"memory store": measure}, lambda v: f"{v:,.0f} B/task")
    values = results["memory store"]
    value = median(values)
    detail = f"{config.memory_tasks:,} tasks; rounds: " + ", ".join(f"{v:,.0f}" for v in values)
    return [
        Row(
            GROUP,
            "bytes per queued task (VmRSS)",
            f"{value:,.0f} B",
            detail,
            f"<= {TARGET:,} B",
            value <= TARGET,
        )
    ]
