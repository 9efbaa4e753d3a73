"""Drain throughput without HTTP: N no-op tasks submitted in-process, timed until all done.

Method (gated): the service starts with the `gate` handler of bench/handlers.py; one gate
task per worker makes every worker wait; the N `dummy` tasks are then submitted in batches
(1000 by default, built beforehand), which times intake alone; then the gate opens and the
clock runs until the pool has counted every task finished: that is the drain, the workers
alone.

Ungated (the peer comparison): the workers run while the batches are submitted, and the
clock runs from the first submit to the last task done, as for the peer libraries.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from service.core import TaskService
from service.options import Options
from service.settings import Settings

from . import handlers, loop
from .config import Config
from .report import STORES, Row, median, rate, rates

PAYLOAD = {"foo": "bar"}
POLL = 0.001
TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class DrainResult:
    tasks: int
    done: int
    """Distinct tasks (jobs) that ran."""
    intake_seconds: float
    drain_seconds: float
    repeated: int = 0
    """Runs beyond the first of a job: a peer that ran a job twice."""
    failure: str = ""
    """Why the run stopped short, if it did."""

    @property
    def intake_rate(self) -> float:
        return self.tasks / self.intake_seconds if self.intake_seconds > 0 else 0.0

    @property
    def drain_rate(self) -> float:
        """Gated: the workers' rate. Ungated: first submit to last done."""
        return self.tasks / self.drain_seconds if self.drain_seconds > 0 else 0.0


def store_url(store: str, workdir: Path, name: str) -> str:
    return "memory" if store == "memory" else f"sqlite:///{workdir / name}.db"


async def run_drain(
    store_url: str, tasks: int, batch: int = 1000, concurrency: int = 8, gated: bool = True
) -> DrainResult:
    """Submit `tasks` no-op tasks to a fresh in-process service and time them to done."""
    settings = Settings(
        store=store_url,
        queue_maxsize=2 * tasks + concurrency,
        concurrency=concurrency,
        default_type="dummy",
        handlers=("bench.handlers",),
    )
    service = TaskService(settings)
    await service.start()
    try:
        return await _measure(service, tasks, batch, gated)
    finally:
        handlers.open_gate()
        await service.stop()


async def _measure(service: TaskService, tasks: int, batch: int, gated: bool) -> DrainResult:
    if gated:
        handlers.close_gate()
        concurrency = service.settings.concurrency
        await service.submit(Options(type="gate"), [None] * concurrency)
        await _until(lambda: _all_running(service, concurrency))
    payloads = _payloads(tasks, batch)
    began = time.perf_counter()
    for each in payloads:
        await service.submit(Options(type="dummy"), each)
    intake_end = time.perf_counter()
    handlers.open_gate()
    gates = service.settings.concurrency if gated else 0
    counts = service.pool.counts
    # Counted in memory: a store query every millisecond would load the store it measures.
    await _until(lambda: counts.done + counts.failed >= tasks + gates)
    finished = time.perf_counter()
    return DrainResult(
        tasks=tasks,
        done=counts.done - gates,
        intake_seconds=intake_end - began,
        drain_seconds=finished - (intake_end if gated else began),
    )


def _all_running(service: TaskService, count: int) -> bool:
    running = [task for task in service.pool.held.values() if task.status == "running"]
    return len(running) >= count


def _payloads(total: int, size: int) -> list[list[dict[str, str]]]:
    return [[dict(PAYLOAD) for _ in range(count)] for count in _batches(total, size)]


def _batches(total: int, size: int) -> Iterator[int]:
    for start in range(0, total, size):
        yield min(size, total - start)


async def _until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"still waiting after {TIMEOUT:g} s")
        await asyncio.sleep(POLL)


def measure(
    config: Config, workdir: Path, store: str, name: str, tasks: int, gated: bool = True
) -> DrainResult:
    """One in-process run on uvloop; checks that every task was done."""
    url = store_url(store, workdir, name)
    main = run_drain(url, tasks, config.submit_batch, config.concurrency, gated)
    result = loop.run(main)
    if result.done != result.tasks:
        raise RuntimeError(f"drain ({store}): {result.done} of {result.tasks} tasks done")
    return result


def run(config: Config, workdir: Path) -> list[Row]:
    results: dict[str, list[DrainResult]] = {"memory": [], "sqlite": []}
    for round_ in range(config.rounds):
        for store, runs in results.items():
            name = f"drain-{store}-{round_}"
            runs.append(measure(config, workdir, store, name, config.drain_tasks))
    group = f"Drain, in-process (N={config.drain_tasks:,})"
    targets = {"memory": 50_000, "sqlite": 10_000}
    rows = []
    for store, runs in results.items():
        drains = [each.drain_rate for each in runs]
        value = median(drains)
        target = targets[store]
        rows.append(
            Row(
                group,
                f"drain tasks/s, {STORES[store]}",
                rate(value),
                rates(drains),
                f">= {target:,}/s",
                value >= target,
            )
        )
        intakes = [each.intake_rate for each in runs]
        rows.append(
            Row(
                group,
                f"submit tasks/s, {STORES[store]} (context)",
                rate(median(intakes)),
                rates(intakes),
            )
        )
    return rows


if __name__ == "__main__":  # one gated drain, e.g. under a profiler: python -m bench.drain sqlite
    import sys
    import tempfile

    store, tasks = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 20_000
    with tempfile.TemporaryDirectory(prefix="bench-drain-") as directory:
        found = measure(Config(), Path(directory), store, "drain", tasks)
    print(f"drain ({store}): {found.drain_rate:,.0f} tasks/s")
