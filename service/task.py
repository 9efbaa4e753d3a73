"""The task: what a handler receives and what `GET /task/<id>` shows."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal

Status = Literal["queued", "running", "done", "failed", "cancelled"]
UNFINISHED: frozenset[str] = frozenset({"queued", "running"})


RANDOM_TAILS: list[str] = []
"""The random parts of the next ids, read from the OS 256 at a time: one system call per
id cost more than the rest of the id. `list.pop` hands each out once, whatever the thread;
a forked child starts with none of its parent's."""
os.register_at_fork(after_in_child=RANDOM_TAILS.clear)


def new_id() -> str:
    """The time in milliseconds (12 hex digits), then 128 random bits (32): not guessable.

    Time first, so that ids sort by creation: new ids land at the end of the store's index
    instead of anywhere in it, which keeps intake fast as the table grows.
    """
    try:
        tail = RANDOM_TAILS.pop()
    except IndexError:
        pool = os.urandom(16 * 256).hex()
        RANDOM_TAILS.extend(pool[start : start + 32] for start in range(0, len(pool), 32))
        tail = RANDOM_TAILS.pop()
    return f"{time.time_ns() // 1_000_000:012x}{tail}"


@dataclass(slots=True, eq=False)
class Task:
    """One unit of work.

    Handlers read `id`, `type`, `payload` and `attempt`; the rest is the task's record.
    Times are seconds since the epoch (UTC).
    """

    type: str
    payload: Any
    id: str = field(default_factory=new_id)
    priority: int = 0
    max_attempts: int = 1
    run_at: float = 0.0
    status: Status = "queued"
    attempts: int = 0
    result: Any = None
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    idempotency_key: str | None = None
    fingerprint: str | None = field(default=None, repr=False)
    """What the request that created the task looked like, to tell a reused idempotency key."""
    seq: int = field(default=0, repr=False)
    """The store's row number, where a store has one."""
    claim: tuple[str, int] | None = field(default=None, repr=False)
    """(owner, attempt) of the claim this process holds on the running attempt: every
    write that ends the attempt is fenced on it."""

    def __copy__(self) -> Task:
        """A shallow copy (`copy.copy` of a slotted dataclass is six times slower)."""
        return Task(*_fields(self))

    @property
    def attempt(self) -> int:
        """Which attempt is running now: 1 on the first run."""
        return self.attempts

    @property
    def finished(self) -> bool:
        return self.status not in UNFINISHED

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "status": self.status,
            "payload": self.payload,
            "result": self.result,
            "error": self.error,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "priority": self.priority,
            "created_at": iso(self.created_at),
            "run_at": iso(max(self.run_at, self.created_at)),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
        }


_fields = attrgetter(*(each.name for each in fields(Task)))


def iso(timestamp: float | None) -> str | None:
    """ISO 8601 in UTC with microseconds, e.g. 2026-01-02T03:04:05.678901+00:00."""
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="microseconds")
