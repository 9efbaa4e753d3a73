"""Handlers the tests load through SERVICE_HANDLERS, as a user's module would be."""

from __future__ import annotations

import asyncio
import os
import threading
from typing import Any

from service import Handler, Task, handler

seen: list[Any] = []
gate = asyncio.Event()
lifecycle: list[str] = []


@handler("echo")
async def echo(task: Task) -> Any:
    seen.append(task.payload)
    return {"echo": task.payload, "attempt": task.attempt}


@handler("boom")
async def boom(task: Task) -> None:
    raise ValueError(f"cannot handle {task.payload!r}")


@handler("sleep")
async def sleep(task: Task) -> None:
    await asyncio.sleep(float(task.payload))


@handler("gated")
async def gated(task: Task) -> Any:
    await gate.wait()
    seen.append(task.payload)
    return task.payload


@handler("flaky")
async def flaky(task: Task) -> int:
    """Fails until the attempt number reaches the payload."""
    if task.attempt < int(task.payload):
        raise RuntimeError(f"attempt {task.attempt} failed")
    return task.attempt


@handler("blocking")
def blocking(task: Task) -> str:
    """A plain def: it runs in a thread, not on the event loop."""
    return threading.current_thread().name


@handler("unserializable")
async def unserializable(task: Task) -> object:
    return object()


@handler("journal")
async def journal(task: Task) -> None:
    """Appends the task id to the file named by $JOURNAL: one line per run."""
    await asyncio.sleep(float(os.environ.get("JOURNAL_DELAY", "0")))
    with open(os.environ["JOURNAL"], "a") as file:
        file.write(f"{task.id} {task.attempt} {os.getpid()}\n")


@handler("lifecycle")
class Lifecycle(Handler):
    async def startup(self) -> None:
        lifecycle.append("startup")

    async def shutdown(self) -> None:
        lifecycle.append("shutdown")

    async def handle(self, task: Task) -> None:
        lifecycle.append(f"handle {task.payload}")
