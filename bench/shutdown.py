"""SIGTERM with 10,000 quick tasks queued: time from SIGTERM to exit, and what was done.

Ours: first one `pause` task per worker (bench/handlers.py, 1 s), so that the tasks really
wait in the queue; then the tasks go in as fast as `POST /tasks` takes them (batches of
1000), the client closes, SIGTERM follows at once; the stop line gives the drain's duration
(which includes the rest of the pauses) and its counts.
The seed: the tasks go in one `POST /task` each, then gunicorn's master gets SIGTERM; its
log shows how many tasks the seed's thread processed.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from . import client, servers
from .config import Config
from .report import STORES, Row, median
from .rounds import alternate, note
from .servers import StopLine

GROUP = "SIGTERM with 10,000 queued"
BATCH = 1000
SLACK = 1.0
PAUSE = 1.0


@dataclass(frozen=True, slots=True)
class Shutdown:
    seconds: float
    exit_code: int
    stop: StopLine

    @property
    def after_drain(self) -> float:
        """Time to exit beyond the drain itself (includes the wait before the drain starts)."""
        return self.seconds - self.stop.drain_seconds

    def describe(self) -> str:
        stop = self.stop
        return (
            f"{self.seconds:.2f} s (drain {stop.drain_seconds:.2f} s, done={stop.done} "
            f"released={stop.released} abandoned={stop.abandoned}, exit {self.exit_code})"
        )


def ours(config: Config, workdir: Path, store: str, name: str) -> Shutdown:
    tasks = config.shutdown_tasks
    server = servers.service(
        name,
        store,
        workdir,
        config.concurrency,
        queue_maxsize=max(tasks, config.queue_maxsize),
        handlers="bench.handlers",
    )
    pauses = [[{"seconds": PAUSE}] * config.concurrency]
    batches = [[{"foo": "bar"}] * BATCH for _ in range(tasks // BATCH)]
    with servers.running(server):
        client.post_all(server.url + "/tasks", pauses, 1, {"type": "pause"})
        client.post_all(server.url + "/tasks", batches, 2, {"type": "dummy"})
        stopped = server.terminate()
    stop = StopLine.find(server.log())
    if stop is None:
        raise RuntimeError(f"{name} wrote no stop line:\n{server.log()[-2000:]}")
    return Shutdown(stopped.seconds, stopped.exit_code, stop)


def seed(config: Config, workdir: Path) -> Row:
    tasks = config.shutdown_tasks
    server = servers.seed(
        workdir, config.gunicorn_threads, config.seed_graceful_timeout, "shutdown-seed"
    )
    with servers.running(server):
        client.post_all(server.url + "/task", [{"foo": "bar"}] * tasks, 8)
        stopped = server.terminate(config.seed_graceful_timeout + 30)
    log = server.log()
    processed = log.count("processing task")
    # gunicorn logs nothing when it kills a worker at shutdown: an exit that takes the whole
    # graceful timeout is the sign that the worker did not exit by itself.
    killed = stopped.seconds >= config.seed_graceful_timeout * 0.95
    fate = (
        "did not exit (the seed's thread keeps polling) and was killed at gunicorn's "
        f"{config.seed_graceful_timeout} s graceful timeout"
        if killed
        else "exited by itself"
    )
    detail = (
        f"its log shows {processed:,} of {tasks:,} processed ({tasks - processed:,} lost); "
        f"exit code {stopped.exit_code}; the worker {fate}"
    )
    note(f"shutdown seed: {stopped.seconds:.2f} s; {detail}")
    return Row(GROUP, "SIGTERM to exit, seed", f"{stopped.seconds:.2f} s", detail)


def run(config: Config, workdir: Path) -> list[Row]:
    counter = itertools.count()

    def measure(store: str) -> Shutdown:
        return ours(config, workdir, store, f"shutdown-{store}-{next(counter)}")

    contenders = {store: partial(measure, store) for store in ("memory", "sqlite")}
    results = alternate(config.rounds, contenders, Shutdown.describe)
    table = [_row(config, store, runs) for store, runs in results.items()]
    table.append(seed(config, workdir))
    return table


def _row(config: Config, store: str, runs: list[Shutdown]) -> Row:
    expected = config.shutdown_tasks + config.concurrency
    seconds = median([each.seconds for each in runs])
    beyond = median([each.after_drain for each in runs])
    complete = all(
        each.exit_code == 0 and each.stop.done + each.stop.released == expected for each in runs
    )
    detail = f"median {beyond:.2f} s beyond the drain; " + "; ".join(
        each.describe() for each in runs
    )
    target = f"exit 0, all {expected:,} done, <= drain + {SLACK:g} s"
    return Row(
        GROUP,
        f"SIGTERM to exit, {STORES[store]}",
        f"{seconds:.2f} s",
        detail,
        target,
        complete and beyond <= SLACK,
    )
