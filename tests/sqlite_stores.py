"""SQLite stores on one file for the tests, and a look at the file as another program sees it."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import closing
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from service import Settings, Task
from service.store import sql
from service.store.sqlite import SQLiteStore
from tests.stores import opening

ROOT = Path(__file__).resolve().parents[1]
NEWEST = sql.migrations("sqlite")[-1][0]
NO_SUCH_PID = 2147483646

Opener = Callable[..., Awaitable[SQLiteStore]]


def sqlite_store(path: Path, **overrides: float) -> SQLiteStore:
    return SQLiteStore(Settings(store=f"sqlite:///{path}", **overrides))  # type: ignore[arg-type]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "t.db"


@pytest.fixture
async def opener(path: Path) -> AsyncIterator[Opener]:
    """Opens stores on one file, each standing for a process; all closed after the test."""
    async with opening(partial(sqlite_store, path)) as open_one:
        yield open_one


def execute(path: Path, statement: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
    """One statement on a connection of its own, as another program would run it."""
    with closing(sqlite3.connect(path)) as connection, connection:
        return connection.execute(statement, parameters).fetchall()


def expire(path: Path, owner: str) -> None:
    """The owner's lease runs out, as if it had stopped renewing it long ago."""
    execute(path, "UPDATE owners SET expires_at = 0 WHERE id = ?", (owner,))


def stored(path: Path) -> dict[str, tuple[str, int, str | None]]:
    """(status, attempts, owner) of every task, by id."""
    found = execute(path, "SELECT id, status, attempts, owner FROM tasks")
    return {task_id: (status, attempts, owner) for task_id, status, attempts, owner in found}


def marked_claimed(task: Task, owner: str) -> Task:
    """The task as the service marks it to start at once, before it is stored."""
    task.status, task.attempts, task.claim, task.started_at = "running", 1, (owner, 1), time.time()
    return task
