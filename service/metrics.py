"""Prometheus metrics: what the service counts and times, and their text exposition.

One `Metrics` per app; the service calls it where things happen (a submission decided, an
attempt run, a task finished, a request answered). Labels stay bounded: `type` is a
registered handler's name or empty (the request named none), `route` a route template or
"other", `method` a standard method or "other".

With `PROMETHEUS_MULTIPROC_DIR` set (an empty directory, before the processes start),
prometheus_client keeps every process's values in files there and a scrape of any process
adds them up; `stop()` marks the process dead, so that its in-progress tasks drop out. The
queue gauges are not among them: each scrape reads them from the store (`render(stats)`), so
that every process answers the same.
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Iterable, Iterator, Mapping
from importlib import metadata
from types import TracebackType
from typing import Generic, Literal, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from .errors import ConfigError
from .store.base import QueueStats
from .task import Task

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
NO_TYPE = ""
"""The `type` of a submission that named no registered handler: no label in PromQL."""
OTHER = "other"
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
TASK_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600)

Pairs = list[tuple[Task, bool]]
Finish = Literal["done", "failed", "cancelled"]


M = TypeVar("M", Counter, Gauge, Histogram)


class Children(Generic[M]):
    """A metric's children by label values, looked up once: `labels()` is slow for a hot path."""

    __slots__ = ("_parent", "_children")

    def __init__(self, parent: M) -> None:
        self._parent: M = parent
        self._children: dict[tuple[str, ...], M] = {}

    def __call__(self, *labels: str) -> M:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._parent.labels(*labels)
        return child


class Metrics:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.directory = env.get(MULTIPROCESS_DIR) or None
        """Where every process keeps its values, in multiprocess mode; None otherwise."""
        self.registry = CollectorRegistry()
        own = None if self.directory else self.registry
        self.submissions = Children(
            Counter(
                "service_tasks_submitted",
                "Tasks submitted, by decision: accepted, duplicate (Idempotency-Key) or refused",
                ["type", "outcome"],
                registry=own,
            )
        )
        self.finishes = Children(
            Counter(
                "service_tasks_finished",
                "Tasks that reached a final status",
                ["type", "status"],
                registry=own,
            )
        )
        self.attempts = Children(
            Histogram(
                "service_attempt_duration_seconds",
                "Time one attempt of a task ran",
                ["type"],
                buckets=TASK_BUCKETS,
                registry=own,
            )
        )
        self.waits = Children(
            Histogram(
                "service_queue_wait_seconds",
                "Time from a task's due time to the start of its attempt",
                ["type"],
                buckets=TASK_BUCKETS,
                registry=own,
            )
        )
        self.in_progress = Children(
            Gauge(
                "service_tasks_in_progress",
                "Attempts running in this process (summed over live processes)",
                ["type"],
                multiprocess_mode="livesum",
                registry=own,
            )
        )
        self.requests = Children(
            Histogram(
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
        self._types: frozenset[str] = frozenset()
        self._attempt_children: dict[str, tuple[Histogram, Gauge, Histogram]] = {}
        self._submitted: dict[str, tuple[Counter, Counter]] = {}

    def start(self, types: Iterable[str]) -> None:
        """Count by these task types from now on; check the multiprocess directory."""
        if self.directory is not None:
            if not os.path.isdir(self.directory):
                raise ConfigError(
                    f"{MULTIPROCESS_DIR}={self.directory!r} is not a directory: create it, "
                    "empty, before the service starts"
                )
            MultiProcessCollector(self.registry, self.directory)  # type: ignore[no-untyped-call]
        self._types = frozenset(types)
        self._build.labels(version=_version(), python=platform.python_version()).set(1)

    def stop(self) -> None:
        """This process ends: its live gauges leave the sums of the other processes."""
        if self.directory is not None:
            mark_process_dead(os.getpid(), self.directory)  # type: ignore[no-untyped-call]

    def submitted(self, type: str, pairs: Pairs) -> None:
        """A submission answered with these (task, created) pairs."""
        accepted, duplicate = self._submission_children(type)
        created = sum(new for _, new in pairs)
        if created:
            accepted.inc(created)
        if created < len(pairs):
            duplicate.inc(len(pairs) - created)

    def refused(self, type: str, count: int) -> None:
        self.submissions(self.label(type), "refused").inc(count)

    def finished(self, type: str, status: Finish) -> None:
        self.finishes(self.label(type), status).inc()

    def ended(self, task: Task) -> None:
        """A task this process ran has finished: done or failed."""
        if task.status == "done" or task.status == "failed":
            self.finished(task.type, task.status)

    def attempt(self, task: Task) -> AttemptTimer:
        """`with metrics.attempt(task):` around one attempt of the task."""
        type = self.label(task.type)
        children = self._attempt_children.get(type)
        if children is None:
            children = (self.waits(type), self.in_progress(type), self.attempts(type))
            self._attempt_children[type] = children
        return AttemptTimer(children, max(task.run_at, task.created_at))

    def request(self, route: str, method: str, seconds: float) -> None:
        self.requests(route, method if method in METHODS else OTHER).observe(seconds)

    def render(self, stats: QueueStats | None) -> bytes:
        """The text exposition; the queue gauges from `stats`, left out without them."""
        text = generate_latest(self.registry)
        if stats is not None:
            text += generate_latest(QueueCollector(stats))
        return text

    def _submission_children(self, type: str) -> tuple[Counter, Counter]:
        label = self.label(type)
        children = self._submitted.get(label)
        if children is None:
            children = (self.submissions(label, "accepted"), self.submissions(label, "duplicate"))
            self._submitted[label] = children
        return children

    def label(self, type: str) -> str:
        """The `type` label of a task type: its name if registered, else empty."""
        return type if type in self._types else NO_TYPE


class AttemptTimer:
    """Times one attempt, counts it in progress meanwhile, and records its wait when it starts."""

    __slots__ = ("_wait", "_running", "_duration", "_due", "_began")

    def __init__(self, children: tuple[Histogram, Gauge, Histogram], due: float) -> None:
        self._wait, self._running, self._duration = children
        self._due, self._began = due, 0.0

    def __enter__(self) -> None:
        # The due time may come from another host's clock: never a negative wait.
        self._wait.observe(max(time.time() - self._due, 0.0))
        self._running.inc()
        self._began = time.perf_counter()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._duration.observe(time.perf_counter() - self._began)
        self._running.dec()


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
