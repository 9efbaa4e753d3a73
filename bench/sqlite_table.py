"""SQLite alone, no service: how fast the task table takes new and finished tasks as it grows.

Writes tasks as the store does (its schema, its INSERT and UPDATE, batches of 1000 committed
with synchronous=FULL) and prints tasks/s for each slice of rows, for three set-ups:
random ids on SQLite's default cache and checkpoints; random ids on the store's settings;
and time-first ids (as `new_id` makes them) on the store's settings. Then the time one
commit of 20 new tasks takes on this disk, the size of a group commit under HTTP load.

    python -m bench.sqlite_table [--rows 800000]
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from service.store.sqlite import CACHE_KIB, QUERIES, migrate
from service.task import new_id

BATCH = 1000
SLICES = 4


def random_id() -> str:
    return os.urandom(16).hex()


def rates(path: Path, make_id: Callable[[], str], pragmas: list[str], rows: int) -> list[float]:
    """Tasks/s (insert, then finish) for each of SLICES equal slices of `rows`."""
    connection = sqlite3.connect(path, isolation_level=None)
    for pragma in ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", *pragmas]:
        connection.execute(pragma)
    migrate(connection)
    per_slice, measured = rows // SLICES, []
    began = time.perf_counter()
    for start in range(0, rows, BATCH):
        new = [
            (make_id(), "dummy", b'{"foo":"bar"}', 0, 1, 0.0, time.time(), None, "owner", None)
            for _ in range(BATCH)
        ]
        done = [
            ("done", 1, 0.0, None, None, 1.0, 2.0, seq + 1) for seq in range(start - BATCH, start)
        ]
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(QUERIES["insert"], new)
        if start:
            connection.executemany(QUERIES["update"], done)
        connection.execute("COMMIT")
        if (start + BATCH) % per_slice == 0:
            measured.append(per_slice / (time.perf_counter() - began))
            began = time.perf_counter()
    connection.close()
    return measured


def commit_times(path: Path, commits: int = 500, size: int = 20) -> list[float]:
    """Seconds per commit of `size` new tasks, sorted."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL")
    connection.execute("PRAGMA synchronous = FULL")
    migrate(connection)
    times = []
    for _ in range(commits):
        new = [
            (new_id(), "dummy", b"{}", 0, 1, 0.0, time.time(), None, "o", None) for _ in range(size)
        ]
        began = time.perf_counter()
        connection.execute("BEGIN IMMEDIATE")
        connection.executemany(QUERIES["insert"], new)
        connection.execute("COMMIT")
        times.append(time.perf_counter() - began)
    connection.close()
    return sorted(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=800_000)
    rows = parser.parse_args().rows
    store = [f"PRAGMA cache_size = -{CACHE_KIB}", "PRAGMA wal_autocheckpoint = 100000"]
    setups = [
        ("random ids, SQLite defaults", random_id, []),
        ("random ids, store settings", random_id, store),
        ("time-first ids, store settings", new_id, store),
    ]
    print(f"tasks/s (insert + finish, batches of {BATCH}) per {rows // SLICES:,} rows")
    with tempfile.TemporaryDirectory() as folder:
        for number, (name, make_id, pragmas) in enumerate(setups):
            measured = rates(Path(folder) / f"{number}.db", make_id, pragmas, rows)
            print(f"{name:32s}" + "".join(f"{rate:>10,.0f}" for rate in measured))
        times = commit_times(Path(folder) / "commits.db")
    p50, p90 = times[len(times) // 2], times[len(times) * 9 // 10]
    print(f"one commit of 20 new tasks: p50 {p50 * 1000:.2f} ms, p90 {p90 * 1000:.2f} ms")


if __name__ == "__main__":
    main()
