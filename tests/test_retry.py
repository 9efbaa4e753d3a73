"""`POST /task/<id>/retry`: a failed or cancelled task runs again with a fresh budget."""

from __future__ import annotations

from typing import Any

from tests import sample_handlers
from tests.conftest import Running, Starter


async def submit(running: Running, query: str, payload: Any) -> str:
    response = await running.post(f"/task?{query}", payload)
    assert response.status_code == 202
    task_id: str = (await response.get_json())["id"]
    return task_id


async def test_a_failed_task_runs_again_with_a_fresh_budget(start: Starter) -> None:
    async with start() as running:
        # `flaky` fails until its attempt number reaches the payload: 3 needs 3 attempts.
        task_id = await submit(running, "type=flaky&max_attempts=2", 3)
        failed = await running.wait_finished(task_id)
        assert (failed["status"], failed["attempts"]) == ("failed", 2)
        response = await running.client.post(f"/task/{task_id}/retry")
        assert response.status_code == 202
        assert response.headers["Location"] == f"/task/{task_id}"
        queued = await response.get_json()
        assert (queued["status"], queued["attempts"], queued["error"]) == ("queued", 0, None)
        again = await running.wait_finished(task_id)
        # Attempts count from 1 again: two more attempts, and the second is the 2nd.
        assert (again["status"], again["attempts"]) == ("failed", 2)


async def test_a_cancelled_task_runs_when_retried(start: Starter) -> None:
    async with start() as running:
        task_id = await submit(running, "type=echo&delay=60", "later")
        assert (await running.client.delete(f"/task/{task_id}")).status_code == 200
        assert (await running.client.post(f"/task/{task_id}/retry")).status_code == 202
        done = await running.wait_finished(task_id)
        assert (done["status"], done["result"]["echo"]) == ("done", "later")


async def test_only_failed_or_cancelled_tasks_can_be_retried(start: Starter) -> None:
    async with start() as running:
        done = await submit(running, "type=echo", 1)
        await running.wait_finished(done)
        queued = await submit(running, "type=echo&delay=60", 1)
        running_id = await submit(running, "type=gated", 1)
        for task_id, status in [(done, "done"), (queued, "queued"), (running_id, "running")]:
            response = await running.client.post(f"/task/{task_id}/retry")
            body = await response.get_json()
            assert (response.status_code, body["error"]) == (409, "not_retryable"), status
            assert status in body["message"]
        sample_handlers.gate.set()


async def test_retrying_an_unknown_task_is_404(start: Starter) -> None:
    async with start() as running:
        response = await running.client.post("/task/nope/retry")
        assert response.status_code == 404


async def test_a_retry_counts_against_a_full_queue(start: Starter) -> None:
    async with start(queue_maxsize=1) as running:
        failed = await submit(running, "type=boom", 1)
        await running.wait_finished(failed)
        await submit(running, "type=echo&delay=60", 1)
        response = await running.client.post(f"/task/{failed}/retry")
        assert response.status_code == 503
        assert (await response.get_json())["error"] == "queue_full"
