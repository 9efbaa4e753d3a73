"""A task database deleted or replaced under a running service takes no more tasks."""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from pathlib import Path

import pytest

from service import Settings, Task, create_app
from service.errors import StoreError
from service.store.sqlite import SQLiteStore

GONE = "was deleted or replaced while the service ran; restart the service"


def delete(path: Path) -> None:
    path.unlink()


def replace(path: Path) -> None:
    """Another task database renamed over it, as a restore from a backup would."""
    other = path.with_name("other.db")
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE tasks (id TEXT)")
    connection.close()
    os.replace(other, path)


@pytest.mark.parametrize("remove", [delete, replace])
async def test_writes_fail_once_the_file_is_gone(
    tmp_path: Path, remove: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, "service.store")
    path = tmp_path / "tasks.db"
    store = SQLiteStore(Settings(store=f"sqlite:///{path}"))
    await store.open()
    try:
        accepted = Task(type="echo", payload=1)
        assert await store.add([accepted]) == [accepted]
        [running] = (await store.claim(1)).tasks
        assert callable(remove)
        remove(path)
        refused = [Task(type="echo", payload=2), Task(type="echo", payload=3)]
        for task in refused:
            with pytest.raises(StoreError, match=f"{path} {GONE}"):
                await store.add([task])
        running.status, running.finished_at = "done", time.time()
        store.record(running)
        with pytest.raises(StoreError, match=GONE):
            await store.flush()
        with pytest.raises(StoreError, match=GONE):
            await store.claim(1)
    finally:
        with pytest.raises(StoreError, match=f"could not write the state of 1 tasks \\(.*{GONE}"):
            await store.close()
    assert caplog.text.count(GONE) == 2  # when it is found, and what close could not write
    if path.exists():  # SQLite mixes the old WAL into the new file: the accepted task shows
        with sqlite3.connect(path) as connection:
            found = {row[0] for row in connection.execute("SELECT id FROM tasks")}
        assert not found & {task.id for task in refused}


async def test_the_service_answers_503_once_the_file_is_deleted(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    settings = Settings(
        store=f"sqlite:///{path}", handlers=("tests.sample_handlers",), drain_timeout=1
    )
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        assert (await client.post("/task?type=echo", json=1)).status_code == 202
        path.unlink()
        refused = await client.post("/task?type=echo", json=2)
        assert refused.status_code == 503
        assert (await refused.get_json())["error"] == "store_unavailable"


async def test_a_deleted_file_does_not_hold_the_drain_until_its_deadline(tmp_path: Path) -> None:
    path = tmp_path / "tasks.db"
    settings = Settings(
        store=f"sqlite:///{path}", handlers=("tests.sample_handlers",), drain_timeout=3
    )
    app = create_app(settings)
    async with app.test_app():
        finished = await app.test_client().post("/task?type=echo", json=1)
        assert finished.status_code == 202
        await app.extensions["task_service"].store.flush()
        path.unlink()
        began = time.monotonic()
    assert time.monotonic() - began < 1  # nothing was held, nothing can be claimed
