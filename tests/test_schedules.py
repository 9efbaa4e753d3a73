"""Schedules in one process: declarations checked at start-up, ticks stored with their
tasks on every store, exactly once when processes race, and `GET /schedules`."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from service import Settings, Task, create_app
from service.errors import ConfigError
from service.handlers import Registry
from service.schedules import Declared, check_all
from service.store import Store
from service.store.base import Tick
from tests.any_stores import Opener
from tests.conftest import Starter


@pytest.fixture(scope="module")
def registry() -> Registry:
    return Registry.load(["tests.sample_handlers"])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"cron": "0 25 * * *"}, "schedule 'x' in tests: bad cron expression '0 25 * * *'"),
        ({"cron": "0 3 * *"}, "schedule 'x' in tests: cron must have five fields"),
        ({"every": 1, "type": "nope"}, "schedule 'x' in tests: no handler is registered for"),
        ({"every": 5, "timezone": "Mars/Olympus"}, "schedule 'x' in tests: unknown time zone"),
        ({"every": 0.5}, "schedule 'x' in tests: every must be at least 1 second"),
        ({"every": 5, "cron": "* * * * *"}, "give either every= (seconds) or cron="),
        ({}, "give either every= (seconds) or cron="),
        ({"every": 5, "catch_up": "some"}, "catch_up must be one of latest, none, all"),
        ({"every": 5, "payload": [1]}, "payload must be a JSON object"),
        ({"every": 5, "payload": {"due": 1}}, "payload may not use the key(s) due"),
    ],
)
def test_a_bad_schedule_is_named(registry: Registry, fields: dict[str, Any], message: str) -> None:
    declared = Declared(**{"name": "x", "type": "echo", "module": "tests", **fields})
    with pytest.raises(ConfigError) as error:
        check_all([declared], registry)
    assert message in str(error.value)


def test_a_name_declared_twice_is_refused(registry: Registry) -> None:
    first = Declared("x", "echo", every=5, module="a.tasks")
    with pytest.raises(ConfigError, match=r"schedule 'x' is declared twice \(in a.tasks and in b"):
        check_all([first, replace(first, module="b.tasks")], registry)


def test_fractional_periods_are_allowed(registry: Registry) -> None:
    [checked] = check_all([Declared("x", "echo", every=1.5)], registry)
    assert checked.timing.next_after(0.2) == 1.5


async def test_start_up_fails_on_a_bad_schedule(tmp_path: Path) -> None:
    settings = Settings(store="memory", handlers=("tests.sample_handlers", "tests.bad_schedule"))
    app = create_app(settings)
    with pytest.raises(ConfigError, match="schedule 'broken' in tests.bad_schedule: bad cron"):
        await app.extensions["task_service"].start()


async def test_ticks_become_tasks_and_are_listed(start: Starter) -> None:
    handlers = ("tests.sample_handlers", "tests.schedule_handlers")
    async with start(handlers=handlers, schedule_interval=0.1) as running:
        first = await ticks_listed(running.client, 2)
        await asyncio.sleep(1.1)
        response = await running.client.get("/schedules")
        assert response.status_code == 200
        every, nightly = (await response.get_json())["schedules"]
    assert [task["payload"]["schedule"] for task in first] == ["every-second"] * 2
    dues = sorted(task["payload"]["due"] for task in first)
    assert dues[1][17:19] == f"{(int(dues[0][17:19]) + 1) % 60:02d}", "one second apart"
    assert first[0]["payload"]["note"] == "hello"
    assert every["name"] == "every-second" and every["every"] == 1.0 and every["cron"] is None
    assert every["last_tick"] > dues[1] and every["next_tick"] > every["last_tick"]
    assert every["last_task_status"] in ("queued", "running", "done")
    assert len(every["last_task_id"]) == 44
    assert nightly["cron"] == "0 3 * * *" and nightly["timezone"] == "Europe/Paris"
    assert nightly["last_tick"] is None and nightly["last_task_status"] is None
    assert nightly["next_tick"].endswith(("T02:00:00.000000+00:00", "T01:00:00.000000+00:00"))


async def test_no_schedules_lists_none(start: Starter) -> None:
    async with start() as running:
        response = await running.client.get("/schedules")
        assert (await response.get_json()) == {"schedules": []}
        assert running.service.scheduler.stored == 0


async def ticks_listed(client: Any, count: int) -> list[dict[str, Any]]:
    async with asyncio.timeout(10):
        while True:
            body = await (await client.get("/tasks?type=echo")).get_json()
            if len(body["tasks"]) >= count:
                return list(reversed(body["tasks"]))[:count]
            await asyncio.sleep(0.05)


def ticks(schedule: str, dues: list[float]) -> list[tuple[Tick, Task]]:
    made = []
    for due in dues:
        task = Task("echo", {"schedule": schedule, "due": due})
        made.append((Tick(schedule, due, task.id), task))
    return made


@pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
async def test_processes_racing_for_the_same_ticks_store_each_once(store_opener: Opener) -> None:
    stores = [await store_opener() for _ in range(3)]
    dues = [1000.0 + n for n in range(50)]
    results = await asyncio.gather(*(store.add_ticks(ticks("race", dues)) for store in stores))
    assert sorted(task.payload["due"] for stored in results for task in stored) == dues
    listed = await stores[0].list_tasks(type="echo", limit=1000)
    assert sorted(task.payload["due"] for task in listed) == dues
    view = await stores[1].last_ticks(["race", "other"])
    assert view.last["race"].due == 1049.0 and "other" not in view.last
    assert view.last["race"].task_id in {task.id for task in listed}
    assert abs(view.now - time.time()) < 5


async def test_old_ticks_are_forgotten_but_the_latest_is_kept(store: Store) -> None:
    old = float(int(time.time()) - 2 * 86400)  # ticks are kept to the microsecond
    await store.add_ticks(ticks("daily", [old, old + 60]))
    await store.maintain()
    assert (await store.add_ticks(ticks("daily", [old + 60]))) == []
    view = await store.last_ticks(["daily"])
    assert view.last["daily"].due == old + 60
    again = await store.add_ticks(ticks("daily", [old]))
    assert len(again) == 1, "the older tick was forgotten"
