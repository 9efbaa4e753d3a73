"""A handler module whose second handler fails to start."""

from __future__ import annotations

from service import Handler, Task, handler

lifecycle: list[str] = []


@handler("starts")
class Starts(Handler):
    async def startup(self) -> None:
        lifecycle.append("starts: startup")

    async def shutdown(self) -> None:
        lifecycle.append("starts: shutdown")

    async def handle(self, task: Task) -> None:
        return None


@handler("fails")
class Fails(Handler):
    async def startup(self) -> None:
        raise RuntimeError("no connection to the mail server")

    async def shutdown(self) -> None:
        lifecycle.append("fails: shutdown")

    async def handle(self, task: Task) -> None:
        return None
