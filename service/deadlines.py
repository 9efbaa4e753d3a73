"""Body deadlines: every body read in progress under one timer, instead of a timer each.

A timer per request (`asyncio.timeout`) is a handle of the event loop made and cancelled on
every request: about 6 µs each on uvloop (BENCHMARKS.md). Here a read only puts its task and
deadline (on the loop's clock, the timer's) in a dict, and takes them out when the body is
in. One timer, set for the earliest deadline, cancels the reads that ran past theirs and
sets itself again; under a steady load it fires about once per deadline's length, finding
nothing to cancel.

The cancelled read learns it from `expired`, as `asyncio.timeout` tells its own cancellation
from any other: a cancellation that came from elsewhere as well (a shutdown) goes on.
"""

from __future__ import annotations

import asyncio
from typing import Any

Reader = asyncio.Task[Any]


class BodyDeadlines:
    def __init__(self) -> None:
        self._reading: dict[Reader, float] = {}
        self._expired: dict[Reader, int] = {}
        """Reads cancelled for their deadline, with how often their task had been cancelled."""
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._reading)

    def begin(self, seconds: float) -> Reader:
        """The current task reads a body for at most `seconds` from now; end it with `end`."""
        task = asyncio.current_task()
        if task is None:
            raise RuntimeError("a body deadline needs a running task")
        loop = task.get_loop()
        deadline = loop.time() + seconds
        self._reading[task] = deadline
        if self._timer is None or deadline < self._timer.when():
            self._set_timer(loop, deadline)
        return task

    def expired(self, task: Reader) -> bool:
        """Whether the CancelledError the read got is its deadline's, and no one else's."""
        cancelled_before = self._expired.pop(task, None)
        return cancelled_before is not None and task.uncancel() <= cancelled_before

    def end(self, task: Reader) -> None:
        self._reading.pop(task, None)
        self._expired.pop(task, None)

    def _set_timer(self, loop: asyncio.AbstractEventLoop, deadline: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = loop.call_at(deadline, self._fire, loop)

    def _fire(self, loop: asyncio.AbstractEventLoop) -> None:
        self._timer = None
        now = loop.time()
        for task, deadline in list(self._reading.items()):
            if deadline <= now:
                del self._reading[task]
                self._expired[task] = task.cancelling()
                task.cancel()
        if self._reading:
            self._set_timer(loop, min(self._reading.values()))
