"""The dispatcher: claims due tasks from the store whenever workers are idle.

It claims as many tasks as there are idle workers, in one call, and again as soon as a
worker comes free. When the store has fewer due tasks than asked, it sleeps until the next
one is due, another process hints that work arrived (`wake`), or `poll_interval` passes.
It never claims the types in `skip`: the batch collector claims those.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import suppress

from .errors import StoreError
from .store import Store
from .task import Task

log = logging.getLogger("service.worker")


class Dispatcher:
    def __init__(
        self,
        store: Store,
        idle: Callable[[], int],
        start: Callable[[list[Task], float], None],
        poll_interval: float,
        skip: frozenset[str] = frozenset(),
    ) -> None:
        self._store = store
        self._idle = idle
        self._start = start
        self._poll = poll_interval
        self._skip = skip
        self.on_wake: list[Callable[[bool], None]] = []
        """Called at every `wake`, as well, with its `work`."""
        self._wake = asyncio.Event()
        self.claiming = True
        """False while the process takes no new work (draining, alongside other processes)."""
        self.empty = False
        """The last claim found fewer due tasks than idle workers, and nothing woke it since."""
        self._failing = False

    def wake(self, work: bool = True) -> None:
        """Claim again: workers came free, and new work may have come (else `work` is False)."""
        self.empty = False
        self._wake.set()
        for wake in self.on_wake:
            wake(work)

    async def run(self) -> None:
        wait: float | None = 0.0
        while True:
            if wait != 0.0:
                # Not wait_for: on Python 3.11 it can swallow the cancellation that stops this.
                with suppress(TimeoutError):
                    async with asyncio.timeout(wait):
                        await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0)  # workers finishing in this turn of the loop join the claim
            idle = self._idle() if self.claiming else 0
            if idle <= 0:
                wait = None if self.claiming else self._poll
                continue
            wait = await self._claim(idle)

    async def _claim(self, idle: int) -> float | None:
        """Claim for `idle` workers; how long to sleep before the next claim (0: at once)."""
        sent = time.monotonic()
        try:
            claimed = await self._store.claim(idle, skip=self._skip)
        except StoreError as error:
            if not self._failing:
                log.error("cannot claim tasks: %s", error, extra={"action": "claim"})
            self._failing = True
            self.empty = True  # as far as it can tell: a drain does not wait for it
            return self._poll
        if self._failing:
            log.warning("claiming tasks again", extra={"action": "claim"})
            self._failing = False
        if claimed.tasks:
            self._start(claimed.tasks, sent)
        if len(claimed.tasks) >= idle:
            return 0.0
        self.empty = not self._wake.is_set()
        if claimed.next_due is None:
            return self._poll
        return min(self._poll, claimed.next_due)
