"""Every call of `Client` and `AsyncClient` against a real service, on memory and SQLite."""

from __future__ import annotations

import time
from datetime import UTC, timedelta

import pytest

from service.client import AsyncClient, Client, IdempotencyKeyReused, JSONInput, TaskInfo
from tests.client.support import Api
from tests.e2e.server import Server


async def test_submit_then_wait_for_the_result(api: Api) -> None:
    payload: JSONInput = {"to": "ada", "wide": 10**30, "text": "é ✓", "list": [1.5, None, True]}
    ref = await api.submit("echo", payload)
    assert ref.created and ref.status in ("queued", "running")
    assert ref.location == f"/task/{ref.id}"
    task = await api.wait(ref.id, timeout=10)
    assert (task.id, task.type, task.status) == (ref.id, "echo", "done")
    assert task.payload == payload
    assert task.result == {"echo": payload, "attempt": 1}
    assert (task.attempts, task.max_attempts, task.error) == (1, 1, None)
    assert task.created_at.tzinfo == UTC and task.finished_at is not None
    assert task.started_at is not None
    assert task.created_at <= task.started_at <= task.finished_at
    assert await api.get(ref.id) == task


async def test_a_null_payload_is_sent_as_json_null(api: Api) -> None:
    ref = await api.submit("echo", None)
    task = await api.wait(ref.id, timeout=10)
    assert task.payload is None and task.result == {"echo": None, "attempt": 1}


async def test_tuples_and_mappings_are_sent_as_arrays_and_objects(api: Api) -> None:
    ref = await api.submit("echo", (1, (2, 3), {"k": (4,)}))
    assert (await api.get(ref.id)).payload == [1, [2, 3], {"k": [4]}]


async def test_options_reach_the_task(api: Api) -> None:
    ref = await api.submit("echo", 1, priority=7, delay=30.25, max_attempts=3)
    task = await api.get(ref.id)
    assert (task.status, task.priority, task.max_attempts) == ("queued", 7, 3)
    assert abs(task.run_at - task.created_at - timedelta(seconds=30.25)) < timedelta(seconds=0.01)
    tiny = await api.get((await api.submit("echo", 2, delay=0.00001)).id)
    assert tiny.run_at >= tiny.created_at  # sent as 0.00001, not 1e-05


async def test_idempotency_key_answers_the_first_task(api: Api) -> None:
    key = f"key-{time.monotonic_ns()}"
    first = await api.submit("echo", {"n": 1}, delay=60, idempotency_key=key)
    again = await api.submit("echo", {"n": 1}, delay=60, idempotency_key=key)
    assert first.created and not again.created
    assert again.id == first.id and again.location == first.location
    with pytest.raises(IdempotencyKeyReused) as refused:
        await api.submit("echo", {"n": 2}, delay=60, idempotency_key=key)
    assert refused.value.code == "idempotency_key_reused"
    assert first.id in refused.value.message


async def test_submit_many_answers_the_ids_in_order(api: Api) -> None:
    ids = await api.submit_many("echo", [{"n": 0}, {"n": 1}, {"n": 2}], priority=2, delay=60)
    assert len(set(ids)) == 3
    tasks = [await api.get(task_id) for task_id in ids]
    assert [task.payload for task in tasks] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert {(task.priority, task.status) for task in tasks} == {(2, "queued")}


async def test_cancel_a_queued_task(api: Api) -> None:
    ref = await api.submit("echo", 1, delay=60)
    cancelled = await api.cancel(ref.id)
    assert (cancelled.id, cancelled.status) == (ref.id, "cancelled")
    assert cancelled.finished and cancelled.finished_at is not None
    assert (await api.cancel(ref.id)).status == "cancelled"
    assert (await api.get(ref.id)).status == "cancelled"


async def test_wait_answers_as_the_task_finishes(api: Api) -> None:
    ref = await api.submit("sleep", 0.5)
    began = time.monotonic()
    task = await api.wait(ref.id, timeout=20)
    assert task.status == "done"
    assert 0.3 < time.monotonic() - began < 10


async def test_wait_answers_the_current_state_when_time_is_up(api: Api) -> None:
    ref = await api.submit("sleep", 5)
    began = time.monotonic()
    task = await api.wait(ref.id, timeout=1)
    assert task.status in ("queued", "running") and not task.finished
    assert 0.9 < time.monotonic() - began < 4


async def test_wait_longer_than_a_minute_is_asked_in_slices(api: Api) -> None:
    """The service refuses ?wait= over 60 s: a 90 s wait must not send it."""
    ref = await api.submit("echo", 1)
    assert (await api.wait(ref.id, timeout=90)).status == "done"


async def test_wait_of_no_time_is_a_get(api: Api) -> None:
    ref = await api.submit("echo", 1, delay=60)
    began = time.monotonic()
    assert (await api.wait(ref.id, timeout=0)).status == "queued"
    assert time.monotonic() - began < 2


def test_client_as_context_manager_closes(server: Server) -> None:
    with Client(server.url) as client:
        ref = client.submit("echo", 1)
        assert isinstance(client.wait(ref.id, 10), TaskInfo)
        assert client.get(ref.id).id == ref.id
    with pytest.raises(RuntimeError, match="closed"):
        client.get(ref.id)


async def test_async_client_as_context_manager_closes(server: Server) -> None:
    async with AsyncClient(server.url) as client:
        ref = await client.submit("echo", 1)
        assert (await client.wait(ref.id, 10)).status == "done"
    with pytest.raises(RuntimeError, match="closed"):
        await client.get(ref.id)


def test_base_url_may_end_with_a_slash(server: Server) -> None:
    client = Client(server.url + "/")
    try:
        assert client.get(client.submit("echo", 1).id).type == "echo"
    finally:
        client.close()
