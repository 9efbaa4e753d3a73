"""Prometheus metrics: what the service counts and times, and their text exposition.

One `Metrics` per app; the service calls it where things happen (a submission decided, an
attempt run, a task finished, a request answered). Labels stay bounded: `type` is a
registered handler's name or empty (the request named none), `route` a route template or
"other", `method` a standard method or "other". The hooks count in plain numbers
(`tallies.py`), added to prometheus_client's metrics before each scrape.

With `PROMETHEUS_MULTIPROC_DIR` set (an empty directory, before the processes start),
prometheus_client keeps every process's values in files there and a scrape of any process
adds them up. Each process flushes its counts there every `FLUSH_INTERVAL` and before it
answers a scrape; `stop()` flushes and marks the process dead, so that its in-progress tasks
drop out. The queue gauges are not among them: each scrape reads them from the store
(`render(stats)`), so that every process answers the same.
"""

from __future__ import annotations

import asyncio
import logging
import os
import platform
import time
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from types import TracebackType
from typing import Literal

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from .errors import ConfigError
from .store.base import QueueStats
from .tallies import BulkHistogram, Level, Observations, counts, levels, observations
from .task import Task

log = logging.getLogger("service.metrics")

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
NO_TYPE = ""
"""The `type` of a submission that named no registered handler: no label in PromQL."""
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
FLUSH_INTERVAL = 1.0
"""Seconds between two flushes of a process's counts to the multiprocess directory."""
TASK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

Pairs = list[tuple[Task, bool]]
Finish = Literal["done", "failed", "cancelled"]


