"""The SQLite claim: delayed tasks wait apart, so a claim reads only due ones."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from service import Task
from service.store.base import Claimed
from service.store.sqlite import claims, migrate, owners, rows

LEASE = 60.0


@pytest.fixture
def connection(tmp_path: Path) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(tmp_path / "t.db", isolation_level=None)) as opened:
        opened.row_factory = sqlite3.Row
        migrate(opened)
        owners.register(opened, "me", "here", LEASE, 8)
        yield opened


def counted_claim(connection: sqlite3.Connection) -> tuple[Claimed, int]:
    """A claim of up to 8 tasks, and the hundreds of SQLite instructions it ran."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    connection.set_progress_handler(count, 100)
    try:
        claimed = claims.claim(connection, "me", 8, LEASE)
    finally:
        connection.set_progress_handler(None, 100)
    return claimed, steps


def payloads(claimed: Claimed) -> list[object]:
    return [task.payload for task in claimed.tasks]


def test_a_claim_reads_none_of_the_delayed_tasks_ahead_of_the_due_one(
    connection: sqlite3.Connection,
) -> None:
    rows.insert(connection, [Task("echo", "first")])
    alone, steps_alone = counted_claim(connection)
    later = time.time() + 3600
    rows.insert(connection, [Task("echo", n, run_at=later) for n in range(5000)])
    rows.insert(connection, [Task("echo", "due")])  # behind them all in priority order
    claimed, steps = counted_claim(connection)
    assert (payloads(alone), payloads(claimed)) == (["first"], ["due"])
    # Reading and skipping 5,000 delayed tasks would take tens of thousands of instructions.
    assert steps < steps_alone + 20, (steps, steps_alone)


def test_waiting_tasks_become_claimable_once_due(connection: sqlite3.Connection) -> None:
    soon = time.time() + 0.2
    rows.insert(connection, [Task("echo", "soon", run_at=soon, priority=5)])
    rows.insert(connection, [Task("echo", "now")])
    assert payloads(counted_claim(connection)[0]) == ["now"]
    time.sleep(max(soon - time.time(), 0) + 0.05)
    assert payloads(counted_claim(connection)[0]) == ["soon"]
    assert connection.execute("SELECT count(*) FROM tasks WHERE waiting = 1").fetchone()[0] == 0


def test_a_retry_with_a_backoff_waits_and_a_release_does_not(
    connection: sqlite3.Connection,
) -> None:
    rows.insert(connection, [Task("echo", "retried"), Task("echo", "released")])
    retried, released = counted_claim(connection)[0].tasks
    retried.status, retried.run_at = "queued", time.time() + 3600
    released.status = "queued"  # given back at a drain, due as before
    ends = [end for end in map(rows.state, (retried, released)) if end is not None]
    assert len(ends) == 2 and rows.end_attempts(connection, ends) == []
    waiting = dict(connection.execute("SELECT payload, waiting FROM tasks").fetchall())
    assert waiting == {b'"retried"': 1, b'"released"': 0}
    assert payloads(counted_claim(connection)[0]) == ["released"]


def test_the_migration_sets_delayed_queued_tasks_waiting(tmp_path: Path) -> None:
    with closing(sqlite3.connect(tmp_path / "t.db", isolation_level=None)) as connection:
        connection.row_factory = sqlite3.Row
        migrate(connection, target=8)
        now = time.time()
        connection.executemany(
            "INSERT INTO tasks (id, type, payload, run_at, created_at) VALUES (?, 'echo', ?, ?, ?)",
            [
                ("a", '"at once"', 0, now),
                ("b", '"was due"', now - 1, now),
                ("c", '"later"', now + 3600, now),
            ],
        )
        migrate(connection)
        waiting = dict(connection.execute("SELECT id, waiting FROM tasks").fetchall())
        assert waiting == {"a": 0, "b": 1, "c": 1}
        owners.register(connection, "me", "here", LEASE, 8)
        assert sorted(map(str, payloads(counted_claim(connection)[0]))) == ["at once", "was due"]
