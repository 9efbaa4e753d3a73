"""Task types for the benchmarks, loaded with `SERVICE_HANDLERS=bench.handlers`.

- `gate` holds its worker until the gate opens (in-process only): a benchmark queues one gate
  task per worker, then the tasks it measures, then opens the gate, so that the drain it
  times is the workers alone.
- `pause` holds its worker for `payload["seconds"]`: over HTTP, it keeps the workers busy
  while tasks pile up behind them.
"""

from __future__ import annotations

import asyncio

from service import handler
from service.task import Task

_gates: list[asyncio.Event] = []


def close_gate() -> None:
    """Make a new, closed gate on the running event loop."""
    _gates[:] = [asyncio.Event()]


def open_gate() -> None:
    for event in _gates:
        event.set()


@handler("gate")
async def gate(task: Task) -> None:
    await _gates[0].wait()


@handler("pause")
async def pause(task: Task) -> None:
    await asyncio.sleep(float(task.payload["seconds"]))
