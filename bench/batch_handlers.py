"""Batch handlers for `bench.batches`, one per measured batch size, loaded only there.

Each returns one small result per task, as a handler that writes its batch somewhere and
reports on every task would.
"""

from __future__ import annotations

from service import handler
from service.task import Task

WAIT = 0.05
"""Seconds a partial batch waits: only the last one of a run is partial, if any."""


def results(tasks: list[Task]) -> list[int]:
    return [len(tasks)] * len(tasks)


@handler("batch-1", batch_size=1, batch_wait=WAIT)
async def batch_1(tasks: list[Task]) -> list[int]:
    return results(tasks)


@handler("batch-100", batch_size=100, batch_wait=WAIT)
async def batch_100(tasks: list[Task]) -> list[int]:
    return results(tasks)


@handler("batch-1000", batch_size=1000, batch_wait=WAIT)
async def batch_1000(tasks: list[Task]) -> list[int]:
    return results(tasks)
