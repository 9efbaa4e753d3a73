"""One test body for both clients: `AsyncClient` as it is, `Client` with each call on a thread."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from service.client import Client, JSONInput, Status, TaskInfo, TaskPage, TaskRef

STORES = {"memory": {"SERVICE_STORE": "memory"}, "sqlite": {}}
"""The environment of each store's service (SQLite in the service's working directory)."""


class Api(Protocol):
    """The methods of `AsyncClient`; `Threaded` gives `Client` the same face."""

    async def submit(
        self,
        type: str,
        payload: JSONInput,
        *,
        priority: int | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
    ) -> TaskRef: ...

    async def submit_many(
        self,
        type: str,
        payloads: Sequence[JSONInput],
        *,
        priority: int | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
    ) -> builtins.list[str]: ...

    async def get(self, id: str) -> TaskInfo: ...

    async def wait(self, id: str, timeout: float) -> TaskInfo: ...

    async def cancel(self, id: str) -> TaskInfo: ...

    async def retry(self, id: str) -> TaskInfo: ...

    async def list(
        self,
        *,
        status: Status | None = None,
        type: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> TaskPage: ...

    def iter_tasks(
        self, *, status: Status | None = None, type: str | None = None, limit: int | None = None
    ) -> AsyncIterator[TaskInfo]: ...

    async def close(self) -> None: ...


class Threaded:
    """The blocking `Client`, each call run on a thread so that the test's loop goes on."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def submit(
        self,
        type: str,
        payload: JSONInput,
        *,
        priority: int | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
    ) -> TaskRef:
        return await asyncio.to_thread(
            self.client.submit,
            type,
            payload,
            priority=priority,
            delay=delay,
            max_attempts=max_attempts,
            idempotency_key=idempotency_key,
        )

    async def submit_many(
        self,
        type: str,
        payloads: Sequence[JSONInput],
        *,
        priority: int | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
    ) -> builtins.list[str]:
        return await asyncio.to_thread(
            self.client.submit_many,
            type,
            payloads,
            priority=priority,
            delay=delay,
            max_attempts=max_attempts,
        )

    async def get(self, id: str) -> TaskInfo:
        return await asyncio.to_thread(self.client.get, id)

    async def wait(self, id: str, timeout: float) -> TaskInfo:
        return await asyncio.to_thread(self.client.wait, id, timeout)

    async def cancel(self, id: str) -> TaskInfo:
        return await asyncio.to_thread(self.client.cancel, id)

    async def retry(self, id: str) -> TaskInfo:
        return await asyncio.to_thread(self.client.retry, id)

    async def list(
        self,
        *,
        status: Status | None = None,
        type: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> TaskPage:
        return await asyncio.to_thread(
            self.client.list, status=status, type=type, limit=limit, after=after
        )

    async def iter_tasks(
        self, *, status: Status | None = None, type: str | None = None, limit: int | None = None
    ) -> AsyncIterator[TaskInfo]:
        pages = self.client.iter_tasks(status=status, type=type, limit=limit)
        for task in await asyncio.to_thread(builtins.list, pages):
            yield task

    async def close(self) -> None:
        self.client.close()


class Connect(Protocol):
    def __call__(
        self,
        url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        retry_unavailable: bool = True,
        max_retries: int = 5,
    ) -> Api: ...
