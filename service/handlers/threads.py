"""The threads that run plain-`def` handlers, apart from the event loop's default executor.

Python cannot stop a thread. A plain handler that hangs keeps its thread until it returns;
so these threads are daemons (the process exits without waiting for them) and there are at
most `size` of them: hung handlers can hold every one, which makes later plain handlers wait
(and time out), but never the event loop, async handlers or anything else that uses the
default executor.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("service.handlers")


@dataclass(slots=True)
class _Job:
    function: Callable[..., Any]
    argument: Any
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    context: contextvars.Context = field(default_factory=contextvars.copy_context)


class HandlerThreads:
    def __init__(self, size: int) -> None:
        self.size = size
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def __repr__(self) -> str:
        return f"HandlerThreads(size={self.size}, threads={self._threads}, idle={self._idle})"

    async def run(self, function: Callable[..., Any], argument: Any) -> Any:
        """`function(argument)` on one of the threads; the caller may stop waiting at any time."""
        loop = asyncio.get_running_loop()
        job = _Job(function, argument, loop.create_future(), loop)
        self._jobs.put(job)
        with self._lock:
            if self._idle == 0 and self._threads < self.size:
                self._threads += 1
                self._idle += 1
                name = f"service-handler-{self._threads}"
                threading.Thread(target=self._serve, name=name, daemon=True).start()
        return await job.future

    def _serve(self) -> None:
        while True:
            job = self._jobs.get()
            if job.future.cancelled():
                continue  # given up before it started
            with self._lock:
                self._idle -= 1
            began = time.monotonic()
            try:
                outcome: tuple[bool, Any] = (True, job.context.run(job.function, job.argument))
            except BaseException as error:  # SystemExit too: it fails the attempt, not the thread
                outcome = (False, error)
            with self._lock:
                self._idle += 1
            self._settle(job, outcome, time.monotonic() - began)

    def _settle(self, job: _Job, outcome: tuple[bool, Any], seconds: float) -> None:
        if job.future.cancelled():
            log.warning(
                "a plain handler returned %.1f s after its attempt was given up",
                seconds,
                extra={"action": "handler_thread"},
            )
            return
        try:
            job.loop.call_soon_threadsafe(_set_outcome, job.future, outcome)
        except RuntimeError:
            pass  # the event loop is closed: nobody waits any more


def _set_outcome(future: asyncio.Future[Any], outcome: tuple[bool, Any]) -> None:
    if future.done():
        return
    succeeded, value = outcome
    if succeeded:
        future.set_result(value)
    else:
        future.set_exception(value)
