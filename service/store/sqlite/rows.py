"""Tasks to rows and back: the named queries, the insert, the fenced end of an attempt."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from ... import jsoncodec
from ...task import Task
from .. import sql

QUERIES = sql.queries("sqlite")

State = tuple[str, int, float, Any, str | None, float | None, float | None, int, str, int, str]
"""A task's end of attempt as it was when read: status, attempts, run_at, result, error,
started_at, finished_at, seq; then the fence (owner, attempt) and the id."""


def claim_query(
    owner: str, limit: int, only: str | None, skip: frozenset[str]
) -> tuple[str, dict[str, Any]]:
    """The claim's query and its parameters but `now`: every type, or some of them."""
    parameters: dict[str, Any] = {"owner": owner, "limit": limit}
    if only is None and not skip:
        return QUERIES["claim"], parameters
    return QUERIES["claim_some"], {**parameters, "only": only, "skip": json.dumps(sorted(skip))}


def insert(connection: sqlite3.Connection, tasks: list[Task]) -> dict[str, Task]:
    """Insert new tasks, learning each one's `seq` (its rowid), which later updates go by.

    Returns, by new task id, the task already stored under the same type and idempotency key.
    """
    now = time.time()
    plain = [task for task in tasks if task.idempotency_key is None]
    if plain:
        before = connection.execute(QUERIES["max_seq"]).fetchone()[0]
        connection.executemany(QUERIES["insert"], [_row(task, now) for task in plain])
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
            connection.execute(QUERIES["insert"], _row(task, now))
            key = (task.type, task.idempotency_key)
            row = connection.execute(QUERIES["select_by_key"], key).fetchone()
            if row["id"] == task.id:
                task.seq = row["seq"]
            else:
                kept[task.id] = to_task(row)
    return kept


def state(task: Task) -> State | None:
    """The live task's end of attempt now, read on the event loop that changes it."""
    if task.claim is None:
        return None
    owner, attempt = task.claim
    return (
        task.status,
        task.attempts,
        task.run_at,
        task.result,
        task.error,
        task.started_at,
        task.finished_at,
        task.seq,
        owner,
        attempt,
        task.id,
    )


def end_attempts(connection: sqlite3.Connection, states: Sequence[State]) -> list[str]:
    """Write each end of attempt that its fence lets through; the ids of those it stopped."""
    statement = QUERIES["end_attempt"]
    fenced = []
    now = time.time()
    for each in states:
        result = each[3]
        encoded = None if result is None else jsoncodec.dumps(result)
        parameters = (*each[:3], encoded, *each[4:7], waits(each[0], each[2], now), *each[7:10])
        written = connection.execute(statement, parameters).rowcount
        if not written:
            fenced.append(each[10])
    return fenced


def retry(connection: sqlite3.Connection, task_id: str) -> Task | None:
    """Queue a failed or cancelled task again, due now; the task as stored now."""
    parameters = {"id": task_id, "now": time.time()}
    found = connection.execute(QUERIES["retry"], parameters).fetchall()
    if not found:
        found = connection.execute(QUERIES["select_by_id"], (task_id,)).fetchall()
    return to_task(found[0]) if found else None


def waits(status: str, run_at: float, now: float) -> bool:
    """Whether a task written now waits for `promote` before a claim may take it."""
    return status == "queued" and run_at > now


def _row(task: Task, now: float) -> tuple[Any, ...]:
    owner = None if task.claim is None else task.claim[0]
    return (
        task.id,
        task.type,
        jsoncodec.dumps(task.payload),
        task.priority,
        task.max_attempts,
        task.run_at,
        task.status,
        task.attempts,
        task.created_at,
        task.started_at,
        task.idempotency_key,
        owner,
        task.fingerprint,
        waits(task.status, task.run_at, now),
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
        claim=None if row["status"] != "running" else (row["owner"], row["attempts"]),
    )
