"""The dashboard on a store of 1,000,000 finished tasks: how long its pages take to answer.

Fills a SQLite file and a PostgreSQL database (a throwaway cluster with durable settings)
directly, in bulk: finished tasks of five types, 90 % done, 8 % failed, 2 % cancelled, their
finish times spread evenly over the last 24 hours (so about 42,000 in the last hour, which
the throughput chart reads). Then starts the service on each and times whole HTTP answers:
the overview, the task list's first page, a filtered page, and a page deep in the list.

    python -m bench.dashboard [--tasks 1000000] [--requests 7]
    python -m bench --only dashboard
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx

from service.store.postgresql import migrate as migrate_postgresql
from service.store.sqlite import migrate as migrate_sqlite

from . import pgserver, servers
from .config import Config
from .report import Row
from .rounds import note

TYPES = ("email", "resize", "report", "webhook", "cleanup")
SPAN = 24 * 3600.0
BATCH = 10_000
COLUMNS = (
    "id type payload priority max_attempts run_at status attempts result error created_at "
    "started_at finished_at"
).split()
KEEP = {"SERVICE_RESULT_TTL": str(30 * 86400), "SERVICE_RESULT_MAX": str(10**7)}


def pages(middle_id: str) -> dict[str, str]:
    return {
        "overview": "/dashboard",
        "overview refresh (htmx)": "/dashboard",
        "task list, first page": "/dashboard/tasks",
        "task list, failed": "/dashboard/tasks?status=failed",
        "task list, type and status": "/dashboard/tasks?type=report&status=done",
        "task list, page deep in the list": f"/dashboard/tasks?after={middle_id}",
        "bulk retry confirmation (counts failed)": "/dashboard/retry-failed",
    }


def rows(count: int) -> Iterator[tuple[object, ...]]:
    """Finished tasks, oldest first, ids time-first as `new_id` makes them."""
    now = time.time()
    for n in range(count):
        finished = now - SPAN + SPAN * n / count
        created = finished - 0.5
        kind = n % 100
        status = "done" if kind < 90 else "failed" if kind < 98 else "cancelled"
        task_id = f"{int(created * 1000):012x}{os.urandom(16).hex()}"
        error = "ValueError: bench" if status == "failed" else None
        result = '{"ok":true}' if status == "done" else None
        yield (
            task_id, TYPES[n % len(TYPES)], '{"n":1}', 0, 1, created, status, 1, result,
            error, created, created + 0.1, finished,
        )  # fmt: skip


def fill_sqlite(path: Path, count: int) -> str:
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    migrate_sqlite(connection)
    insert = f"INSERT INTO tasks ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
    batch: list[tuple[object, ...]] = []
    connection.execute("BEGIN")
    for row in rows(count):
        batch.append(row)
        if len(batch) == BATCH:
            connection.executemany(insert, batch)
            batch.clear()
    connection.executemany(insert, batch)
    connection.execute("COMMIT")
    connection.execute("ANALYZE")
    middle: str = connection.execute(
        "SELECT id FROM tasks ORDER BY seq LIMIT 1 OFFSET ?", (count // 2,)
    ).fetchone()[0]
    connection.close()
    return middle


async def fill_postgresql(url: str, count: int) -> str:
    connection = await asyncpg.connect(url)
    try:
        await migrate_postgresql(connection)

        def moment(value: object) -> object:
            return datetime.fromtimestamp(value, UTC) if isinstance(value, float) else value

        batch: list[tuple[object, ...]] = []
        for row in rows(count):
            typed = tuple(moment(value) if index in (5, 10, 11, 12) else value
                          for index, value in enumerate(row))  # fmt: skip
            batch.append(typed)
            if len(batch) == BATCH * 10:
                await connection.copy_records_to_table("tasks", records=batch, columns=COLUMNS)
                batch.clear()
        await connection.copy_records_to_table("tasks", records=batch, columns=COLUMNS)
        await connection.execute("VACUUM ANALYZE tasks")
        middle: str = await connection.fetchval(
            "SELECT id FROM tasks ORDER BY seq LIMIT 1 OFFSET $1", count // 2
        )
        return middle
    finally:
        await connection.close()


def time_pages(url: str, middle_id: str, requests: int) -> dict[str, float]:
    """Median milliseconds of whole answers per page, after one unmeasured request each."""
    timings: dict[str, float] = {}
    with httpx.Client(base_url=url, timeout=60) as client:
        for name, path in pages(middle_id).items():
            headers = {"HX-Request": "true"} if "htmx" in name else {}
            measured = []
            for attempt in range(requests + 1):
                began = time.perf_counter()
                response = client.get(path, headers=headers)
                elapsed = time.perf_counter() - began
                assert response.status_code == 200, (path, response.status_code)
                if attempt:
                    measured.append(elapsed * 1000)
            timings[name] = statistics.median(measured)
    return timings


def measure(store: str, url: str, middle_id: str, workdir: Path, requests: int) -> dict[str, float]:
    env = {"SERVICE_STORE": url, **KEEP}
    server = servers.hypercorn(f"dashboard-{store}", "service:app", workdir, env)
    with servers.running(server):
        return time_pages(server.url, middle_id, requests)


def bench(tasks: int, requests: int, workdir: Path) -> dict[str, dict[str, float]]:
    results = {}
    note(f"dashboard: filling SQLite with {tasks:,} finished tasks")
    path = workdir / "dashboard.db"
    middle = fill_sqlite(path, tasks)
    results["SQLite"] = measure("sqlite", f"sqlite:///{path}", middle, workdir, requests)
    path.unlink()
    with pgserver.cluster() as databases, databases.fresh("dashboard") as url:
        note(f"dashboard: filling PostgreSQL with {tasks:,} finished tasks")
        middle = asyncio.run(fill_postgresql(url, tasks))
        results["PostgreSQL"] = measure("postgresql", url, middle, workdir, requests)
    return results


def run(config: Config, workdir: Path) -> list[Row]:
    """For `python -m bench --only dashboard`."""
    found = bench(1_000_000, 7, workdir)
    group = "dashboard, 1,000,000 finished tasks"
    return [
        Row(group, f"{store}: {page}", f"{ms:,.0f} ms", "median of 7")
        for store, timings in found.items()
        for page, ms in timings.items()
    ]


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.dashboard", description=__doc__)
    parser.add_argument("--tasks", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=7, help="measured requests per page")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as workdir:
        found = bench(args.tasks, args.requests, Path(workdir))
    print(f"| page ({args.tasks:,} finished tasks, median of {args.requests}) | " +
          " | ".join(found) + " |")  # fmt: skip
    print("|---|" + "---:|" * len(found))
    for page in next(iter(found.values())):
        cells = " | ".join(f"{timings[page]:,.1f} ms" for timings in found.values())
        print(f"| {page} | {cells} |")


if __name__ == "__main__":
    main()
