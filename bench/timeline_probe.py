"""`service:app` with a timer on every SQLite transaction, for `python -m bench.timeline`.

Each transaction's start, the start of its COMMIT and its end (monotonic clock, the same
in every process), its thread CPU before and in the COMMIT, and how many new tasks and ends
of attempts it carried, go to the file named by BENCH_TIMELINE as one JSON array when the
service exits (after SIGTERM). Only for measuring: the timers cost a few µs a transaction.
"""

from __future__ import annotations

import atexit
import json
import os
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from service import app
from service.store.sqlite import connector

Event = tuple[float, float, float, float, float, int, int]
"""start, COMMIT began, end (s); CPU before the COMMIT, CPU of the COMMIT (s); new tasks,
ends of attempts."""
Mark = list[tuple[float, float]]
"""Where the transaction under way reached its COMMIT: (monotonic, thread CPU)."""

Transaction = Callable[..., Any]


def timed(transaction: Transaction, events: list[Event], mark: Mark) -> Transaction:
    """`Connector._transaction`, recording an event for each one that reached its COMMIT."""

    def run(self: connector.Connector, body: Any, *args: Any) -> Any:
        mark.clear()
        start, cpu = time.monotonic(), time.thread_time()
        try:
            return transaction(self, body, *args)
        finally:
            if mark:
                end, cpu_end = time.monotonic(), time.thread_time()
                commit_at, commit_cpu = mark[0]
                works = body.keywords.get("works", ()) if isinstance(body, partial) else ()
                ends = body.keywords.get("ends", ()) if isinstance(body, partial) else ()
                new = sum(len(work.new) for work in works)
                events.append(
                    (start, commit_at, end, commit_cpu - cpu, cpu_end - commit_cpu, new, len(ends))
                )

    return run


def marked(check_file: Callable[[connector.Connector], None], mark: Mark) -> Transaction:
    """`Connector._check_file`, which runs just before the COMMIT: it marks that moment."""

    def check(self: connector.Connector) -> None:
        check_file(self)
        mark.append((time.monotonic(), time.thread_time()))

    return check


def install(events: list[Event]) -> None:
    mark: Mark = []
    patched = connector.Connector
    patched._transaction = timed(patched._transaction, events, mark)  # type: ignore[method-assign]
    patched._check_file = marked(patched._check_file, mark)  # type: ignore[method-assign]


def write(events: list[Event], path: Path) -> None:
    path.write_text(json.dumps(events))


EVENTS: list[Event] = []
if "BENCH_TIMELINE" in os.environ:
    install(EVENTS)
    atexit.register(write, EVENTS, Path(os.environ["BENCH_TIMELINE"]))

__all__ = ["app"]
