"""`Client`: the API with blocking calls, for threads and WSGI apps (Flask, Django)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator, Sequence
from types import TracebackType
from typing import Self, TypeVar, cast

import httpx

from ._flows import Call, Flow, Flows, Pause, Step
from ._wire import auth_headers, connection_failed
from .models import JSONInput, Status, TaskInfo, TaskPage, TaskRef

T = TypeVar("T")


class Client:
    """A client of the service's HTTP API at `base_url` (e.g. "http://127.0.0.1:8000").

    `token` is sent as `Authorization: Bearer <token>`. `timeout` bounds each request in
    seconds (a `wait` request gets the time it asks the service to hold it on top).
    A 503 answer is retried after its Retry-After (at most 30 s), `max_retries` times,
    unless `retry_unavailable` is False; no other error is retried. `transport` is handed
    to httpx (e.g. `httpx.WSGITransport`, or a transport with connection retries).

    Errors: `service.client.errors.APIError` (one subclass per error code) when the
    service refuses, `ConnectionFailed` when no answer came. Use it as a context manager,
    or call `close()`. One `Client` may be shared by threads.
    """

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        timeout: float = 10.0,
        retry_unavailable: bool = True,
        max_retries: int = 5,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._flows = Flows(retry_unavailable, max_retries)
        self._timeout = timeout
        self._http = httpx.Client(
            base_url=base_url, headers=auth_headers(token), timeout=timeout, transport=transport
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    def submit(
        self,
        type: str,
        payload: JSONInput,
        *,
        priority: int | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
        idempotency_key: str | None = None,
    ) -> TaskRef:
        """`POST /task`: store a task of `type` with `payload` (any JSON value).

        `priority` (higher runs first), `delay` (seconds before it may run) and
        `max_attempts` default to the service's settings. With `idempotency_key`, a repeat
        of the same request answers the first task (`created` is False).

        A 503 (queue full, store unavailable, draining) means the task was not stored, so
        the retry of a 503 cannot create a second task, with or without a key.
        """
        flow = self._flows.submit(
            type,
            payload,
            priority=priority,
            delay=delay,
            max_attempts=max_attempts,
            idempotency_key=idempotency_key,
        )
        return self._run(flow)

    def submit_many(
        self,
        type: str,
        payloads: Sequence[JSONInput],
        *,
        priority: int | None = None,
        delay: float | None = None,
        max_attempts: int | None = None,
    ) -> builtins.list[str]:
        """`POST /tasks`: store one task per payload, all or none; their ids, in order.

        Retrying a 503 is safe here too: a refused batch stored nothing.
        """
        flow = self._flows.submit_many(
            type, payloads, priority=priority, delay=delay, max_attempts=max_attempts
        )
        return self._run(flow)

    def get(self, id: str) -> TaskInfo:
        """`GET /task/<id>`: the task as it is now. `NotFound` once unknown or forgotten."""
        return self._run(self._flows.get(id))

    def wait(self, id: str, timeout: float) -> TaskInfo:
        """The task once finished, or as it stands when `timeout` seconds have passed.

        Asks `GET /task/<id>?wait=` in slices of at most 60 s; check `.finished` on the
        answer. A wait cut short with no answer (at shutdown, Hypercorn closes the requests
        still open, with a bare 500) is asked again after a short pause, and so is a
        refused connection once the service was reached (it is restarting), until
        `timeout`. A service never reached raises `ConnectionFailed` at once.
        """
        return self._run(self._flows.wait(id, timeout))

    def cancel(self, id: str) -> TaskInfo:
        """`DELETE /task/<id>`: cancel a queued task. `NotCancellable` once it has started."""
        return self._run(self._flows.cancel(id))

    def retry(self, id: str) -> TaskInfo:
        """`POST /task/<id>/retry`: queue a failed or cancelled task again.

        `NotRetryable` for a task that is queued, running or done.
        """
        return self._run(self._flows.retry(id))

    def list(
        self,
        *,
        status: Status | None = None,
        type: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> TaskPage:
        """`GET /tasks`: one page of tasks, newest first; pass `page.next` as `after`."""
        return self._run(self._flows.list(status=status, type=type, limit=limit, after=after))

    def iter_tasks(
        self, *, status: Status | None = None, type: str | None = None, limit: int | None = None
    ) -> Iterator[TaskInfo]:
        """Every task `list` finds, page after page (`limit` tasks per page)."""
        after: str | None = None
        while True:
            page = self.list(status=status, type=type, limit=limit, after=after)
            yield from page.tasks
            if page.next is None:
                return
            after = page.next

    def _run(self, flow: Flow[T]) -> T:
        try:
            step = next(flow)
            while True:
                try:
                    reply = self._perform(step)
                except httpx.TransportError as error:
                    step = flow.throw(error)
                else:
                    step = flow.send(reply)
        except StopIteration as stop:
            return cast(T, stop.value)
        except httpx.TransportError as error:
            raise connection_failed(error) from error

    def _perform(self, step: Step) -> httpx.Response | None:
        if isinstance(step, Pause):
            time.sleep(step.seconds)
            return None
        return self._send(step)

    def _send(self, call: Call) -> httpx.Response:
        return self._http.request(
            call.method,
            call.path,
            params=call.params,
            content=call.content,
            headers=call.headers,
            timeout=call.timeout(self._timeout),
        )
