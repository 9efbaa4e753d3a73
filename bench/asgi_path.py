"""The CPU time our code spends on one `POST /task`, without HTTP: the ASGI app called directly.

    python -m bench.asgi_path [--requests 20000] [--rounds 5] [--without-metrics]

Starts the app on the memory store (8 workers, the built-in `dummy` handler), then calls it
with a ready-made `POST /task?type=dummy` scope, `--requests` times per round, letting the
workers run every 8 requests and waiting at the end of the round until every task is done.
Prints the process CPU time per request of each round and the lowest (the least disturbed by
the rest of the machine), and what one copy of a task costs (the memory store copies every
task it keeps and hands out). Run it on two checkouts to compare them: Hypercorn, the
network and wrk are left out, so a difference here is the app's own. `--without-metrics`
turns the Prometheus hooks into no-ops, to see what they cost.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import time
import timeit
from typing import Any

from service.app import create_app
from service.settings import Settings
from service.task import Task

BODY = b'{"foo":"bar"}'
SCOPE: dict[str, Any] = {
    "type": "http",
    "asgi": {"version": "3.0"},
    "http_version": "1.1",
    "method": "POST",
    "scheme": "http",
    "path": "/task",
    "raw_path": b"/task",
    "query_string": b"type=dummy",
    "root_path": "",
    "headers": [
        (b"host", b"127.0.0.1"),
        (b"content-type", b"application/json"),
        (b"content-length", b"%d" % len(BODY)),
    ],
    "client": ("127.0.0.1", 1),
    "server": ("127.0.0.1", 2),
    "extensions": {},
}


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": BODY, "more_body": False}


async def measure(requests: int, rounds: int) -> list[float]:
    """CPU microseconds per request, one figure per round."""
    settings = Settings.from_env({"SERVICE_STORE": "memory", "SERVICE_CONCURRENCY": "8"})
    app = create_app(settings)
    statuses: set[int] = set()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    await app.startup()
    try:
        store = app.extensions["task_service"].store
        figures = []
        for _ in range(rounds):
            began = time.process_time()
            for number in range(requests):
                await app(dict(SCOPE), receive, send)  # type: ignore[arg-type]
                if number % 8 == 0:
                    await asyncio.sleep(0)
            while await store.count_unfinished():
                await asyncio.sleep(0.0005)
            figures.append((time.process_time() - began) / requests * 1e6)
    finally:
        await app.shutdown()
    if statuses != {202}:
        raise SystemExit(f"the app answered {sorted(statuses)}, not only 202")
    return figures


def copy_cost(times: int = 100_000) -> float:
    """Microseconds per `copy.copy` of a task."""
    task = Task("dummy", {"foo": "bar"})
    return timeit.timeit(lambda: copy.copy(task), number=times) / times * 1e6


def without_metrics() -> None:
    """The hooks the service calls per request and per task do nothing."""
    from service.metrics import Metrics  # here: older checkouts compared with have none

    def nothing(*args: object) -> None:
        return None

    Metrics.submitted = Metrics.ended = Metrics.request = nothing  # type: ignore[method-assign,assignment]
    Metrics.attempt = lambda self, task: contextlib.nullcontext()  # type: ignore[method-assign,assignment,return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--without-metrics", action="store_true")
    arguments = parser.parse_args()
    if arguments.without_metrics:
        without_metrics()
    figures = asyncio.run(measure(arguments.requests, arguments.rounds))
    shown = ", ".join(f"{figure:.1f}" for figure in figures)
    print(f"CPU per POST /task: {shown} µs; lowest {min(figures):.1f} µs")
    print(f"copy of a task: {copy_cost():.2f} µs")


if __name__ == "__main__":
    main()
