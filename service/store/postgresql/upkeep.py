"""Periodic upkeep: forget expired finished tasks, a chunk at a time, long-gone owners and
old schedule ticks."""

from __future__ import annotations

from ..base import TICK_MEMORY
from .connection import Connection
from .rows import QUERIES

OWNER_MEMORY = 3600.0
"""Seconds an owner whose lease ran out is remembered, if it holds no running task."""
PURGE_CHUNK = 1000
PURGE_CHUNKS = 10
"""At most PURGE_CHUNK * PURGE_CHUNKS finished tasks are forgotten per `maintain`."""


async def upkeep(connection: Connection, ttl: float) -> None:
    for _ in range(PURGE_CHUNKS):
        done = await connection.execute(QUERIES["purge_finished"], ttl, PURGE_CHUNK)
        if int(done.rsplit(" ", 1)[1]) < PURGE_CHUNK:
            break
    await connection.execute(QUERIES["forget_old_owners"], OWNER_MEMORY)
    await connection.execute(QUERIES["forget_old_ticks"], TICK_MEMORY)
