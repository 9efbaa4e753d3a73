"""Tasks to rows and back: the named queries, the insert, the state update."""

from __future__ import annotations

import sqlite3
from typing import Any

from ... import jsoncodec
from ...task import Task
from .. import sql

QUERIES = sql.queries("sqlite")

State = tuple[str, int, float, Any, str | None, float | None, float | None, int]
"""A task's state as it was when read: status, attempts, run_at, result, error, times, seq."""


def insert(connection: sqlite3.Connection, tasks: list[Task], owner: str) -> dict[str, Task]:
    """Insert new tasks, learning each one's `seq` (its rowid), which later updates go by.

    Returns, by new task id, the task already stored under the same type and idempotency key.
    """
    plain = [task for task in tasks if task.idempotency_key is None]
    if plain:
        before = connection.execute(QUERIES["max_seq"]).fetchone()[0]
        connection.executemany(QUERIES["insert"], [_row(task, owner) for task in plain])
        after = connection.execute(QUERIES["max_seq"]).fetchone()[0]
        # Under the write lock SQLite numbers new rows max(rowid) + 1, + 2, ...
        if after - before == len(plain):
            for number, task in enumerate(plain, start=before + 1):
                task.seq = number
        else:
            for task in plain:
                row = connection.execute(QUERIES["select_by_id"], (task.id,)).fetchone()
                task.seq = row["seq"]
    kept = {}
    for task in tasks:
        if task.idempotency_key is not None:
            connection.execute(QUERIES["insert"], _row(task, owner))
            key = (task.type, task.idempotency_key)
            row = connection.execute(QUERIES["select_by_key"], key).fetchone()
            if row["id"] == task.id:
                task.seq = row["seq"]
            else:
                kept[task.id] = to_task(row)
    return kept


def state(task: Task) -> State:
    """The live task's state now, read on the event loop that changes it."""
    return (
        task.status,
        task.attempts,
        task.run_at,
        task.result,
        task.error,
        task.started_at,
        task.finished_at,
        task.seq,
    )


def update(connection: sqlite3.Connection, states: list[State]) -> None:
    connection.executemany(QUERIES["update"], map(_encoded, states))


def _encoded(state: State) -> tuple[Any, ...]:
    result = state[3]
    return (*state[:3], None if result is None else jsoncodec.dumps(result), *state[4:])


def _row(task: Task, owner: str) -> tuple[Any, ...]:
    return (
        task.id,
        task.type,
        jsoncodec.dumps(task.payload),
        task.priority,
        task.max_attempts,
        task.run_at,
        task.created_at,
        task.idempotency_key,
        owner,
        task.fingerprint,
    )


def to_task(row: sqlite3.Row) -> Task:
    result = row["result"]
    return Task(
        type=row["type"],
        payload=jsoncodec.loads(row["payload"]),
        id=row["id"],
        priority=row["priority"],
        max_attempts=row["max_attempts"],
        run_at=row["run_at"],
        status=row["status"],
        attempts=row["attempts"],
        result=None if result is None else jsoncodec.loads(result),
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        idempotency_key=row["idempotency_key"],
        fingerprint=row["fingerprint"],
        seq=row["seq"],
    )
