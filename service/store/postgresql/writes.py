"""One group commit's transaction: new tasks, recorded states, then operations, in order.

Whatever made unowned work due (a queued task added, a retry or a give-back written, a
task taken over) sets `Batch.due`, and the transaction then sends one NOTIFY, which
PostgreSQL delivers at COMMIT. What the fence stopped is only told once committed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ...task import Task
from . import rows
from .connection import Connection
from .listener import CHANNEL
from .rows import QUERIES

log = logging.getLogger("service.store")

Operation = Callable[[Connection, "Batch"], Awaitable[Any]]


@dataclass(frozen=True, slots=True)
class Work:
    """One caller's part of a transaction: new tasks, tasks given back, or an operation."""

    new: Sequence[Task] = ()
    released: Sequence[Task] | None = None
    operation: Operation | None = None


@dataclass(slots=True)
class Batch:
    """What one transaction learnt, for the store to act on once it is committed."""

    lease: float
    """Seconds a lease lasts once renewed."""
    due: bool = False
    fenced: list[tuple[str, int]] = field(default_factory=list)
    """(task id, attempt) of recorded states that the fence stopped."""
    unclaimed: list[Task] = field(default_factory=list)
    """New tasks stored queued because their claim's lease had run out."""

    def report(self) -> int:
        """Once committed: log what the fence stopped and what was stored unclaimed;
        return how many states the fence stopped."""
        for task_id, attempt in self.fenced:
            log.warning(
                "task %s: attempt %d's result is discarded: this process no longer holds it "
                "(its lease ran out and another process took it over)",
                task_id,
                attempt,
                extra={"action": "fenced", "task_id": task_id},
            )
        if self.unclaimed:
            log.warning(
                "%d new tasks were stored queued, not started: this process's lease had run out",
                len(self.unclaimed),
                extra={"action": "store"},
            )
        return len(self.fenced)


async def write(
    connection: Connection, works: Sequence[Work], states: Sequence[rows.State], batch: Batch
) -> list[Any]:
    """Each work's result: the stored tasks of an add, the count of a release, else the
    operation's return value."""
    new = [task for work in works for task in work.new]
    kept = await insert(connection, new, batch) if new else {}
    written = await update(connection, states, batch) if states else set()
    results: list[Any] = []
    for work in works:
        if work.operation is not None:
            results.append(await work.operation(connection, batch))
        elif work.released is not None:
            results.append(sum(task.id in written for task in work.released))
        else:
            results.append([kept.get(task.id, task) for task in work.new])
    if batch.due:
        await connection.execute(QUERIES["notify"], CHANNEL)
    return results


def states_to_write(works: Sequence[Work], tasks: Sequence[Task]) -> list[rows.State]:
    """The recorded states to write, and those given back, each fenced on its claim."""
    chosen = {task.id: task for task in tasks}
    for work in works:
        chosen.update((task.id, task) for task in work.released or ())
    states = []
    for task in chosen.values():
        if task.claim is None:  # voided since it was recorded: its lease ran out
            log.warning(
                "task %s: its state is not written: this process no longer holds it",
                task.id,
                extra={"action": "store", "task_id": task.id},
            )
        else:
            states.append(rows.state(task, task.claim))
    return states


async def insert(connection: Connection, tasks: list[Task], batch: Batch) -> dict[str, Task]:
    """Insert new tasks, learning each one's `seq`.

    Returns, by new task id, the task already stored under the same type and key.
    """
    await _check_claims(connection, tasks, batch)
    inserted = await connection.fetch(QUERIES["insert"], *rows.insert_arguments(tasks))
    seqs = {row["id"]: row["seq"] for row in inserted}
    batch.due = batch.due or any(row["due"] for row in inserted)
    for task in tasks:
        task.seq = seqs.get(task.id, task.seq)
    others = [task for task in tasks if task.id not in seqs]
    if not others:
        return {}
    keys = [[task.type for task in others], [task.idempotency_key for task in others]]
    found = await connection.fetch(QUERIES["select_by_keys"], *keys)
    stored = {(row["type"], row["idempotency_key"]): rows.to_task(row) for row in found}
    # A key given twice in one batch finds the first task, inserted just before.
    return {task.id: stored[(task.type, task.idempotency_key)] for task in others}


async def update(connection: Connection, states: Sequence[rows.State], batch: Batch) -> set[str]:
    """Write the states their fence lets through; return their ids."""
    written = await connection.fetch(QUERIES["update"], *rows.update_arguments(states))
    batch.due = batch.due or any(row["due"] for row in written)
    ids = {row["id"] for row in written}
    batch.fenced.extend((found.id, found.claim[1]) for found in states if found.id not in ids)
    return ids


async def _check_claims(connection: Connection, tasks: list[Task], batch: Batch) -> None:
    """Store claimed new tasks queued, their marks undone, if their lease has run out;
    else renew it."""
    claimed = [task for task in tasks if task.status == "running"]
    if not claimed:
        return
    owners = list({task.claim[0] for task in claimed if task.claim is not None})
    renewed = await connection.fetch(QUERIES["renew_live_owners"], owners, batch.lease)
    live = {row["id"] for row in renewed}
    for task in claimed:
        if task.claim is None or task.claim[0] not in live:
            task.status, task.attempts, task.started_at, task.claim = "queued", 0, None, None
            batch.unclaimed.append(task)
