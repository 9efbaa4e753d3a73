"""A handler module whose batch handler takes one task, not a list: start-up must stop."""

from __future__ import annotations

from service import Task, handler


@handler("lonely", batch_size=10, batch_wait=1.0)
async def lonely(task: Task) -> None:
    return None
