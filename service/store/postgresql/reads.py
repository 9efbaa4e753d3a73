"""What the store shows of the queue: tasks by id, pages of tasks, counts."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...task import UNFINISHED, Status, Task
from ..base import QueueStats
from .connection import Connection
from .rows import QUERIES, to_task


async def select(connection: Connection, query: str, arguments: Sequence[Any]) -> list[Task]:
    """The tasks a named query finds."""
    return [to_task(row) for row in await connection.fetch(QUERIES[query], *arguments)]


async def select_page(
    connection: Connection,
    status: Status | None,
    type: str | None,
    limit: int,
    after: str | None,
) -> list[Task]:
    """Up to `limit` tasks below `after`, newest first, with the status and type given."""
    if status is None and type is None:
        found = await connection.fetch(QUERIES["list_tasks"], limit, after)
    elif status is None:
        found = await connection.fetch(QUERIES["list_by_type"], limit, after, type)
    elif status in UNFINISHED:
        found = await connection.fetch(QUERIES["list_unfinished"], limit, after, status, type)
    elif type is None:
        found = await connection.fetch(QUERIES["list_finished_by_status"], limit, after, status)
    else:
        query = QUERIES["list_finished_by_type_and_status"]
        found = await connection.fetch(query, limit, after, status, type)
    return [to_task(row) for row in found]


async def queue_stats(connection: Connection) -> QueueStats:
    """The counts, and the oldest due task's wait, on the server's clock."""
    [row] = await connection.fetch(QUERIES["queue_stats"])
    return QueueStats(row["due"], row["delayed"], row["running"], row["oldest_due_age"])
