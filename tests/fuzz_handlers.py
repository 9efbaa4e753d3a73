"""The handlers a fuzzed server runs: each ends by itself, whatever the payload."""

from __future__ import annotations

import asyncio
from typing import Any

from service import Task, handler


@handler("echo")
async def echo(task: Task) -> Any:
    return task.payload


@handler("boom")
async def boom(task: Task) -> None:
    raise ValueError("this handler always fails")


@handler("nap")
async def nap(task: Task) -> None:
    await asyncio.sleep(0.05)
