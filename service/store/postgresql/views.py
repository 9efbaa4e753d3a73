"""What the dashboard reads: counts, throughput, instances, failed tasks by filter; and the
bulk retry of those."""

from __future__ import annotations

from ..views import Count, Failed, Instance, Minute, id_range
from .connection import Connection
from .rows import QUERIES
from .writes import Batch


async def count_tasks(connection: Connection) -> list[Count]:
    found = await connection.fetch(QUERIES["count_tasks"])
    return [Count(row["type"], row["status"], row["count"]) for row in found]


async def throughput(connection: Connection, minutes: int) -> list[Minute]:
    found = await connection.fetch(QUERIES["throughput"], minutes)
    return [Minute(row["minute"], row["done"], row["failed"]) for row in found]


async def instances(connection: Connection) -> list[Instance]:
    found = await connection.fetch(QUERIES["instances"])
    return [Instance(*row) for row in found]


async def count_failed(connection: Connection, type: str | None, prefix: str) -> Failed:
    low, high = id_range(prefix)
    if type is None:
        row = await connection.fetchrow(QUERIES["count_failed"], low, high)
    else:
        row = await connection.fetchrow(QUERIES["count_failed_of_type"], low, high, type)
    return Failed(0) if row is None else Failed(row["count"], row["newest"])


async def retry_failed(
    connection: Connection, batch: Batch, type: str | None, prefix: str, upto: str
) -> int:
    """In the group commit's transaction; the others hear of the tasks at COMMIT."""
    low, high = id_range(prefix)
    if type is None:
        done = await connection.execute(QUERIES["retry_failed"], low, high, upto)
    else:
        done = await connection.execute(QUERIES["retry_failed_of_type"], low, high, upto, type)
    retried = int(done.rsplit(" ", 1)[1])
    batch.due = batch.due or retried > 0
    return retried
