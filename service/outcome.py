"""How an attempt ends, on the task: done, failed, queued again for a retry, or put back.

The worker pool calls these and then records the task in the store, fenced on its claim.
"""

from __future__ import annotations

import logging
import random
import time
from dataclasses import dataclass
from typing import Any

from .task import Task

log = logging.getLogger("service.worker")

MAX_BACKOFF = 300.0


@dataclass(slots=True)
class Counts:
    done: int = 0
    failed: int = 0
    retried: int = 0
    cancelled: int = 0
    abandoned: int = 0
    released: int = 0
    lost: int = 0
    """Attempts whose claim lapsed while they ran: their results were not kept."""


def done(task: Task, result: Any, counts: Counts) -> None:
    task.status = "done"
    task.result = result
    task.finished_at = time.time()
    counts.done += 1


def failed(task: Task, message: str, retry_delay: float, counts: Counts) -> None:
    """Queued again after a backoff if its budget allows, else failed for good."""
    # An exception's text may hold what UTF-8 cannot carry (a lone surrogate): escape it.
    task.error = message.encode("utf-8", "backslashreplace").decode("utf-8")
    if task.attempts < task.max_attempts:
        task.status = "queued"
        task.run_at = time.time() + backoff(retry_delay, task.attempts)
        counts.retried += 1
        log.info(
            "task %s failed (attempt %d), will retry: %s",
            task.id,
            task.attempts,
            message,
            extra={"action": "retry", "task_id": task.id},
        )
    else:
        task.status = "failed"
        task.finished_at = time.time()
        counts.failed += 1
        log.warning(
            "task %s failed: %s",
            task.id,
            message,
            extra={"action": "failed", "task_id": task.id},
        )


def put_back(task: Task) -> None:
    """A task cut off by the drain deadline: queued again, its attempt not used up."""
    task.status = "queued"
    task.attempts -= 1
    task.started_at = None


def backoff(retry_delay: float, attempt: int) -> float:
    """Exponential backoff with jitter: half to all of retry_delay * 2^(attempt-1), capped."""
    ceiling = min(retry_delay * 2 ** (attempt - 1), MAX_BACKOFF)
    return random.uniform(ceiling / 2, ceiling)