class Metrics:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.directory = env.get(MULTIPROCESS_DIR) or None
        """Where every process keeps its values, in multiprocess mode; None otherwise."""
        self.registry = CollectorRegistry()
        own = None if self.directory else self.registry
        self.submissions = counts(
            Counter(
                "service_tasks_submitted",
                "Tasks submitted, by decision: accepted, duplicate (Idempotency-Key) or refused",
                ["type", "outcome"],
                registry=own,
            )
        )
        self.finishes = counts(
            Counter(
                "service_tasks_finished",
                "Tasks that reached a final status",
                ["type", "status"],
                registry=own,
            )
        )
        self.attempts = observations(
            BulkHistogram(
                "service_attempt_duration_seconds",
                "Time one attempt of a task ran",
                ["type"],
                buckets=TASK_BUCKETS,
                registry=own,
            )
        )
        self.waits = observations(
            BulkHistogram(
                "service_queue_wait_seconds",
                "Time from a task's due time to the start of its attempt",
                ["type"],
                buckets=TASK_BUCKETS,
                registry=own,
            )
        )
        self.in_progress = levels(
            Gauge(
                "service_tasks_in_progress",
                "Attempts running in this process (summed over live processes)",
                ["type"],
                multiprocess_mode="livesum",
                registry=own,
            )
        )
        self.requests = observations(
            BulkHistogram(
                "service_http_request_duration_seconds",
                "Time from a request's arrival to its answer, by route template",
                ["route", "method"],
                registry=own,
            )
        )
        self._build = Gauge(
            "service_build_info",
            "Always 1: the service's version and the Python running it",
            ["version", "python"],
            multiprocess_mode="livemax",
            registry=own,
        )
        self._tallies = (
            self.submissions,
            self.finishes,
            self.attempts,
            self.waits,
            self.in_progress,
            self.requests,
        )
        self._types: frozenset[str] = frozenset()
        self._attempt_tallies: dict[str, tuple[Observations, Level, Observations]] = {}
        self._flusher: asyncio.Task[None] | None = None

    def start(self, types: Iterable[str]) -> None:
        """Count by these task types from now on; check the multiprocess directory."""
        if self.directory is not None:
            if not os.path.isdir(self.directory):
                raise ConfigError(
                    f"{MULTIPROCESS_DIR}={self.directory!r} is not a directory: create it, "
                    "empty, before the service starts"
                )
            MultiProcessCollector(self.registry, self.directory)  # type: ignore[no-untyped-call]
            self._flusher = asyncio.get_running_loop().create_task(self._flush_every())
        self._types = frozenset(types)
        self._build.labels(version=_version(), python=platform.python_version()).set(1)

    def stop(self) -> None:
        """This process ends: its counts are flushed, its live gauges leave the sums."""
        if self._flusher is not None:
            self._flusher.cancel()
        self.flush()
        if self.directory is not None:
            mark_process_dead(os.getpid(), self.directory)  # type: ignore[no-untyped-call]

    def flush(self) -> None:
        """Add what was counted since the last flush to prometheus_client's metrics."""
        for tallies in self._tallies:
            tallies.flush()

    async def _flush_every(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL)
            try:
                self.flush()
            except Exception:  # a full disk, say: what was not handed over waits for the next
                log.exception(
                    "metrics not written to %s=%s",
                    MULTIPROCESS_DIR,
                    self.directory,
                    extra={"action": "metrics"},
                )

    def submitted(self, type: str, pairs: Pairs) -> None:
        """A submission answered with these (task, created) pairs."""
        label = self.label(type)
        created = sum(new for _, new in pairs)
        if created:
            self.submissions(label, "accepted").value += created
        if created < len(pairs):
            self.submissions(label, "duplicate").value += len(pairs) - created

    def refused(self, type: str, count: int) -> None:
        self.submissions(self.label(type), "refused").value += count

    def finished(self, type: str, status: Finish) -> None:
        self.finishes(self.label(type), status).value += 1

    def ended(self, task: Task) -> None:
        """A task this process ran has finished: done or failed."""
        if task.status == "done" or task.status == "failed":
            self.finished(task.type, task.status)

    def attempt(self, task: Task) -> AttemptTimer:
        """`with metrics.attempt(task):` around one attempt of the task."""
        type = self.label(task.type)
        tallies = self._attempt_tallies.get(type)
        if tallies is None:
            tallies = (self.waits(type), self.in_progress(type), self.attempts(type))
            self._attempt_tallies[type] = tallies
        return AttemptTimer(tallies, max(task.run_at, task.created_at))

    def request(self, route: str, method: str, seconds: float) -> None:
        self.requests(route, method if method in METHODS else OTHER).observe(seconds)

    def render(self, stats: QueueStats | None) -> bytes:
        """The text exposition; the queue gauges from `stats`, left out without them."""
        self.flush()
        text = generate_latest(self.registry)
        if stats is not None:
            text += generate_latest(QueueCollector(stats))
        return text

    def label(self, type: str) -> str:
        """The `type` label of a task type: its name if registered, else empty."""
        return type if type in self._types else NO_TYPE


class AttemptTimer:
    """Times one attempt, counts it in progress meanwhile, and records its wait when it starts."""

    __slots__ = ("_wait", "_running", "_duration", "_due", "_began")

    def __init__(self, tallies: tuple[Observations, Level, Observations], due: float) -> None:
        self._wait, self._running, self._duration = tallies
        self._due, self._began = due, 0.0

    def __enter__(self) -> None:
        # The due time may come from another host's clock: never a negative wait.
        self._wait.observe(max(time.time() - self._due, 0.0))
        self._running.value += 1
        self._began = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._duration.observe(time.perf_counter() - self._began)
        self._running.value -= 1


class QueueCollector:
    """The store-wide gauges of one scrape."""

    def __init__(self, stats: QueueStats) -> None:
        self.stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self.stats
        depth = GaugeMetricFamily(
            "service_queue_depth",
            "Queued tasks in the store, of every process: due now, or delayed",
            labels=["state"],
        )
        depth.add_metric(["due"], stats.due)
        depth.add_metric(["delayed"], stats.delayed)
        yield depth
        yield GaugeMetricFamily(
            "service_tasks_running", "Running tasks in the store, of every process", stats.running
        )
        yield GaugeMetricFamily(
            "service_queue_oldest_due_age_seconds",
            "Seconds since the oldest due queued task became due (0 with none)",
            stats.oldest_due_age,
        )


def _version() -> str:
    try:
        return metadata.version("service")
    except metadata.PackageNotFoundError:
        return "unknown"
