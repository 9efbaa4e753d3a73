"""What the store shows of the queue: tasks by id, pages of tasks, counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import get_args

from ...task import Status, Task
from ..base import QueueStats
from .connection import Connection
from .rows import QUERIES, to_task

STATUSES = list(get_args(Status))


async def select_many(connection: Connection, task_ids: Sequence[str]) -> list[Task]:
    return [to_task(row) for row in await connection.fetch(QUERIES["select_by_ids"], task_ids)]


async def select_page(
    connection: Connection,
    status: Status | None,
    type: str | None,
    limit: int,
    after: str | None,
) -> list[Task]:
    """Up to `limit` tasks below `after`, newest first, with the status and type given."""
    if type is not None:
        statuses = STATUSES if status is None else [status]
        found = await connection.fetch(QUERIES["list_tasks_by_type"], limit, after, statuses, type)
    elif status is not None:
        found = await connection.fetch(QUERIES["list_tasks_by_status"], limit, after, status)
    else:
        found = await connection.fetch(QUERIES["list_tasks"], limit, after)
    return [to_task(row) for row in found]


async def queue_stats(connection: Connection) -> QueueStats:
    """The counts, and the oldest due task's wait, on the server's clock."""
    [row] = await connection.fetch(QUERIES["queue_stats"])
    return QueueStats(row["due"], row["delayed"], row["running"], row["oldest_due_age"])
