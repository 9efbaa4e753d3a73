"""`AsyncClient`: the API with `await`, for asyncio apps (Quart, FastAPI, aiohttp)."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator, Sequence
from types import TracebackType
from typing import Self, TypeVar, cast

import httpx

from ._flows import Call, Flow, Flows, Pause, Step
from ._wire import auth_headers, connection_failed
from .models import JSONInput, Status, TaskInfo, TaskPage, TaskRef

T = TypeVar("T")


class AsyncClient:
    """The asyncio twin of `Client`: the same arguments, methods and errors, awaited.

    `transport` is an `httpx.AsyncBaseTransport`. Use it with `async with`, or
    `await close()`. One `AsyncClient` serves any number of concurrent calls on its loop.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        retry_unavailable: bool = True,
        max_retries: int = 5,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._flows = Flows(retry_unavailable, max_retries)
        self._timeout = timeout
        self._http = httpx.AsyncClient(
            base_url=base_url, headers=auth_headers(token), timeout=timeout, transport=transport
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the connections."""
        await self._http.aclose()

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
        """See `Client.submit`: retrying its 503s is safe, a 503 stored nothing."""
        flow = self._flows.submit(
            type,
            payload,
            priority=priority,
            delay=delay,
            max_attempts=max_attempts,
            idempotency_key=idempotency_key,
        )
        return await self._run(flow)

    async def submit_many(
        self,
        type: str,
        payloads: Sequence[JSONInput],
        *,
        priority: int | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
    ) -> builtins.list[str]:
        """See `Client.submit_many`."""
        flow = self._flows.submit_many(
            type, payloads, priority=priority, delay=delay, max_attempts=max_attempts
        )
        return await self._run(flow)

    async def get(self, id: str) -> TaskInfo:
        """See `Client.get`."""
        return await self._run(self._flows.get(id))

    async def wait(self, id: str, timeout: float) -> TaskInfo:
        """See `Client.wait`."""
        return await self._run(self._flows.wait(id, timeout))

    async def cancel(self, id: str) -> TaskInfo:
        """See `Client.cancel`."""
        return await self._run(self._flows.cancel(id))

    async def retry(self, id: str) -> TaskInfo:
        """See `Client.retry`."""
        return await self._run(self._flows.retry(id))

    async def list(
        self,
        *,
        status: Status | None = None,
        type: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> TaskPage:
        """See `Client.list`."""
        flow = self._flows.list(status=status, type=type, limit=limit, after=after)
        return await self._run(flow)

    async def iter_tasks(
        self, *, status: Status | None = None, type: str | None = None, limit: int | None = None
    ) -> AsyncIterator[TaskInfo]:
        """See `Client.iter_tasks`."""
        after: str | None = None
        while True:
            page = await self.list(status=status, type=type, limit=limit, after=after)
            for task in page.tasks:
                yield task
            if page.next is None:
                return
            after = page.next

    async def _run(self, flow: Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                try:
                    reply = await self._perform(step)
                except httpx.TransportError as error:
                    step = flow.throw(error)
                else:
                    step = flow.send(reply)
        except StopIteration as stop:
            return cast(T, stop.value)
        except httpx.TransportError as error:
            raise connection_failed(error) from error

    async def _perform(self, step: Step) -> httpx.Response | None:
        if isinstance(step, Pause):
            await asyncio.sleep(step.seconds)
            return None
        return await self._send(step)

    async def _send(self, call: Call) -> httpx.Response:
        return await self._http.request(
            call.method,
            call.path,
            params=call.params,
            content=call.content,
            headers=call.headers,
            timeout=call.timeout(self._timeout),
        )
