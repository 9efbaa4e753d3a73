"""What the store shows of the queue: tasks by id, pages of tasks, counts."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Sequence

from ...task import UNFINISHED, Status, Task
from ..base import QueueStats
from .rows import QUERIES, to_task


def select_many(connection: sqlite3.Connection, task_ids: Sequence[str]) -> list[Task]:
    found = connection.execute(QUERIES["select_by_ids"], (json.dumps(list(task_ids)),))
    return [to_task(row) for row in found.fetchall()]


def select_page(
    connection: sqlite3.Connection,
    status: Status | None,
    type: str | None,
    limit: int,
    after: str | None,
) -> list[Task]:
    """Up to `limit` tasks below `after`, newest first, with the status and type given."""
    if status is None:
        query = "list_tasks" if type is None else "list_by_type"
    elif status in UNFINISHED:
        query = f"list_{status}"
    else:
        query = "list_finished_by_status" if type is None else "list_finished_by_type_and_status"
    parameters = {"status": status, "type": type, "limit": limit, "after": after}
    return [to_task(row) for row in connection.execute(QUERIES[query], parameters).fetchall()]


def queue_stats(connection: sqlite3.Connection) -> QueueStats:
    """The counts, and the oldest due task's wait, on this host's clock."""
    now = time.time()
    row = connection.execute(QUERIES["queue_stats"], {"now": now}).fetchone()
    due_since = [each for each in (row["oldest_created"], row["oldest_run_at"]) if each is not None]
    oldest_due_age = max(now - min(due_since), 0.0) if due_since and row["due"] else 0.0
    return QueueStats(row["due"], row["delayed"], row["running"], oldest_due_age)
