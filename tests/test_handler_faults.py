"""A handler can never take the service down: whatever it raises, swallows or blocks."""

from __future__ import annotations

import asyncio
import logging

import pytest

from tests import sample_handlers
from tests.conftest import Running, Starter


async def run_one(running: Running, type: str, payload: object = None) -> dict[str, object]:
    response = await running.post(f"/task?type={type}", payload)
    assert response.status_code == 202
    return await running.wait_finished((await response.get_json())["id"])


async def still_works(running: Running) -> None:
    """A later task runs: no worker was lost."""
    record = await run_one(running, "echo", "after")
    assert record["status"] == "done"


@pytest.mark.parametrize(
    ("type", "error"),
    [
        ("exits", "SystemExit: 3"),
        ("exits_plain", "SystemExit: 3"),
        ("interrupts", "KeyboardInterrupt: stop"),
        ("interrupts_plain", "KeyboardInterrupt: stop"),
        ("generator_exit", "GeneratorExit: "),
        ("own_cancel", "CancelledError: raised by the handler"),
    ],
)
async def test_what_ends_a_process_fails_the_attempt_only(
    start: Starter, type: str, error: str
) -> None:
    async with start(concurrency=1) as running:
        records = [await run_one(running, type) for _ in range(3)]
        assert [(r["status"], r["error"]) for r in records] == [("failed", error)] * 3
        await still_works(running)
        assert running.service.state == "serving"


async def test_a_swallowed_timeout_fails_the_attempt(start: Starter) -> None:
    async with start(concurrency=1, task_timeout=0.2) as running:
        record = await run_one(running, "swallows")
        assert record["status"] == "failed"
        assert record["error"] == "timed out after 0.2 s; the handler ignored the cancellation"
        await still_works(running)


async def test_a_handler_that_ignores_its_timeout_is_left_behind(
    start: Starter, caplog: pytest.LogCaptureFixture
) -> None:
    async with start(concurrency=1, task_timeout=0.2) as running:
        record = await run_one(running, "stubborn")
        assert record["status"] == "failed"
        assert record["error"] == "timed out after 0.2 s; the handler ignored the cancellation"
        await still_works(running)
        assert len(running.service.pool.slots.strays) == 1
        sample_handlers.released.set()  # let the stray end before the test does
        [stray] = running.service.pool.slots.strays
        await asyncio.wait_for(stray, 5)
    assert "its handler ignored the cancellation at its deadline" in caplog.text
    assert "late" not in [t for t in sample_handlers.seen]


async def test_a_dead_worker_is_replaced(start: Starter, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, "service")
    async with start(concurrency=1, task_timeout=1) as running:
        assert (await run_one(running, "cancels_its_worker"))["status"] == "done"
        await still_works(running)
    assert "worker 0 stopped unexpectedly" in caplog.text


async def test_hung_plain_handlers_hold_only_their_own_threads(start: Starter) -> None:
    """Eight plain handlers block their threads; the default executor and async tasks go on."""
    async with start(concurrency=9, handler_threads=8, task_timeout=0.5) as running:
        response = await running.post("/tasks?type=hang_plain", [30] * 8)
        ids = (await response.get_json())["ids"]
        loop = asyncio.get_running_loop()
        assert await asyncio.wait_for(loop.run_in_executor(None, int, "7"), 2) == 7
        await still_works(running)
        records = [await running.wait_finished(task_id) for task_id in ids]
        assert {record["error"] for record in records} == {"timed out after 0.5 s"}
        sample_handlers.released.set()


async def test_an_error_text_utf8_cannot_carry_is_escaped(start: Starter) -> None:
    async with start() as running:
        record = await run_one(running, "raises_surrogate")
        assert (record["status"], record["error"]) == ("failed", "ValueError: bad \\ud800 text")
        again = await running.client.get(f"/task/{record['id']}")
        assert again.status_code == 200
