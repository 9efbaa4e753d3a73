"""Tasks to query arguments and back: the named queries, the insert and update arrays."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from ... import jsoncodec
from ...task import Task
from .. import sql

QUERIES = sql.queries("postgresql")


@dataclass(frozen=True, slots=True)
class State:
    """A recorded task's state as it was when read, fenced on its claim."""

    id: str
    status: str
    attempts: int
    delay: float
    """Seconds from now until a queued task is due; 0 for a finished one."""
    result: str | None
    error: str | None
    started_at: float | None
    finished_at: float | None
    claim: tuple[str, int]


def state(task: Task, claim: tuple[str, int]) -> State:
    """The live task's state now, read on the event loop that changes it."""
    delay = max(task.run_at - time.time(), 0.0) if task.status == "queued" else 0.0
    result = None if task.result is None else _json(task.result)
    return State(
        task.id,
        task.status,
        task.attempts,
        delay,
        result,
        _text(task.error),
        task.started_at,
        task.finished_at,
        claim,
    )


def insert_arguments(tasks: Sequence[Task]) -> list[list[Any]]:
    """One array per column of the `insert` query; a running task is owned by its claim."""
    columns: list[list[Any]] = [[] for _ in range(13)]
    for task in tasks:
        owner = task.claim[0] if task.status == "running" and task.claim is not None else None
        row = (
            task.id,
            task.type,
            _json(task.payload),
            task.priority,
            task.max_attempts,
            task.run_at,
            task.status,
            task.attempts,
            task.created_at,
            task.started_at,
            task.idempotency_key,
            task.fingerprint,
            owner,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def update_arguments(states: Iterable[State]) -> list[list[Any]]:
    """One array per column of the `update` query."""
    columns: list[list[Any]] = [[] for _ in range(10)]
    for found in states:
        row = (
            found.id,
            found.status,
            found.attempts,
            found.delay,
            found.result,
            found.error,
            found.started_at,
            found.finished_at,
            *found.claim,
        )
        for column, value in zip(columns, row, strict=True):
            column.append(value)
    return columns


def to_task(row: asyncpg.Record) -> Task:
    result, owner, status = row["result"], row["owner"], row["status"]
    return Task(
        type=row["type"],
        payload=jsoncodec.loads(row["payload"]),
        id=row["id"],
        priority=row["priority"],
        max_attempts=row["max_attempts"],
        run_at=row["run_at"].timestamp(),
        status=status,
        attempts=row["attempts"],
        result=None if result is None else jsoncodec.loads(result),
        error=row["error"],
        created_at=row["created_at"].timestamp(),
        started_at=_epoch(row["started_at"]),
        finished_at=_epoch(row["finished_at"]),
        idempotency_key=row["idempotency_key"],
        fingerprint=row["fingerprint"],
        seq=row["seq"],
        claim=(owner, row["attempts"]) if status == "running" and owner is not None else None,
    )


def _json(value: Any) -> str:
    return jsoncodec.dumps(value).decode("utf-8")


def _text(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL: escape it as the worker escapes what UTF-8 cannot."""
    if value is None or "\x00" not in value:
        return value
    return value.replace("\x00", "\\x00")


def _epoch(moment: datetime | None) -> float | None:
    return None if moment is None else moment.timestamp()
