"""The Store protocol every backend implements, and the factory that picks one by URL.

The store is the one truth about tasks, shared by every process that opens it:

- A *queued* task belongs to nobody: any process may claim it once it is due, and any
  process may cancel it.
- A process *claims* a task to run it: one atomic write makes it `running`, counts the
  attempt and names the process as its owner. Claiming is starting: a queued task is never
  reserved by a process that has not started it.
- Every write that ends an attempt (done, failed, queued again for a retry, given back) is
  fenced on the claim (`Task.claim`: owner and attempt): from a process that lost the
  claim, it changes nothing.
- Each process holds a *lease* that it renews (`heartbeat`); the running tasks of a process
  whose lease ran out are taken over (`take_over`): queued again, for anyone to claim.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import ConfigError
from ..settings import Settings
from ..task import Status, Task
from .views import Count, Failed, Instance, Minute


@dataclass(frozen=True, slots=True)
class Claimed:
    """What `claim` took, and when to look again if it took fewer than asked."""

    tasks: list[Task] = field(default_factory=list)
    next_due: float | None = None
    """Seconds until the next queued task is due, if one is queued and not yet due."""


@dataclass(frozen=True, slots=True)
class Lease:
    """What `heartbeat` learnt."""

    lapsed: bool = False
    """This process's lease had run out: its claims are void and it got a fresh lease."""
    peers: int = 0
    """Other live processes on the store."""


@dataclass(frozen=True, slots=True)
class QueueStats:
    """The queue as every process sees it, read from the store."""

    due: int = 0
    """Queued tasks whose due time has come."""
    delayed: int = 0
    """Queued tasks not due yet."""
    running: int = 0
    oldest_due_age: float = 0.0
    """Seconds since the due time of the oldest due queued task (0 with none), on the
    store's clock."""


TICK_MEMORY = 86400.0
"""Seconds a schedule's tick is kept in the store, besides each schedule's latest one."""


@dataclass(frozen=True, slots=True)
class Tick:
    """One due time of a schedule, stored with the task it made: unique per schedule."""

    schedule: str
    due: float
    task_id: str


@dataclass(frozen=True, slots=True)
class Ticks:
    """What `last_ticks` read: the store's time, and each schedule's latest tick."""

    now: float
    last: dict[str, Tick] = field(default_factory=dict)


