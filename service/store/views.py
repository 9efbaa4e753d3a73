"""What the store shows of the whole queue, for the dashboard: counts, throughput, instances.

Each is read from indexes, so that it stays quick on a table of a million finished tasks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from ..task import Status, Task

ID_CHARACTERS = frozenset("0123456789abcdef")


@dataclass(frozen=True, slots=True)
class Count:
    """How many tasks of one type are in one status."""

    type: str
    status: Status
    count: int


@dataclass(frozen=True, slots=True)
class Minute:
    """Tasks that finished within one minute."""

    start: float
    """Seconds since the epoch at the start of the minute."""
    done: int
    failed: int


@dataclass(frozen=True, slots=True)
class Instance:
    """A process sharing the store: its lease, how many tasks it may run and runs now."""

    id: str
    host: str
    pid: int
    started_at: float
    lease_left: float | None
    """Seconds until its lease runs out (negative once it has); None where there is no lease."""
    concurrency: int
    running: int


@dataclass(frozen=True, slots=True)
class Failed:
    """The failed tasks that a filter matches: how many, and the newest one's id."""

    count: int = 0
    newest: str | None = None


def id_range(prefix: str) -> tuple[str, str]:
    """[low, high) of the ids that start with `prefix`: ids are lowercase hexadecimal."""
    return prefix, prefix + "g"


def is_id_prefix(text: str) -> bool:
    return all(character in ID_CHARACTERS for character in text)


def per_minute(finished: Iterable[Task], since: float) -> list[Minute]:
    """Tasks done and failed since `since`, by minute, as a store without SQL counts them."""
    done: Counter[float] = Counter()
    failed: Counter[float] = Counter()
    for task in finished:
        ended = task.finished_at
        if ended is not None and ended >= since and task.status in ("done", "failed"):
            (done if task.status == "done" else failed)[ended // 60 * 60] += 1
    return [Minute(minute, done[minute], failed[minute]) for minute in sorted(done | failed)]


def matching_failed(finished: Iterable[Task], type: str | None, prefix: str) -> list[Task]:
    """The failed tasks of this type (any, if None) whose id starts with `prefix`."""
    low, high = id_range(prefix)
    return [
        task
        for task in finished
        if task.status == "failed" and low <= task.id < high and type in (None, task.type)
    ]
