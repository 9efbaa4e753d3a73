"""The service's upkeep loop: lease, take-over, tidying and recounting, once a second."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from .errors import StoreError
from .store import Store
from .worker import WorkerPool

log = logging.getLogger("service")

UPKEEP_INTERVAL = 1.0


class Upkeep:
    """Renews this process's lease, takes over the dead's tasks, tidies the store, recounts."""

    def __init__(
        self, store: Store, pool: WorkerPool, recount: Callable[[], Awaitable[None]]
    ) -> None:
        self.store = store
        self.pool = pool
        self.recount = recount
        self.peers = 0
        """Other live processes on the store, as of the last heartbeat."""
        self._loop: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._loop = asyncio.create_task(self._run(), name="service-upkeep")

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.cancel()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(UPKEEP_INTERVAL)
            self.pool.measure(UPKEEP_INTERVAL)
            try:
                await self._renew()
                await self._take_over()
                await self.store.maintain()
                await self.recount()
            except StoreError as error:
                log.error("store upkeep failed: %s", error, extra={"action": "upkeep"})

    async def _renew(self) -> None:
        sent, owner = time.monotonic(), self.store.owner
        lease = await self.store.heartbeat()
        self.pool.renewed(sent)
        if lease.lapsed:
            log.warning(
                "this process's lease ran out: its running tasks are void; "
                "it goes on as %s (was %s)",
                self.store.owner,
                owner,
                extra={"action": "lease"},
            )
            self.pool.lapse()
        self.peers = lease.peers

    async def _take_over(self) -> None:
        taken = await self.store.take_over()
        if taken:
            log.info(
                "%d running tasks of processes whose lease ran out are queued again",
                taken,
                extra={"action": "take_over"},
            )
            self.pool.dispatcher.wake()
