"""The built-in handlers, one for each worker kind of the seed templates."""

from __future__ import annotations

import logging

from ..task import Task
from .registry import Handler, handler

log = logging.getLogger("service.handlers")


@handler("notification")
class Notification(Handler):
    async def startup(self) -> None:
        log.info("notification handler started")

    async def shutdown(self) -> None:
        log.info("notification handler stopped")

    async def handle(self, task: Task) -> None:
        log.info(
            "notification for task %s was sent: %r",
            task.id,
            task.payload,
            extra={"action": "handle", "task_id": task.id},
        )


@handler("fifo")
class Fifo(Handler):
    async def startup(self) -> None:
        log.info("fifo handler started")

    async def shutdown(self) -> None:
        log.info("fifo handler stopped")

    async def handle(self, task: Task) -> None:
        log.info(
            "fifo processing task %s: %r",
            task.id,
            task.payload,
            extra={"action": "handle", "task_id": task.id},
        )


@handler("dummy")
async def dummy(task: Task) -> None:
    """Does nothing; useful to measure the service itself."""
