"""What the store shows of the whole queue, for the dashboard: counts, throughput, instances.

Each is read from indexes, so that it stays quick on a table of a million finished tasks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..task import Status

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
