"""The Store protocol every backend implements, and the factory that picks one by URL.

The worker pool keeps the live `Task` objects of the tasks this process holds; the store is
the journal behind them. Writes through `record` are fire-and-forget (a backend may batch
them); everything that acknowledges a client (`add`, `cancel`) is awaited.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ..errors import ConfigError
from ..settings import Settings
from ..task import Task


class Store(Protocol):
    durable: bool
    """True when tasks outlive the process: unfinished ones are released, not lost."""

    async def open(self) -> None:
        """Connect, create or migrate the schema; raise StoreError if that fails."""

    async def close(self) -> None:
        """Flush pending writes and disconnect.

        Disconnects in any case; raises StoreError if some recorded states could not be
        written (their tasks will run again on the next start).
        """

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        """Store new tasks durably, all or none.

        Returns, for each task, the stored one: the task itself, or the task already stored
        under the same type and idempotency key.
        """

    async def get(self, task_id: str) -> Task | None:
        """The task's latest record, or None once unknown or forgotten."""

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        """The task stored under this type and idempotency key, or None."""

    def record(self, task: Task) -> None:
        """Persist the task's new state (started, finished, retried, cancelled) soon.

        A durable store that cannot write keeps the state and retries it until it can.
        """

    async def flush(self) -> None:
        """Write every recorded state now; return once it is stored."""

    async def claim(self, limit: int) -> list[Task]:
        """Take over unfinished tasks that no live process holds (after a crash), up to limit."""

    async def release(self, tasks: Sequence[Task]) -> int:
        """Give unfinished tasks back so that the next process claims them at once.

        Returns how many the store really took back (0 for a store that is not durable).
        """

    async def maintain(self) -> None:
        """Periodic upkeep: renew this process's lease, forget expired results."""


def open_store(settings: Settings) -> Store:
    """The backend named by `settings.store`; it is opened later, in `open()`."""
    url = settings.store
    if url == "memory":
        from .memory import MemoryStore

        return MemoryStore(settings)
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        return SQLiteStore(settings)
    raise ConfigError(
        f"SERVICE_STORE={url!r} is not a known store: use 'memory' or 'sqlite:///path/to/file.db'"
    )
