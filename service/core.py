"""The task service: what the HTTP layer calls, and the start-up and drain around it."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

from .errors import RequestError, StoreError
from .handlers import Registry
from .idempotency import KeyTurns, check_same_request, fingerprint
from .metrics import Metrics
from .options import Options
from .reads import TaskReads, not_found, read, write
from .schedules import Scheduler
from .settings import Settings, redacted
from .slots import exit_if_stuck
from .store import Store, open_store
from .task import Task
from .upkeep import Upkeep
from .waiters import Waiters
from .worker import WorkerPool

log = logging.getLogger("service")

RETRYABLE = frozenset({"failed", "cancelled"})


class TaskService:
    def __init__(self, settings: Settings | None = None) -> None:
        self._given_settings = settings
        self.state = "starting"
        self._key_turns = KeyTurns()
        self._unfinished = 0  # queued and running in the store: last count, plus added since
        self._reserved = 0
        self._ended_at_count = 0
        self.metrics = Metrics()

    def __repr__(self) -> str:
        pool = getattr(self, "pool", None)
        return f"TaskService(state={self.state}, pool={pool!r})"

    async def start(self, settings: Settings | None = None) -> None:
        """Read settings (unless given), load handlers, open the store, start the workers."""
        self.settings = settings or self._given_settings or Settings.from_env()
        self.registry = Registry.load(self.settings.handlers, self.settings.handler_threads)
        self.scheduler = Scheduler.load(self.settings, self.registry)
        self.metrics.start(self.registry.names)
        self.store: Store = open_store(self.settings)
        try:
            await self.store.open()
            await self.registry.startup()
        except BaseException:
            await self._close_store()
            raise
        self.pool = WorkerPool(self.settings, self.registry, self.store, self.metrics)
        self.waiters = Waiters(self.store, self.settings.poll_interval)
        self.pool.on_end += [self.waiters.finished, self.metrics.ended]
        self.reads = TaskReads(self.store, self.pool, self.waiters)
        self.upkeep = Upkeep(self.store, self.pool, self._count_unfinished)
        await self._count_unfinished()
        self.pool.start()
        self.upkeep.start()
        self.scheduler.start(self.store, self.pool.dispatcher.wake)
        self.state = "serving"
        log.info(
            "serving with store=%s concurrency=%d queue_maxsize=%d handlers=%s",
            redacted(self.settings.store),
            self.settings.concurrency,
            self.settings.queue_maxsize,
            ",".join(self.registry.names),
            extra={"action": "start"},
        )

    async def stop(self) -> None:
        """Refuse new tasks, drain under the deadline, give back what is left, stop."""
        if self.state != "serving":
            return
        self.state = "draining"
        began = time.monotonic()
        self.waiters.close()
        await self.scheduler.stop()
        # The lease is renewed while the running tasks finish; others take the rest at once.
        left = await self.pool.drain(self.settings.drain_timeout, alone=self.upkeep.peers == 0)
        self.upkeep.stop()
        counts = self.pool.counts
        if self.store.durable:
            counts.released = await self._release(left)
            counts.abandoned = max(len(left) - counts.released, 0)
        else:  # every unfinished task is lost, queued ones included
            counts.abandoned = await self.store.count_unfinished()
        await self._close_store()
        await self.registry.shutdown()
        self.state = "stopped"
        # What a durable store could not take back is still in it, under this process's lease.
        fate = "run again once the lease runs out" if self.store.durable else "lost"
        if counts.lost:
            log.warning(
                "%d attempts ran under a lease that had run out; their results were discarded",
                counts.lost,
                extra={"action": "stop"},
            )
        log.info(
            "stopped after %.2f s of drain: done=%d failed=%d cancelled=%d "
            "abandoned=%d (%s) released=%d (kept queued for the next start)",
            time.monotonic() - began,
            counts.done,
            counts.failed,
            counts.cancelled,
            counts.abandoned,
            fate,
            counts.released,
            extra={"action": "stop"},
        )
        self.metrics.stop()
        exit_if_stuck(self.pool.slots.strays)

    async def _release(self, tasks: list[Task]) -> int:
        """Give unfinished tasks back to the store; how many it took."""
        try:
            return await self.store.release(tasks)
        except StoreError as error:
            log.error(
                "could not give %d unfinished tasks back to the store: %s",
                len(tasks),
                error,
                extra={"action": "release", "task_ids": [task.id for task in tasks]},
            )
            return 0

    async def _close_store(self) -> None:
        try:
            await self.store.close()
        except Exception:
            log.exception("closing the store failed: %r", self.store, extra={"action": "stop"})
        else:
            log.info("store closed: %r", self.store, extra={"action": "stop"})

    async def submit(
        self, options: Options, payloads: Sequence[Any], idempotency_key: str | None = None
    ) -> list[tuple[Task, bool]]:
        """`_submit`, its outcome counted in the metrics."""
        try:
            pairs = await self._submit(options, payloads, idempotency_key)
        except Exception:  # not a request cut before it was decided
            self.metrics.refused(options.type, len(payloads))
            raise
        self.metrics.submitted(options.type, pairs)
        return pairs

    async def _submit(
        self, options: Options, payloads: Sequence[Any], idempotency_key: str | None = None
    ) -> list[tuple[Task, bool]]:
        """Store and queue one task per payload, all or none; (task, created) for each.

        With an idempotency key (one payload only), a task already stored under the same
        type and key is answered instead, whatever room the queue has.
        """
        self._check_accepting()
        if options.type not in self.registry:
            raise RequestError(
                422,
                "unknown_type",
                f"no handler is registered for type {options.type!r}; "
                f"known types: {', '.join(self.registry.names)}",
            )
        if idempotency_key is None:
            return await self._add(self._build(options, payloads))
        [payload] = payloads
        sum_up = fingerprint(options, payload)
        async with self._key_turns.turn(options.type, idempotency_key):
            stored = await read(self.store.find(options.type, idempotency_key))
            if stored is None:
                [task] = self._build(options, payloads)
                task.idempotency_key, task.fingerprint = idempotency_key, sum_up
                [(stored, created)] = await self._add([task])
                if created:
                    return [(stored, True)]
            check_same_request(stored, sum_up)
            return [(self.pool.held.get(stored.id, stored), False)]

    async def _add(self, tasks: list[Task]) -> list[tuple[Task, bool]]:
        count = len(tasks)
        self._check_room(count)
        self._reserved += count
        started = self._start_at_once(tasks)
        sent = time.monotonic()
        try:
            stored = await self.store.add(tasks)
        except StoreError as error:
            log.error("store refused %d tasks: %s", count, error, extra={"action": "store"})
            raise RequestError(
                503,
                "store_unavailable",
                "the task store cannot accept tasks right now",
                headers={"Retry-After": "1"},
            ) from error
        finally:
            self._reserved -= count
            self.pool.unpromise(started)
        pairs = [(kept, new is kept) for new, kept in zip(tasks, stored, strict=True)]
        self._unfinished += sum(created for _, created in pairs)
        claimed = [task for task, created in pairs if created and task.status == "running"]
        self.pool.push(claimed, sent if claimed else None)
        self.pool.batches.arrived(pairs)
        if any(created and task.run_at for task, created in pairs):
            self.pool.dispatcher.wake()  # to learn when the delayed task is due
        return pairs

    def _start_at_once(self, tasks: list[Task]) -> int:
        """Claim due new tasks for idle workers as they are stored: no claim round trip."""
        due = [task for task in tasks if not task.run_at and task.type not in self.registry.batches]
        started = self.pool.promise(len(due))
        claim = (self.store.owner, 1)
        for task in due[:started]:
            task.status, task.attempts, task.claim = "running", 1, claim
            task.started_at = task.created_at
        return started

    async def cancel(self, task_id: str) -> Task:
        """Cancel a queued task, whichever process accepted it; a cancelled task never starts."""
        self._check_accepting()
        task = await write(self.store.cancel(task_id))
        if task is None:
            raise not_found(task_id)
        if task.status != "cancelled":
            message = f"task {task_id} is {task.status}; only a queued task can be cancelled"
            raise RequestError(409, "not_cancellable", message)
        self._unfinished -= 1
        self.waiters.finished(task)
        self.metrics.finished(task.type, "cancelled")
        return task

    async def retry(self, task_id: str) -> Task:
        """Queue a failed or cancelled task again, with a fresh attempt budget."""
        self._check_accepting()
        self._check_room(1)
        found = await self.reads.get(task_id)
        if found is None:
            raise not_found(task_id)
        if (status := found.status) not in RETRYABLE:
            message = f"task {task_id} is {status}; only a failed or cancelled task can be retried"
            raise RequestError(409, "not_retryable", message)
        task = await write(self.store.retry(task_id))
        if task is None:  # forgotten in between
            raise not_found(task_id)
        self._unfinished += 1
        self.pool.dispatcher.wake()
        return task

    async def retry_failed(self, type: str | None, prefix: str, upto: str) -> int:
        """Queue again every failed task of this type and id prefix, up to the id `upto`."""
        self._check_accepting()
        retried = await write(self.store.retry_failed(type=type, prefix=prefix, upto=upto))
        self._unfinished += retried
        self.pool.dispatcher.wake()
        return retried

    def _check_room(self, count: int) -> None:
        unfinished = self._unfinished - (self.pool.ended - self._ended_at_count)
        room = self.settings.queue_maxsize - unfinished - self._reserved
        if count > room:
            seconds = self.pool.retry_after(count)
            raise RequestError(
                503,
                "queue_full",
                f"the queue has room for {max(room, 0)} more tasks, "
                f"{count} were sent; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )

    def _check_accepting(self) -> None:
        if self.state != "serving":
            raise RequestError(
                503,
                "unavailable",
                f"the service is {self.state} and accepts no tasks",
                headers={"Retry-After": "1"},
            )

    def _build(self, options: Options, payloads: Sequence[Any]) -> list[Task]:
        now = time.time()
        max_attempts = options.max_attempts or self.settings.max_attempts
        return [
            Task(
                type=options.type,
                payload=payload,
                priority=options.priority,
                max_attempts=max_attempts,
                run_at=now + options.delay if options.delay else 0.0,
                created_at=now,
            )
            for payload in payloads
        ]

    async def _count_unfinished(self) -> None:
        ended = self.pool.ended
        self._unfinished = await self.store.count_unfinished()
        self._ended_at_count = ended
