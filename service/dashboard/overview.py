"""What the overview shows: counts by status and type, throughput, the queue, instances."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from ..core import TaskService
from ..reads import read
from ..store import QueueStats
from ..store.views import Instance
from .chart import Chart, chart
from .filters import STATUSES


@dataclass(frozen=True, slots=True)
class TypeRow:
    type: str
    counts: dict[str, int]
    total: int


@dataclass(frozen=True, slots=True)
class Overview:
    statuses: dict[str, int]
    types: list[TypeRow]
    chart: Chart
    queue: QueueStats
    instances: list[Instance]
    read_at: float


async def read_overview(service: TaskService) -> Overview:
    store = service.store
    counts, minutes, queue, instances = await asyncio.gather(
        read(store.count_tasks()),
        read(store.throughput(60)),
        read(store.stats()),
        read(store.instances()),
    )
    statuses: dict[str, int] = dict.fromkeys(STATUSES, 0)
    by_type: dict[str, dict[str, int]] = {}
    for count in counts:
        statuses[count.status] += count.count
        by_type.setdefault(count.type, dict.fromkeys(STATUSES, 0))[count.status] += count.count
    types = [TypeRow(kind, found, sum(found.values())) for kind, found in sorted(by_type.items())]
    now = time.time()
    return Overview(statuses, types, chart(minutes, now), queue, instances, now)
