"""What the dashboard reads: counts, throughput, instances, failed tasks by filter; and the
bulk retry of those."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from ..views import Count, Failed, Instance, Minute, id_range
from .connector import Connector
from .rows import QUERIES


class DashboardViews:
    """The store's verbs for the dashboard; mixed into SQLiteStore. Reads go to the second
    connection, so that a count does not hold up writes."""

    _db: Connector

    def _submit(
        self, operation: Callable[[sqlite3.Connection], Any], *, with_states: bool = True
    ) -> asyncio.Future[Any]:
        raise NotImplementedError

    async def count_tasks(self) -> list[Count]:
        return await self._db.read(count_tasks)

    async def throughput(self, minutes: int) -> list[Minute]:
        return await self._db.read(partial(throughput, minutes=minutes))

    async def instances(self) -> list[Instance]:
        return await self._db.read(instances)

    async def count_failed(self, *, type: str | None = None, prefix: str = "") -> Failed:
        return await self._db.read(partial(count_failed, type=type, prefix=prefix))

    async def retry_failed(self, *, type: str | None, prefix: str, upto: str) -> int:
        retry = partial(retry_failed, type=type, prefix=prefix, upto=upto)
        retried: int = await self._submit(retry)
        return retried


def count_tasks(connection: sqlite3.Connection) -> list[Count]:
    found = connection.execute(QUERIES["count_tasks"]).fetchall()
    return [Count(type, status, count) for type, status, count in found]


def throughput(connection: sqlite3.Connection, minutes: int) -> list[Minute]:
    since = time.time() - minutes * 60
    found = connection.execute(QUERIES["throughput"], {"since": since}).fetchall()
    return [Minute(float(minute), done, failed) for minute, done, failed in found]


def instances(connection: sqlite3.Connection) -> list[Instance]:
    found = connection.execute(QUERIES["instances"], {"now": time.time()}).fetchall()
    return [Instance(*row) for row in found]


def count_failed(connection: sqlite3.Connection, type: str | None, prefix: str) -> Failed:
    query = "count_failed" if type is None else "count_failed_of_type"
    low, high = id_range(prefix)
    found = connection.execute(QUERIES[query], {"type": type, "low": low, "high": high})
    count, newest = found.fetchone()
    return Failed(count, newest)


def retry_failed(connection: sqlite3.Connection, type: str | None, prefix: str, upto: str) -> int:
    query = "retry_failed" if type is None else "retry_failed_of_type"
    low, high = id_range(prefix)
    parameters = {"type": type, "low": low, "high": high, "upto": upto, "now": time.time()}
    retried: int = connection.execute(QUERIES[query], parameters).rowcount
    return retried
