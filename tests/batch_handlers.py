"""Batch handlers the tests load through SERVICE_HANDLERS, as a user's module would be."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from service import Task, handler

calls: list[tuple[str, list[Any], float]] = []
"""(type, payloads, monotonic time) of every call of a batch handler, in order."""


def called(tasks: list[Task]) -> None:
    calls.append((tasks[0].type, [task.payload for task in tasks], time.monotonic()))
    journal = os.environ.get("JOURNAL")
    if journal:  # a real server's calls, for a test that reads them once it has stopped
        with Path(journal).open("a") as file:
            file.write(" ".join(f"{task.id}:{task.attempt}" for task in tasks) + "\n")


@handler("ingest", batch_size=5, batch_wait=0.3)
async def ingest(tasks: list[Task]) -> list[Any]:
    called(tasks)
    await asyncio.sleep(0.01)
    return [{"payload": task.payload, "size": len(tasks)} for task in tasks]


@handler("picky", batch_size=10, batch_wait=0.1)
async def picky(tasks: list[Task]) -> list[Any]:
    """Odd payloads fail, each alone; even ones are done, with ten times the payload."""
    called(tasks)
    return [
        ValueError(f"odd {task.payload}") if task.payload % 2 else task.payload * 10
        for task in tasks
    ]


@handler("all_or_nothing", batch_size=10, batch_wait=0.1)
async def all_or_nothing(tasks: list[Task]) -> None:
    called(tasks)
    raise RuntimeError(f"a batch of {len(tasks)} failed")


@handler("miscounted", batch_size=4, batch_wait=0.05)
async def miscounted(tasks: list[Task]) -> list[Any]:
    called(tasks)
    return [1]


@handler("stalling", batch_size=10, batch_wait=0.05)
async def stalling(tasks: list[Task]) -> None:
    called(tasks)
    await asyncio.sleep(60)


@handler("patient", batch_size=50, batch_wait=60.0)
async def patient(tasks: list[Task]) -> list[str]:
    """Waits a minute for 50 tasks: only a drain runs a smaller batch soon."""
    called(tasks)
    return ["ran" for _ in tasks]


@handler("plain", batch_size=3, batch_wait=0.05)
def plain(tasks: list[Task]) -> list[int]:
    """A plain def: it runs in a thread, the list as its one argument."""
    called(tasks)
    return [len(tasks)] * len(tasks)


@handler("single")
async def single(task: Task) -> Any:
    return task.payload
