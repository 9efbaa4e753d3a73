"""Batch handlers: due tasks of a type handed over together, each one ended on its own."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import pytest

from service import Settings, Task, create_app, handler
from service.errors import ConfigError
from service.handlers import Registry
from service.store import open_store
from tests import batch_handlers
from tests.conftest import Running, Starter

BATCHES = ("tests.batch_handlers",)
shared = pytest.mark.parametrize("store_url", ["sqlite", "postgresql"], indirect=True)
"""Stores several processes share: a memory store is one process's own."""


@pytest.fixture(autouse=True)
def fresh_calls() -> None:
    batch_handlers.calls.clear()


@pytest.fixture
def start_batches(start: Starter) -> Starter:
    def starter(**overrides: Any) -> Any:
        return start(**{"handlers": BATCHES, **overrides})

    return starter


async def submit(running: Running, type: str, payloads: list[Any], query: str = "") -> list[str]:
    response = await running.post(f"/tasks?type={type}{query}", payloads)
    assert response.status_code == 202, await response.get_data(as_text=True)
    ids: list[str] = (await response.get_json())["ids"]
    return ids


async def finished(running: Running, ids: list[str]) -> list[dict[str, Any]]:
    return [await running.wait_finished(task_id) for task_id in ids]


def sizes(type: str) -> list[int]:
    return [len(payloads) for kind, payloads, _ in batch_handlers.calls if kind == type]


def handled(type: str) -> list[Any]:
    return [p for kind, payloads, _ in batch_handlers.calls if kind == type for p in payloads]


async def test_batches_never_exceed_batch_size(start_batches: Starter) -> None:
    async with start_batches(concurrency=3) as running:
        ids = await submit(running, "ingest", list(range(23)))
        for n in range(23, 30):
            ids += await submit(running, "ingest", [n])
        records = await finished(running, ids)
    assert all(size <= 5 for size in sizes("ingest")), sizes("ingest")
    assert max(sizes("ingest")) == 5  # the bulk fills whole batches
    assert sorted(handled("ingest")) == list(range(30))  # each task once
    for n, record in enumerate(records):
        assert record["status"] == "done" and record["attempts"] == 1
        assert record["result"]["payload"] == n and 1 <= record["result"]["size"] <= 5


async def test_a_lone_task_starts_within_batch_wait(start_batches: Starter) -> None:
    async with start_batches() as running:
        began = time.monotonic()
        [task_id] = await submit(running, "ingest", ["alone"])
        record = await running.wait_finished(task_id)
    [(_, payloads, called_at)] = batch_handlers.calls
    assert payloads == ["alone"] and record["result"] == {"payload": "alone", "size": 1}
    waited = called_at - began
    assert 0.25 <= waited <= 0.3 + 0.4, f"the lone task started after {waited:.3f} s"


async def test_a_returned_exception_fails_its_task_alone(start_batches: Starter) -> None:
    async with start_batches() as running:
        ids = await submit(running, "picky", list(range(8)), "&max_attempts=1")
        records = await finished(running, ids)
    for n, record in enumerate(records):
        if n % 2:
            assert (record["status"], record["error"]) == ("failed", f"ValueError: odd {n}")
            assert record["result"] is None
        else:
            assert (record["status"], record["result"], record["error"]) == ("done", n * 10, None)
        assert record["attempts"] == 1


async def test_raising_fails_every_task_each_retried_by_its_own_budget(
    start_batches: Starter,
) -> None:
    async with start_batches() as running:
        once = await submit(running, "all_or_nothing", [0, 1], "&max_attempts=1")
        thrice = await submit(running, "all_or_nothing", [2, 3], "&max_attempts=3")
        records = await finished(running, once + thrice)
    assert [record["attempts"] for record in records] == [1, 1, 3, 3]
    for record in records:
        assert record["status"] == "failed"
        assert record["error"].startswith("RuntimeError: a batch of ")
    assert Counter(handled("all_or_nothing")) == {0: 1, 1: 1, 2: 3, 3: 3}


async def test_a_result_list_of_the_wrong_length_fails_the_batch(start_batches: Starter) -> None:
    async with start_batches() as running:
        ids = await submit(running, "miscounted", ["a", "b", "c"], "&max_attempts=1")
        records = await finished(running, ids)
    for record in records:
        assert record["status"] == "failed"
        assert record["error"].startswith("BadBatchResult: a batch handler returns None or a list")


async def test_the_task_timeout_applies_to_the_whole_batch_call(start_batches: Starter) -> None:
    async with start_batches(task_timeout=0.3) as running:
        ids = await submit(running, "stalling", [1, 2, 3], "&max_attempts=1")
        records = await finished(running, ids)
    assert sizes("stalling") == [3]
    assert [record["error"] for record in records] == ["timed out after 0.3 s"] * 3


async def test_a_plain_def_batch_handler_gets_the_list(start_batches: Starter) -> None:
    async with start_batches() as running:
        ids = await submit(running, "plain", list(range(7)))
        records = await finished(running, ids)
    assert sum(sizes("plain")) == 7 and max(sizes("plain")) <= 3
    assert all(record["status"] == "done" and record["result"] <= 3 for record in records)


