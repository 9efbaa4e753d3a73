"""The task service: what the HTTP layer calls, and the start-up and drain around it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any

from .errors import RequestError, StoreError
from .handlers import Registry
from .options import Options
from .settings import Settings
from .store import Store, open_store
from .task import Task
from .worker import WorkerPool

log = logging.getLogger("service")

UPKEEP_INTERVAL = 1.0


class TaskService:
    def __init__(self, settings: Settings | None = None) -> None:
        self._given_settings = settings
        self.state = "starting"
        self._upkeep: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        pool = getattr(self, "pool", None)
        return f"TaskService(state={self.state}, pool={pool!r})"

    async def start(self) -> None:
        """Read settings, load handlers, open the store, start the workers."""
        self.settings = self._given_settings or Settings.from_env()
        self.registry = Registry.load(self.settings.handlers)
        self.store: Store = open_store(self.settings)
        await self.store.open()
        await self.registry.startup()
        self.pool = WorkerPool(self.settings, self.registry, self.store)
        self.pool.push(await self.store.claim(self.pool.free))
        self.pool.start()
        self._upkeep = asyncio.create_task(self._keep_up(), name="service-upkeep")
        self.state = "serving"
        log.info(
            "serving with store=%s concurrency=%d queue_maxsize=%d handlers=%s",
            self.settings.store,
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
        if self._upkeep is not None:
            self._upkeep.cancel()
        left = await self.pool.drain(self.settings.drain_timeout)
        counts = self.pool.counts
        try:
            await self.store.release(left)
            await self.store.close()
        except StoreError:
            log.exception("could not release %d tasks to the store", len(left))
        finally:
            await self.registry.shutdown()
            self.state = "stopped"
        log.info("store closed: %r", self.store, extra={"action": "stop"})
        if self.store.durable:
            counts.released = len(left)
        else:
            counts.abandoned = len(left)
        log.info(
            "stopped after %.2f s of drain: done=%d failed=%d cancelled=%d "
            "abandoned=%d (lost) released=%d (kept queued for the next start)",
            time.monotonic() - began,
            counts.done,
            counts.failed,
            counts.cancelled,
            counts.abandoned,
            counts.released,
            extra={"action": "stop"},
        )

    async def submit(
        self, options: Options, payloads: Sequence[Any], idempotency_key: str | None = None
    ) -> list[tuple[Task, bool]]:
        """Store and queue one task per payload, all or none; (task, created) for each."""
        self._check_accepting()
        if options.type not in self.registry:
            raise RequestError(
                422,
                "unknown_type",
                f"no handler is registered for type {options.type!r}; "
                f"known types: {', '.join(self.registry.names)}",
            )
        count = len(payloads)
        if not self.pool.reserve(count):
            seconds = self.pool.retry_after(count)
            raise RequestError(
                503,
                "queue_full",
                f"the queue has room for {max(self.pool.free, 0)} more tasks, "
                f"{count} were sent; retry in {seconds} s",
                headers={"Retry-After": str(seconds)},
            )
        try:
            tasks = self._build(options, payloads, idempotency_key)
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
            self.pool.unreserve(count)
        self.pool.push(new for new, kept in zip(tasks, stored, strict=True) if new is kept)
        return [(kept, new is kept) for new, kept in zip(tasks, stored, strict=True)]

    async def get(self, task_id: str) -> Task | None:
        held = self.pool.held.get(task_id)
        if held is not None:
            return held
        try:
            return await self.store.get(task_id)
        except StoreError as error:
            raise RequestError(503, "store_unavailable", "the task store cannot be read") from error

    async def cancel(self, task_id: str) -> Task:
        self._check_accepting()
        task = await self.get(task_id)
        if task is None:
            raise RequestError(404, "not_found", f"no task with id {task_id!r}")
        if task.status != "queued":
            message = f"task {task_id} is {task.status}; only a queued task can be cancelled"
            raise RequestError(409, "not_cancellable", message)
        if task.id not in self.pool.held:
            message = f"task {task_id} is queued in another process, which alone can cancel it"
            raise RequestError(409, "not_cancellable", message)
        self.pool.cancel(task)
        try:
            await self.store.flush()
        except StoreError as error:
            raise RequestError(
                503, "store_unavailable", "the task is cancelled here, but could not be stored"
            ) from error
        return task

    def _check_accepting(self) -> None:
        if self.state != "serving":
            raise RequestError(
                503,
                "unavailable",
                f"the service is {self.state} and accepts no tasks",
                headers={"Retry-After": "1"},
            )

    def _build(
        self, options: Options, payloads: Sequence[Any], idempotency_key: str | None
    ) -> list[Task]:
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
                idempotency_key=idempotency_key,
            )
            for payload in payloads
        ]

    async def _keep_up(self) -> None:
        while True:
            await asyncio.sleep(UPKEEP_INTERVAL)
            self.pool.measure(UPKEEP_INTERVAL)
            try:
                await self.store.maintain()
                if self.pool.free > 0:
                    self.pool.push(await self.store.claim(self.pool.free))
            except StoreError as error:
                log.error("store upkeep failed: %s", error, extra={"action": "upkeep"})
