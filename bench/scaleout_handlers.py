"""Task types for the scale-out group, loaded with `SERVICE_HANDLERS=bench.scaleout_handlers`.

- `stamp` returns the wall time at which its handler started: the idle latency is read from
  it, on the clock the benchmark took just before its POST (one machine, one clock).
- `hang_once` sleeps `payload["seconds"]` on its first attempt only: the instance that runs it
  first is killed under it, and the instance that takes it over finishes it at once.
"""

from __future__ import annotations

import asyncio
import time

from service import handler
from service.task import Task


@handler("stamp")
async def stamp(task: Task) -> dict[str, float]:
    return {"started": time.time()}


@handler("hang_once")
async def hang_once(task: Task) -> None:
    if task.attempts <= 1:
        await asyncio.sleep(float(task.payload["seconds"]))