async def test_single_and_batch_tasks_share_one_worker(start_batches: Starter) -> None:
    async with start_batches(concurrency=1) as running:
        ids = await submit(running, "single", list(range(20)))
        ids += await submit(running, "ingest", list(range(12)))
        ids += await submit(running, "single", list(range(20, 30)))
        records = await finished(running, ids)
    assert all(record["status"] == "done" for record in records)
    assert sorted(handled("ingest")) == list(range(12))


async def test_the_drain_runs_the_partial_batch_it_holds(
    start_batches: Starter, settings: Settings
) -> None:
    async with start_batches() as running:
        ids = await submit(running, "patient", ["a", "b", "c"])
        async with asyncio.timeout(10):  # claimed: held, waiting a minute for 47 more
            while len(running.service.pool.held) < 3:
                await asyncio.sleep(0.01)
        assert batch_handlers.calls == []
        began = time.monotonic()
    assert time.monotonic() - began < 5
    assert sizes("patient") == [3]
    assert running.service.pool.counts.done == 3
    if settings.store != "memory":
        store = open_store(settings)
        await store.open()
        try:
            stored = await store.get_many(ids)
        finally:
            await store.close()
        assert sorted((task.status, task.result) for task in stored) == [("done", "ran")] * 3


@shared
async def test_instances_on_one_store_run_each_task_once(
    settings: Settings,
) -> None:
    apps = [create_app(replace(settings, handlers=BATCHES, concurrency=2)) for _ in range(3)]
    async with apps[0].test_app(), apps[1].test_app(), apps[2].test_app():
        instances = [Running(app) for app in apps]
        ids = []
        for n in range(0, 150, 10):
            ids += await submit(instances[n % 3], "ingest", list(range(n, n + 10)))
        records = await finished(instances[0], ids)
    assert sorted(handled("ingest")) == list(range(150))  # none run twice
    assert all(size <= 5 for size in sizes("ingest"))
    assert all(record["status"] == "done" and record["attempts"] == 1 for record in records)


@shared
async def test_a_dead_owners_batch_tasks_are_taken_over_and_its_writes_fenced(
    start_batches: Starter, settings: Settings
) -> None:
    dead = open_store(replace(settings, lease_timeout=1.0))
    await dead.open()
    try:
        await dead.add([Task("ingest", n) for n in range(3)])
        claimed = (await dead.claim(10, only="ingest")).tasks
        assert len(claimed) == 3  # running under a lease nobody renews
        async with start_batches() as running:
            records = await finished(running, [task.id for task in claimed])
            late = claimed[0]
            late.status, late.result, late.finished_at = "done", "late", time.time()
            dead.record(late)
            await dead.flush()
            assert (await running.wait_finished(late.id))["result"] != "late"
    finally:
        await dead.close()
    assert sorted(handled("ingest")) == [0, 1, 2]
    assert all(record["status"] == "done" and record["attempts"] == 2 for record in records)
    assert dead.fenced == 1


@pytest.fixture
async def two_types(settings: Settings) -> AsyncIterator[Any]:
    store = open_store(settings)
    await store.open()
    await store.add([Task("a", 1), Task("b", 2, priority=5), Task("a", 3, priority=9)])
    yield store
    await store.close()


async def test_a_claim_takes_one_type_or_skips_some(two_types: Any) -> None:
    store = two_types
    only_a = (await store.claim(10, only="a")).tasks
    assert [task.payload for task in only_a] == [3, 1]
    assert (await store.claim(10, skip=frozenset({"b"}))).tasks == []
    [b] = (await store.claim(10, skip=frozenset({"a", "c"}))).tasks
    assert (b.payload, b.status, b.attempts) == (2, "running", 1)


def batch_target(size: Any, wait: Any) -> Any:
    @handler("bulk", batch_size=size, batch_wait=wait)
    async def bulk(tasks: list[Task]) -> None:
        return None

    return bulk


@pytest.mark.parametrize(
    ("size", "wait", "message"),
    [
        (0, 1.0, "batch_size must be an integer >= 1, not 0"),
        (2.5, 1.0, "batch_size must be an integer >= 1, not 2.5"),
        (None, 1.0, "batch_size must be an integer >= 1, not None"),
        (10, -1, "batch_wait must be a number of seconds >= 0, not -1"),
        (10, float("nan"), "batch_wait must be a number of seconds >= 0, not nan"),
    ],
)
def test_a_bad_batch_declaration_names_its_handler(size: Any, wait: Any, message: str) -> None:
    with pytest.raises(ConfigError, match=f"batch handler 'bulk': {message}"):
        Registry().add("bulk", batch_target(size, wait))


def test_a_batch_handler_must_take_a_list() -> None:
    @handler("pair", batch_size=2)
    async def pair(first: Task, second: Task) -> None:
        return None

    with pytest.raises(ConfigError, match="'pair' must take exactly one argument"):
        Registry().add("pair", pair)
    with pytest.raises(ConfigError, match="batch handler 'lonely' must take a list of tasks"):
        Registry.load(["tests.bad_batch_handlers"])
    registry = Registry()
    registry.add("bulk", batch_target(500, 5))
    assert registry.batches["bulk"].size == 500 and registry.batches["bulk"].wait == 5.0
