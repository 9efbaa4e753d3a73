"""What the dashboard reads: counts, throughput, instances, failed tasks by filter; and the
bulk retry of those."""

from __future__ import annotations

import sqlite3
import time

from ..views import Count, Failed, Instance, Minute, id_range
from .rows import QUERIES


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
