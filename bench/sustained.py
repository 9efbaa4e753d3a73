"""Sustained end to end: `POST /task` under wrk for a fixed time, then until all are done.

Per round and store, a fresh service takes wrk's load for `duration` seconds; then one more
task is posted and polled until done: the queue is first in, first out, so by then every
earlier task has started. The service is then stopped, and its stop line says how many
tasks were done. tasks/s = done / (time from wrk's start until that last task was done).
"""

from __future__ import annotations

import itertools
import time
from functools import partial
from pathlib import Path

import httpx

from . import servers, wrk
from .config import Config
from .report import STORES, Row, median, rate, rates, ratio_row
from .rounds import alternate
from .servers import StopLine

GROUP = "Sustained end to end, POST /task to done"
TIMEOUT = 120.0


def once(config: Config, workdir: Path, store: str, script: Path, name: str) -> float:
    server = servers.service(
        name, store, workdir, config.concurrency, queue_maxsize=config.queue_maxsize
    )
    with servers.running(server):
        began = time.perf_counter()
        url = server.url + "/task?type=dummy"
        load = wrk.run(url, script, config.duration, config.connections, config.wrk_threads)
        finished = _last_done(server.url)
        stopped = server.terminate()
    stop = StopLine.find(server.log())
    if stop is None or stopped.exit_code != 0:
        raise RuntimeError(f"{name} did not stop cleanly:\n{server.log()[-2000:]}")
    if stop.done < load.requests - load.non_2xx:
        raise RuntimeError(f"{name}: {load.requests} accepted but only {stop.done} done")
    return stop.done / (finished - began)


def _last_done(url: str) -> float:
    """Post one task, poll it until done; the time it was seen done."""
    with httpx.Client(base_url=url, timeout=10) as client:
        response = client.post("/task", params={"type": "dummy"}, json={"last": True})
        task_id = response.raise_for_status().json()["id"]
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            if client.get(f"/task/{task_id}").json()["status"] == "done":
                return time.perf_counter()
            time.sleep(0.002)
    raise TimeoutError(f"the last task was not done within {TIMEOUT:g} s")


def run(config: Config, workdir: Path) -> list[Row]:
    script = wrk.post_script(workdir, "sustained", '{"foo":"bar"}')
    counter = itertools.count()

    def measure(store: str) -> float:
        return once(config, workdir, store, script, f"sustained-{store}-{next(counter)}")

    contenders = {store: partial(measure, store) for store in ("memory", "sqlite")}
    results = alternate(config.rounds, contenders, lambda value: rate(value, " tasks/s"))
    table = [
        Row(GROUP, f"tasks/s, {STORES[store]}", rate(median(values)), rates(values))
        for store, values in results.items()
    ]
    table.append(ratio_row(GROUP, "SQLite / memory", results["sqlite"], results["memory"]))
    return table