class Store(Protocol):
    durable: bool
    """True when tasks outlive the process."""
    owner: str
    """This process's name in the store while its current lease lives."""
    fenced: int
    """Ends of attempts the fence stopped: written by this process after it lost the claim."""

    @property
    def available(self) -> bool:
        """False while writes fail for want of the database (gone, locked, full)."""

    async def open(self) -> None:
        """Connect, create or migrate the schema, take a lease; raise StoreError or ConfigError."""

    async def close(self) -> None:
        """Write what is pending, give up the lease, disconnect.

        Disconnects in any case; raises StoreError if some recorded states could not be
        written (their tasks will run again once taken over).
        """

    def listen(self, wake: Callable[[], None]) -> None:
        """Call `wake` when another process may have made work available (a hint, not a promise)."""

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        """Store new tasks durably, all or none.

        Tasks the caller marked as claimed (`status="running"`, `claim` set) are stored as
        running attempts of this process, so that it can start them at once; if this
        process's lease has run out, they are stored queued instead and their marks undone.
        Returns, for each task, the stored one: the task itself, or the task already stored
        under the same type and idempotency key (then the given task is not stored).
        """

    async def get(self, task_id: str) -> Task | None:
        """The task's latest record, or None once unknown or forgotten."""

    async def get_many(self, task_ids: Sequence[str]) -> list[Task]:
        """The latest records of those of the tasks that are known, in any order."""

    async def list_tasks(
        self,
        *,
        status: Status | None = None,
        type: str | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> list[Task]:
        """Up to `limit` tasks, newest first (by id: ids sort by creation), of every process.

        Filters combine; `after` keeps only the ids below it (the last id of the page before).
        """

    async def retry(self, task_id: str) -> Task | None:
        """Queue a failed or cancelled task again, due now, with a fresh attempt budget.

        Its attempts, result, error, start and finish are cleared. Returns the task as stored
        now (unchanged when it was in another status), or None if unknown.
        """

    async def stats(self) -> QueueStats:
        """Counts of queued and running tasks, and the oldest due task's wait."""

    async def count_tasks(self) -> list[Count]:
        """Tasks by type and status, of every process (statuses with none left out)."""

    async def throughput(self, minutes: int) -> list[Minute]:
        """Tasks done and failed in each of the last `minutes` minutes (empty ones left out)."""

    async def instances(self) -> list[Instance]:
        """The processes that hold a lease on the store, with their tasks in flight."""

    async def count_failed(self, *, type: str | None = None, prefix: str = "") -> Failed:
        """The failed tasks of this type (any, if None) whose id starts with `prefix`."""

    async def retry_failed(self, *, type: str | None, prefix: str, upto: str) -> int:
        """`retry` every failed task that `count_failed` matches, up to the id `upto`.

        Fenced on the status: a task no longer failed when the write comes is left alone.
        Returns how many were queued again.
        """

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        """The task stored under this type and idempotency key, or None."""

    async def claim(
        self, limit: int, *, only: str | None = None, skip: frozenset[str] = frozenset()
    ) -> Claimed:
        """Start up to `limit` due queued tasks, highest priority first, then oldest.

        With `only`, only tasks of that type; none of the types in `skip`. Each one comes
        back running, its attempt counted, `claim` set. Nothing is claimed while this
        process's lease has run out.
        """

    def record(self, task: Task) -> None:
        """End the task's running attempt with its new state, soon; fenced on `task.claim`.

        The new state is read when it is written: done, failed, queued again (a retry, whose
        `run_at` is when), or given back (`status="queued"`, the attempt not counted). A
        durable store that cannot write keeps the state and retries it. A write that the
        fence stops is logged and changes nothing.
        """

    async def release(self, tasks: Sequence[Task]) -> int:
        """Give back running attempts that were cut off, uncounted, for anyone to claim.

        Fenced as `record`; returns how many the store took back.
        """

    async def flush(self) -> None:
        """Write every recorded state now; return once it is stored."""

    async def cancel(self, task_id: str) -> Task | None:
        """Cancel the task if it is queued; return it as stored now, None if unknown."""

    async def heartbeat(self) -> Lease:
        """Renew this process's lease, or take a fresh one if it had run out."""

    async def take_over(self) -> int:
        """Queue again the running tasks of processes whose lease ran out; how many."""

    async def count_unfinished(self) -> int:
        """Queued and running tasks, of every process."""

    async def maintain(self) -> None:
        """Periodic upkeep: forget expired results, long-dead processes and old ticks
        (a schedule's latest tick is always kept)."""

    async def last_ticks(self, schedules: Sequence[str]) -> Ticks:
        """The store's clock now, and the latest stored tick of each schedule named."""

    async def add_ticks(self, ticks: Sequence[tuple[Tick, Task]]) -> list[Task]:
        """Store each tick with its new task, in one transaction; a tick already stored
        (by any process) is skipped with its task. Returns the tasks stored."""


def open_store(settings: Settings) -> Store:
    """The backend named by `settings.store`; it is opened later, in `open()`."""
    url = settings.store
    if url == "memory":
        from .memory import MemoryStore

        return MemoryStore(settings)
    if url.startswith("sqlite://"):
        from .sqlite import SQLiteStore

        return SQLiteStore(settings)
    if url.startswith(("postgresql://", "postgres://")):
        from .postgresql import PostgreSQLStore

        return PostgreSQLStore(settings)
    raise ConfigError(
        f"SERVICE_STORE={url!r} is not a known store: use 'memory', "
        "'sqlite:///path/to/file.db' or 'postgresql://user:password@host:5432/dbname'"
    )
