"""A handler whose shutdown fails, so that the service logs a traceback as it stops."""

from __future__ import annotations

from service import Handler, Task, handler


@handler("fails_at_shutdown")
class FailsAtShutdown(Handler):
    async def handle(self, task: Task) -> None:
        return None

    async def shutdown(self) -> None:
        raise RuntimeError("cannot say goodbye")
