"""The HTTP contract, in process, on every store."""

from __future__ import annotations

import asyncio
import re

from tests import sample_handlers
from tests.conftest import Starter


async def test_post_task_answers_202_with_id_and_location(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task?type=echo", {"foo": "bar"})
        assert response.status_code == 202
        body = await response.get_json()
        assert body["success"] == "OK" and body["status"] in ("queued", "running")
        assert re.fullmatch(r"[0-9a-f]{44}", body["id"])
        assert response.headers["Location"] == f"/task/{body['id']}"
        record = await running.wait_finished(body["id"])
    assert record["status"] == "done"
    assert record["result"] == {"echo": {"foo": "bar"}, "attempt": 1}
    assert record["attempts"] == 1 and record["error"] is None
    for field in ("created_at", "started_at", "finished_at"):
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", record[field])
    assert record["created_at"] <= record["started_at"] <= record["finished_at"]


async def test_seed_client_body_runs_the_default_handler(start: Starter) -> None:
    async with start(default_type="echo") as running:
        response = await running.post("/task", {"foo": "bar"})
        assert response.status_code == 202
        record = await running.wait_finished((await response.get_json())["id"])
    assert record["type"] == "echo" and record["status"] == "done"
    assert sample_handlers.seen == [{"foo": "bar"}]


async def test_default_type_is_notification(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task", {"foo": "bar"})
        record = await running.wait_finished((await response.get_json())["id"])
    assert record["type"] == "notification" and record["status"] == "done"


async def test_any_json_value_is_a_payload(start: Starter) -> None:
    async with start() as running:
        ids = []
        for payload in (1, "text", None, [1, 2], {"deep": {"er": [True]}}, 2**80):
            response = await running.post("/task?type=echo", payload)
            assert response.status_code == 202
            ids.append((await response.get_json())["id"])
        results = [(await running.wait_finished(task_id))["result"]["echo"] for task_id in ids]
    assert results == [1, "text", None, [1, 2], {"deep": {"er": [True]}}, 2**80]


async def test_batch_is_enqueued_in_order(start: Starter) -> None:
    async with start(concurrency=1) as running:
        response = await running.post("/tasks?type=echo", [{"n": n} for n in range(20)])
        assert response.status_code == 202
        ids = (await response.get_json())["ids"]
        assert len(ids) == 20 and len(set(ids)) == 20
        for task_id in ids:
            assert (await running.wait_finished(task_id))["status"] == "done"
    assert sample_handlers.seen == [{"n": n} for n in range(20)]


async def test_unknown_task_is_404(start: Starter) -> None:
    async with start() as running:
        response = await running.client.get("/task/" + "0" * 44)
        assert response.status_code == 404
        assert (await response.get_json())["error"] == "not_found"


async def test_health_and_ready(start: Starter) -> None:
    async with start() as running:
        assert (await running.client.get("/health")).status_code == 200
        assert (await running.client.get("/ready")).status_code == 200
        await running.service.stop()
        ready = await running.client.get("/ready")
        assert ready.status_code == 503
        assert (await ready.get_json())["error"] == "not_ready"
        refused = await running.post("/task?type=echo", {})
        assert refused.status_code == 503
        assert refused.headers["Retry-After"] == "1"
        assert (await running.client.get("/health")).status_code == 200


async def test_failing_handler_does_not_stop_the_worker(start: Starter) -> None:
    async with start(concurrency=1) as running:
        failing = await running.post("/task?type=boom", {"x": 1})
        later = await running.post("/task?type=echo", {"x": 2})
        failed = await running.wait_finished((await failing.get_json())["id"])
        done = await running.wait_finished((await later.get_json())["id"])
    assert failed["status"] == "failed"
    assert failed["error"] == "ValueError: cannot handle {'x': 1}"
    assert done["status"] == "done"


async def test_task_timeout_fails_the_task_and_the_worker_goes_on(start: Starter) -> None:
    async with start(concurrency=1, task_timeout=0.05) as running:
        slow = await running.post("/task?type=sleep", 30)
        quick = await running.post("/task?type=echo", "next")
        timed_out = await running.wait_finished((await slow.get_json())["id"])
        done = await running.wait_finished((await quick.get_json())["id"])
    assert timed_out["status"] == "failed"
    assert timed_out["error"] == "timed out after 0.05 s"
    assert done["status"] == "done"


async def test_plain_def_handler_runs_off_the_event_loop(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task?type=blocking", {})
        record = await running.wait_finished((await response.get_json())["id"])
    assert record["status"] == "done"
    assert record["result"] != "MainThread"


async def test_result_that_is_not_json_fails_the_task(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task?type=unserializable", {})
        record = await running.wait_finished((await response.get_json())["id"])
    assert record["status"] == "failed"
    assert "TypeError" in record["error"]


async def test_one_worker_runs_tasks_in_strict_fifo_order(start: Starter) -> None:
    async with start(concurrency=1) as running:
        ids = []
        for n in range(30):
            response = await running.post("/task?type=echo", n)
            ids.append((await response.get_json())["id"])
        for task_id in ids:
            await running.wait_finished(task_id)
    assert sample_handlers.seen == list(range(30))


async def test_class_handler_lifecycle(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task?type=lifecycle", "a")
        await running.wait_finished((await response.get_json())["id"])
        assert sample_handlers.lifecycle == ["startup", "handle a"]
    assert sample_handlers.lifecycle == ["startup", "handle a", "shutdown"]


async def test_finished_tasks_are_forgotten_past_the_count(start: Starter) -> None:
    async with start(result_max=2, store="memory") as running:
        ids = []
        for n in range(3):
            response = await running.post("/task?type=echo", n)
            ids.append((await response.get_json())["id"])
            await running.wait_finished(ids[-1])
        first = await running.client.get(f"/task/{ids[0]}")
        last = await running.client.get(f"/task/{ids[2]}")
    assert first.status_code == 404
    assert last.status_code == 200


async def test_finished_tasks_are_forgotten_past_the_ttl(start: Starter) -> None:
    async with start(result_ttl=0) as running:
        response = await running.post("/task?type=echo", 1)
        task_id = (await response.get_json())["id"]
        await running.wait_finished(task_id)
        await asyncio.sleep(0.01)
        await running.service.store.maintain()
        gone = await running.client.get(f"/task/{task_id}")
    assert gone.status_code == 404
