"""LISTEN on a connection of its own, and come back by itself after losing it.

Each notification calls `wake` (the receiver debounces); so does each start of listening,
for what was notified while nobody listened. A probe every
PROBE_INTERVAL finds a connection that died without a word (a server host gone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress

from .connection import COMMAND_TIMEOUT, Connection, Connector, close_connection

log = logging.getLogger("service.store")

CHANNEL = "service_tasks"
RETRY_INTERVAL = 1.0
PROBE_INTERVAL = 5.0


class Listener:
    def __init__(self, connector: Connector, wake: Callable[[], None]) -> None:
        self._connector = connector
        self._wake = wake
        self._runner: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()
        """Set while a connection listens; for tests and health checks."""
        self.reconnections = 0

    def start(self) -> None:
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="postgresql-listener")

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
            with suppress(asyncio.CancelledError):
                await runner

    async def _run(self) -> None:
        failure: str | None = None
        while True:
            connection: Connection | None = None
            error: Exception
            try:
                connection = await self._connector.connect("listener")
                await self._listen(connection, recovered=failure is not None)
                error = ConnectionError(f"{self._connector.name}: the connection was lost")
            except Exception as caught:
                error = caught
            finally:
                listened = self.listening.is_set()
                self.listening.clear()
                if connection is not None:
                    await close_connection(connection)
            failure = self._lost(None if listened else failure, error)
            await asyncio.sleep(RETRY_INTERVAL)

    async def _listen(self, connection: Connection, *, recovered: bool) -> None:
        """Listen until the connection is lost or fails a probe."""
        closed = asyncio.Event()
        connection.add_termination_listener(lambda _: closed.set())
        await connection.add_listener(CHANNEL, self._notified)
        self.listening.set()
        if recovered:
            self.reconnections += 1
            log.warning("listening for new tasks again", extra={"action": "store"})
        self._wake()  # for what was notified while nobody listened
        while not connection.is_closed():
            with suppress(TimeoutError):
                await asyncio.wait_for(closed.wait(), PROBE_INTERVAL)
                return
            await connection.fetchval("SELECT 1", timeout=COMMAND_TIMEOUT)

    def _notified(self, *_: object) -> None:
        self._wake()

    def _lost(self, failure: str | None, error: Exception) -> str:
        """Log the first failure of an outage, and a failure that changes its reason."""
        reason = str(error) or type(error).__name__
        if reason != failure:
            log.warning(
                "not listening for new tasks (polling meanwhile): %s",
                reason,
                extra={"action": "store"},
            )
        return reason
