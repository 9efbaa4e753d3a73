"""The shutdown summary tells the truth about what the store took back and what is lost.

`released`: the running attempts cut off by the drain deadline that the store took back.
`abandoned`: on SQLite, those it could not take back (they run again once the lease runs
out); on memory, every unfinished task, queued ones included, since all are lost.
"""

from __future__ import annotations

import logging
import re
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from service import Settings, create_app


def sqlite_settings(path: Path) -> Settings:
    return Settings(
        store=f"sqlite:///{path}",
        handlers=("tests.sample_handlers",),
        drain_timeout=0.2,
        concurrency=2,
    )


def summary(caplog: pytest.LogCaptureFixture) -> str:
    line = re.search(r"stopped after .*", caplog.text)
    assert line is not None, caplog.text
    return line.group(0)


async def test_released_counts_the_cut_off_attempts_the_store_took_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "service")
    path = tmp_path / "tasks.db"
    app = create_app(sqlite_settings(path))
    async with app.test_app():
        response = await app.test_client().post("/tasks?type=gated", json=[1, 2, 3, 4, 5])
        assert response.status_code == 202
        ids = (await response.get_json())["ids"]
    assert "abandoned=0 (run again once the lease runs out) released=2" in summary(caplog)
    with closing(sqlite3.connect(path)) as connection:
        found = connection.execute("SELECT id, status, attempts, owner FROM tasks").fetchall()
    # The two running attempts are given back uncounted; the three queued ones never left.
    assert sorted(found) == sorted((task_id, "queued", 0, None) for task_id in ids)


async def test_what_the_store_cannot_take_back_is_abandoned_not_released(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "service")
    path = tmp_path / "tasks.db"
    app = create_app(sqlite_settings(path))
    async with app.test_app():
        response = await app.test_client().post("/tasks?type=gated", json=[1, 2, 3])
        assert response.status_code == 202
        path.unlink()  # nothing can be given back to a file that is gone
    assert "abandoned=2 (run again once the lease runs out) released=0" in summary(caplog)
    assert "could not give 2 unfinished tasks back to the store" in caplog.text
    assert "closing the store failed" in caplog.text


async def test_memory_abandons_every_unfinished_task(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "service")
    settings = Settings(
        store="memory", handlers=("tests.sample_handlers",), drain_timeout=0.2, concurrency=2
    )
    app = create_app(settings)
    async with app.test_app():
        response = await app.test_client().post("/tasks?type=gated", json=[1, 2, 3, 4, 5])
        assert response.status_code == 202
    # Three queued and two cut off while running: all end with the process.
    assert "abandoned=5 (lost) released=0" in summary(caplog)
