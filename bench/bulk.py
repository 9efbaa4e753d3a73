"""Bulk intake: `POST /tasks` with batches of 100 and 1000 payloads under wrk.

The client is wrk with a Lua script whose body is the JSON array; tasks/s is wrk's
requests/s times the batch size. Memory and SQLite stores are alternated.
"""

from __future__ import annotations

import json
from contextlib import ExitStack
from functools import partial
from pathlib import Path

from . import servers, wrk
from .config import Config
from .report import Row, median, rate, rates, ratio_row
from .rounds import alternate, note

GROUP = "Bulk intake, POST /tasks"
PAYLOAD = {"foo": "bar"}
TARGET = 50_000


def run(config: Config, workdir: Path) -> list[Row]:
    stores = ("memory", "sqlite")
    with ExitStack() as stack:
        urls = {}
        for store in stores:
            server = servers.service(
                f"bulk-{store}",
                store,
                workdir,
                config.concurrency,
                queue_maxsize=config.queue_maxsize,
            )
            stack.enter_context(servers.running(server))
            urls[store] = server.url + "/tasks?type=dummy"
            note(f"bulk: {store} listening on {server.url}")
        scripts = {size: _script(workdir, size) for size in config.bulk_sizes}

        def load(store: str, size: int, seconds: float) -> float:
            result = wrk.run(
                urls[store], scripts[size], seconds, config.bulk_connections, config.wrk_threads
            )
            if result.non_2xx or result.socket_errors:
                raise RuntimeError(f"bulk {store} x{size}: {result}")
            return result.rate * size

        for store in stores:
            load(store, max(config.bulk_sizes), config.warmup)
        measures = {
            (store, size): partial(load, store, size, config.duration)
            for size in config.bulk_sizes
            for store in stores
        }
        named = {f"{store} x{size}": measure for (store, size), measure in measures.items()}
        results = alternate(config.rounds, named, lambda value: rate(value, " tasks/s"))
    return rows(config, results)


def _script(workdir: Path, size: int) -> Path:
    body = json.dumps([PAYLOAD] * size, separators=(",", ":"))
    return wrk.post_script(workdir, f"bulk-{size}", body)


def rows(config: Config, results: dict[str, list[float]]) -> list[Row]:
    table = []
    for size in config.bulk_sizes:
        memory, sqlite = results[f"memory x{size}"], results[f"sqlite x{size}"]
        table.append(
            Row(GROUP, f"tasks/s, memory, batches of {size}", rate(median(memory)), rates(memory))
        )
        value = median(sqlite)
        table.append(
            Row(
                GROUP,
                f"tasks/s, SQLite, batches of {size}",
                rate(value),
                rates(sqlite),
                f">= {TARGET:,}/s",
                value >= TARGET,
            )
        )
        table.append(ratio_row(GROUP, f"SQLite / memory, batches of {size}", sqlite, memory))
    return table
