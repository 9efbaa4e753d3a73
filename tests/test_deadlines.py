"""Body deadlines under one timer: the late read is cancelled and told so, no other is."""

from __future__ import annotations

import asyncio
import time

import pytest

from service.deadlines import BodyDeadlines


async def read_forever(deadlines: BodyDeadlines, seconds: float) -> str:
    """A read that never gets its body: how it ended."""
    reader = deadlines.begin(seconds)
    try:
        await asyncio.Event().wait()
    except asyncio.CancelledError:
        if deadlines.expired(reader):
            return "deadline"
        raise
    finally:
        deadlines.end(reader)
    raise AssertionError("unreachable")


async def test_a_read_past_its_deadline_is_cancelled_and_told_so() -> None:
    deadlines = BodyDeadlines()
    began = time.monotonic()
    assert await read_forever(deadlines, 0.05) == "deadline"
    assert 0.05 <= time.monotonic() - began < 0.5
    assert len(deadlines) == 0


async def test_reads_that_end_in_time_are_never_cancelled() -> None:
    deadlines = BodyDeadlines()

    async def quick_read() -> None:
        reader = deadlines.begin(0.05)
        try:
            await asyncio.sleep(0)
        finally:
            deadlines.end(reader)

    for _ in range(100):
        await quick_read()
    # The timer fires past every deadline above: nothing is reading, nothing is cancelled.
    await asyncio.sleep(0.1)
    assert len(deadlines) == 0
    await quick_read()  # and a later read sets it again, for its own deadline
    assert await read_forever(deadlines, 0.05) == "deadline"


async def test_each_late_read_is_cancelled_at_its_own_deadline() -> None:
    deadlines = BodyDeadlines()
    began = time.monotonic()
    slow = asyncio.create_task(read_forever(deadlines, 5.0))
    await asyncio.sleep(0)
    fast = asyncio.create_task(read_forever(deadlines, 0.05))  # later, but due sooner
    assert await fast == "deadline"
    assert time.monotonic() - began < 0.5
    assert not slow.done()
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow


async def test_a_cancellation_from_elsewhere_is_not_taken_for_the_deadline() -> None:
    deadlines = BodyDeadlines()
    reading = asyncio.create_task(read_forever(deadlines, 5.0))
    await asyncio.sleep(0)
    reading.cancel()  # a shutdown, say
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert len(deadlines) == 0


async def test_a_cancellation_that_comes_with_the_deadline_goes_on() -> None:
    deadlines = BodyDeadlines()
    reading = asyncio.create_task(read_forever(deadlines, 0.0))
    await asyncio.sleep(0)  # it is reading, and the timer is set for now
    asyncio.get_running_loop().call_later(0, reading.cancel)  # a shutdown right behind it
    with pytest.raises(asyncio.CancelledError):
        await reading
    assert len(deadlines) == 0


async def test_outside_a_task_it_refuses() -> None:
    deadlines = BodyDeadlines()
    raised: list[RuntimeError] = []
    called = asyncio.Event()

    def callback() -> None:  # run by the loop itself, in no task
        try:
            deadlines.begin(1.0)
        except RuntimeError as error:
            raised.append(error)
        called.set()

    asyncio.get_running_loop().call_soon(callback)
    await called.wait()
    assert len(raised) == 1 and len(deadlines) == 0
