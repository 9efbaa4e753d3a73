"""Handlers the tests load through SERVICE_HANDLERS, as a user's module would be."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path
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


# Handlers that misbehave, as the hardening tests need them.
released = threading.Event()
"""Set to let `stubborn` and `hang_plain` end."""


@handler("exits")
async def exits(task: Task) -> None:
    raise SystemExit(3)


@handler("exits_plain")
def exits_plain(task: Task) -> None:
    raise SystemExit(3)


@handler("interrupts")
async def interrupts(task: Task) -> None:
    raise KeyboardInterrupt("stop")


@handler("interrupts_plain")
def interrupts_plain(task: Task) -> None:
    raise KeyboardInterrupt("stop")


@handler("generator_exit")
async def generator_exit(task: Task) -> None:
    raise GeneratorExit


@handler("own_cancel")
async def own_cancel(task: Task) -> None:
    raise asyncio.CancelledError()


@handler("cancels_its_worker")
async def cancels_its_worker(task: Task) -> None:
    current = asyncio.current_task()
    assert current is not None
    current.cancel()  # the cancellation lands on the worker after this returns


@handler("swallows")
async def swallows(task: Task) -> str:
    """Swallows the cancellation of its timeout, then returns."""
    try:
        await asyncio.sleep(60)
    except asyncio.CancelledError:
        await asyncio.sleep(0.05)
    return "late"


@handler("stubborn")
async def stubborn(task: Task) -> str:
    """Ignores every cancellation until `released` is set (or for ever, in a server)."""
    while not released.is_set():
        try:
            await asyncio.sleep(0.02)
        except asyncio.CancelledError:
            pass
    return "late"


@handler("hang_plain")
def hang_plain(task: Task) -> str:
    """A plain def that blocks its thread until `released` is set, at most `payload` s."""
    released.wait(float(task.payload))
    return "late"


@handler("returns_deep")
async def returns_deep(task: Task) -> Any:
    """Returns a list nested `payload` levels deep."""
    result: Any = []
    for _ in range(int(task.payload) - 1):
        result = [result]
    return result


@handler("raises_surrogate")
async def raises_surrogate(task: Task) -> None:
    raise ValueError("bad \ud800 text")


@handler("span")
async def span(task: Task) -> int:
    """Sleeps `payload` seconds; appends `start|end id attempt pid monotonic` lines to $SPANS."""

    def note(edge: str) -> None:
        with open(os.environ["SPANS"], "a") as file:
            file.write(f"{edge} {task.id} {task.attempt} {os.getpid()} {time.monotonic()}\n")

    note("start")
    await asyncio.sleep(float(task.payload))
    note("end")
    return os.getpid()


@handler("slow_once")
async def slow_once(task: Task) -> str:
    """Sleeps a minute the first time it runs, which leaves the file named by `payload`;
    returns at once when that file is there."""
    marker = Path(task.payload)
    if not marker.exists():
        marker.touch()
        await asyncio.sleep(60)
        return "first run"
    return "second run"
