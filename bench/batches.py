"""Batch handler throughput on SQLite, at batch sizes 1, 100 and 1000.

Method: N tasks of the size's batch type are stored in bulk first (through the store, 1000
to a transaction), into a fresh SQLite file; then the service starts on that file with
SERVICE_CONCURRENCY workers and the clock runs from the end of its start-up until the pool
has counted every task done. Each batch call is one claim (or more, until it is full), one
handler call and N fenced ends of attempt written by the group commit. Sizes alternate over
the rounds; the median is reported.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from functools import partial
from pathlib import Path

from service.core import TaskService
from service.settings import Settings
from service.store import open_store
from service.task import Task

from . import loop
from .config import Config
from .report import Row, median, rate, rates
from .rounds import alternate

GROUP = "Batch handler throughput, SQLite"
SUBMIT = 1000
POLL = 0.001
TIMEOUT = 600.0
_runs = itertools.count(1)


async def run_batches(path: Path, size: int, tasks: int, concurrency: int = 8) -> float:
    """Tasks/s of the `batch-<size>` handler draining `tasks` stored beforehand."""
    settings = Settings(
        store=f"sqlite:///{path}",
        queue_maxsize=2 * tasks,
        concurrency=concurrency,
        handlers=("bench.batch_handlers",),
    )
    store = open_store(settings)
    await store.open()
    try:
        for start in range(0, tasks, SUBMIT):
            count = min(SUBMIT, tasks - start)
            await store.add([Task(f"batch-{size}", start + n) for n in range(count)])
    finally:
        await store.close()
    service = TaskService(settings)
    await service.start()
    try:
        began = time.perf_counter()
        counts = service.pool.counts
        deadline = time.monotonic() + TIMEOUT
        while counts.done + counts.failed < tasks:
            if time.monotonic() > deadline:
                raise TimeoutError(f"batch-{size}: {counts.done} of {tasks} done")
            await asyncio.sleep(POLL)
        seconds = time.perf_counter() - began
        if counts.failed:
            raise RuntimeError(f"batch-{size}: {counts.failed} tasks failed")
    finally:
        await service.stop()
    return tasks / seconds


def measure(config: Config, workdir: Path, size: int) -> float:
    """One run on uvloop, on a fresh file."""
    path = workdir / f"batches-{size}-{next(_runs)}.db"
    return loop.run(run_batches(path, size, config.batch_tasks, config.concurrency))


def run(config: Config, workdir: Path) -> list[Row]:
    contenders = {
        f"batch_size {size}": partial(measure, config, workdir, size) for size in config.batch_sizes
    }
    results = alternate(config.rounds, contenders, lambda value: rate(value, " tasks/s"))
    group = f"{GROUP} (N={config.batch_tasks:,}, {config.concurrency} workers)"
    return [
        Row(group, f"tasks/s, {name}", rate(median(values)), rates(values))
        for name, values in results.items()
    ]


if __name__ == "__main__":  # one run of one size: python -m bench.batches 1000 [tasks]
    import sys
    import tempfile

    size, tasks = int(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    with tempfile.TemporaryDirectory(prefix="bench-batches-") as directory:
        found = loop.run(run_batches(Path(directory) / "batches.db", size, tasks))
    print(f"batch_size {size}: {found:,.0f} tasks/s")
