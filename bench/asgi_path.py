"""The CPU time our code spends on one `POST /task`, without HTTP: the ASGI app called directly.

    python -m bench.asgi_path [--requests 20000] [--rounds 5] [--store sqlite] [--without-metrics]
                              [--delay SECONDS]

Starts the app on the memory store (or `--store sqlite`, a fresh file; 8 workers, the
built-in `dummy` handler, the queue bound of `bench.intake`), then calls it with a
ready-made `POST /task?type=dummy` scope, `--requests` times per round from 32 concurrent
callers, each letting the workers run every 8 requests, and waits at the end of the round
until every task is done (asking the store every 20 ms). Prints the process CPU time per
request of each round (every thread of the process) and the lowest (the least disturbed by
the rest of the machine), and what one copy of a task costs (the memory store copies every
task it keeps and hands out). Run it on two checkouts to compare them: Hypercorn, the
network and wrk are left out, so a difference here is the app's own. `--without-metrics`
turns the Prometheus hooks into no-ops, to see what they cost. `--delay` posts delayed
tasks (`&delay=SECONDS`), which stay queued: the rounds then time intake alone, on a queue
that grows by `--requests` delayed tasks per round.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import copy
import tempfile
import time
import timeit
from typing import Any

from service.app import create_app
from service.settings import Settings
from service.task import Task

CALLERS = 32
"""Requests in flight at once, as wrk's connections in `bench.intake`."""
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


async def measure(
    requests: int, rounds: int, store_url: str = "memory", delay: float = 0.0
) -> list[float]:
    """CPU microseconds per request, one figure per round (every thread of the process)."""
    scope = dict(SCOPE, query_string=b"type=dummy&delay=%g" % delay if delay else b"type=dummy")
    settings = Settings.from_env(
        {"SERVICE_STORE": store_url, "SERVICE_CONCURRENCY": "8", "SERVICE_QUEUE_MAXSIZE": "5000000"}
    )
    app = create_app(settings)
    statuses: set[int] = set()

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.add(message["status"])

    await app.startup()
    try:
        store = app.extensions["task_service"].store
        figures = []

        async def caller(calls: int) -> None:
            for number in range(calls):
                await app(dict(scope), receive, send)  # type: ignore[arg-type]
                if number % 8 == 0:
                    await asyncio.sleep(0)

        for _ in range(rounds):
            began = time.process_time()
            await asyncio.gather(*(caller(requests // CALLERS) for _ in range(CALLERS)))
            while not delay and await store.count_unfinished():
                await asyncio.sleep(0.02)
            figures.append((time.process_time() - began) / (requests // CALLERS * CALLERS) * 1e6)
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
    parser.add_argument("--store", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--without-metrics", action="store_true")
    parser.add_argument("--delay", type=float, default=0.0)
    arguments = parser.parse_args()
    if arguments.without_metrics:
        without_metrics()
    with tempfile.TemporaryDirectory(prefix="asgi-path-") as directory:
        url = "memory" if arguments.store == "memory" else f"sqlite:///{directory}/tasks.db"
        figures = asyncio.run(measure(arguments.requests, arguments.rounds, url, arguments.delay))
    shown = ", ".join(f"{figure:.1f}" for figure in figures)
    print(f"CPU per POST /task: {shown} µs; lowest {min(figures):.1f} µs")
    print(f"copy of a task: {copy_cost():.2f} µs")


if __name__ == "__main__":
    main()
