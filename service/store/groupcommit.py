"""Group commit: everything that arrives while a transaction runs goes into the next one.

A backend gives a `commit(works, states)` that writes, in one transaction, the callers'
works (new tasks, operations) and the recorded task states, and returns each work's result;
and an `is_global(error)` that tells an error of the whole database (locked, full, gone)
from an error of one part of the batch (a row that cannot be bound or encoded).

What a failed transaction does to what it carried:

- a global error fails the waiting callers at once, keeps the recorded states and retries
  them with a backoff (FIRST_BACKOFF doubling to MAX_BACKOFF) until a commit succeeds;
- any other error splits the batch in halves, again and again, until the part that fails
  stands alone: that caller fails, or that state is logged and dropped (it would fail
  forever); all the others are written.

So a recorded state is lost only if the process dies, or if `close` runs out of time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from ..errors import StoreError
from ..task import Task

log = logging.getLogger("service.store")

W = TypeVar("W")

FIRST_BACKOFF = 0.05
MAX_BACKOFF = 1.0


@dataclass(slots=True)
class Call(Generic[W]):
    """One caller's part of a transaction, and the future it waits on."""

    work: W
    future: asyncio.Future[Any]
    with_states: bool


class GroupCommit(Generic[W]):
    def __init__(
        self,
        commit: Callable[[Sequence[W], Sequence[Task]], Awaitable[Sequence[Any]]],
        is_global: Callable[[BaseException], bool],
        name: str,
        record_delay: float,
    ) -> None:
        self._commit = commit
        self._is_global = is_global
        self._name = name
        self._record_delay = record_delay
        self._calls: list[Call[W]] = []
        self._states: dict[str, Task] = {}
        self._writing: dict[str, Task] = {}
        self._recorded_since = 0.0
        self._backoff = 0.0
        self._failing_since: float | None = None
        self._failure = ""
        self._arrived = asyncio.Event()
        self._deadline: float | None = None
        self._closed = False
        self._runner: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"GroupCommit(calls={len(self._calls)}, states={len(self._states)})"

    @property
    def retained(self) -> int:
        """Recorded states not yet written."""
        return len(self._states)

    @property
    def pending(self) -> bool:
        """Recorded states not yet committed: waiting, or in the transaction under way."""
        return bool(self._states or self._writing)

    @property
    def failing(self) -> bool:
        """True from a commit that failed on a global error until one succeeds."""
        return self._failing_since is not None

    def call(self, work: W, *, with_states: bool = True) -> asyncio.Future[Any]:
        """Put `work` into the next transaction; the future resolves once it is committed.

        `with_states=False` lets recorded states wait up to `record_delay` for a later
        commit, so that the commits that acknowledge new tasks stay small.
        """
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_exception(StoreError(f"{self._name}: the task store is closed"))
            return future
        self._calls.append(Call(work, future, with_states))
        self._arrived.set()
        self._run_soon()
        return future

    def record(self, task: Task) -> None:
        """Write the task's state soon; its state is read when it is written."""
        if not self._states:
            self._recorded_since = time.monotonic()
        self._states[task.id] = task
        if not self._closed:
            self._run_soon()

    def recorded(self, task_id: str) -> Task | None:
        """The live task, while its latest state is recorded and not yet written."""
        found = self._states.get(task_id)
        return found if found is not None else self._writing.get(task_id)

    async def read_latest(
        self, read: Awaitable[Iterable[Task]], status: str | None = None
    ) -> list[Task]:
        """The tasks `read` returns, each one replaced by the live task while its latest
        state is recorded and not yet written (if it still has `status`, if given); also
        when that state was recorded before the read and committed while it ran, for the
        row read is then older than the live task."""
        unwritten = {**self._writing, **self._states}
        found = []
        for task in await read:
            live = self.recorded(task.id) or unwritten.get(task.id)
            if live is None or (status is not None and live.status != status):
                found.append(task)
            else:
                found.append(live)
        return found

    async def close(self, retry_for: float) -> None:
        """Write what is pending, retrying retained states for up to `retry_for` seconds.

        Raises StoreError, once closed, if some states could still not be written.
        """
        self._deadline = time.monotonic() + retry_for
        self._arrived.set()
        self._run_soon()
        while self._runner is not None and not self._runner.done():
            await self._runner
        self._closed = True
        if self._states:
            ids = list(self._states)
            message = (
                f"{self._name}: could not write the state of {len(ids)} tasks ({self._failure}); "
                "they stay unfinished there and will run again on the next start"
            )
            log.error(message, extra={"action": "store", "task_ids": ids})
            raise StoreError(message)

    def _run_soon(self) -> None:
        if self._runner is None or self._runner.done():
            self._runner = asyncio.create_task(self._run(), name="group-commit")

    async def _run(self) -> None:
        while self._calls or self._states:
            if self._backoff and not self._calls and not await self._pause():
                return
            calls, self._calls = self._calls, []
            states = self._take_states(calls)
            self._writing = states
            try:
                await self._write(calls, states)
            finally:
                self._writing = {}

    async def _pause(self) -> bool:
        """Wait out the backoff (a new caller cuts it short); False once closing ran out."""
        wait = self._backoff
        if self._deadline is not None:
            left = self._deadline - time.monotonic()
            if left <= 0:
                return False
            wait = min(wait, left)
        self._arrived.clear()
        with suppress(TimeoutError):
            await asyncio.wait_for(self._arrived.wait(), wait)
        return True

    def _take_states(self, calls: list[Call[W]]) -> dict[str, Task]:
        """The recorded states to write now: at once, unless new tasks alone are waiting."""
        if not self._states:
            return {}
        intake_only = bool(calls) and not any(call.with_states for call in calls)
        if intake_only and time.monotonic() - self._recorded_since < self._record_delay:
            return {}
        states, self._states = self._states, {}
        return states

    async def _write(self, calls: list[Call[W]], states: dict[str, Task]) -> None:
        error = await self._split(calls, list(states.values()))
        if error is None:
            return
        # Kept whole: a state already written by one half is only written again.
        for task_id, task in states.items():
            self._states.setdefault(task_id, task)
        self._recorded_since = 0.0
        for call in calls:
            if not call.future.done():
                call.future.set_exception(self._store_error(error))
        self._failed(error)

    async def _split(self, calls: list[Call[W]], states: list[Task]) -> BaseException | None:
        """Commit, halving the batch around a part that fails on its own account.

        Returns the global error that stopped it; the caller fails or keeps what is left.
        """
        try:
            results = await self._commit([call.work for call in calls], states)
        except Exception as error:
            if self._is_global(error):
                return error
            if len(calls) + len(states) == 1:
                self._reject_alone(calls, states, error)
                return None
            parts: list[Call[W] | Task] = [*states, *calls]  # states first, as in one batch
            middle = len(parts) // 2
            for half in (parts[:middle], parts[middle:]):
                halves = [part for part in half if isinstance(part, Call)]
                found = await self._split(halves, [p for p in half if isinstance(p, Task)])
                if found is not None:
                    return found
            return None
        self._succeeded()
        for call, result in zip(calls, results, strict=True):
            if not call.future.done():
                call.future.set_result(result)
        return None

    def _reject_alone(self, calls: list[Call[W]], states: list[Task], error: Exception) -> None:
        for task in states:
            log.error(
                "task %s: its state cannot be written, even alone, and is dropped: %s",
                task.id,
                error,
                extra={"action": "store", "task_id": task.id},
            )
        for call in calls:
            if not call.future.done():
                call.future.set_exception(self._store_error(error))

    def _succeeded(self) -> None:
        if self._failing_since is not None:
            log.warning(
                "%s takes writes again after %.1f s",
                self._name,
                time.monotonic() - self._failing_since,
                extra={"action": "store"},
            )
        self._backoff, self._failing_since = 0.0, None

    def _failed(self, error: BaseException) -> None:
        """Back off; log when writes start to fail, or fail for another reason."""
        self._backoff = min(max(self._backoff * 2, FIRST_BACKOFF), MAX_BACKOFF)
        reason = str(self._store_error(error))
        if self._failing_since is None:
            self._failing_since = time.monotonic()
        elif reason == self._failure:
            return
        self._failure = reason
        kept = f"; {len(self._states)} task states are kept and retried" if self._states else ""
        log.error("writes fail: %s%s", reason, kept, extra={"action": "store"})

    def _store_error(self, error: BaseException) -> StoreError:
        """A fresh error for each caller, so that tracebacks do not pile up on one."""
        text = str(error) if isinstance(error, StoreError) else f"{self._name}: {error}"
        failure = StoreError(text)
        failure.__cause__ = error
        return failure
