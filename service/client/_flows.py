"""The API's requests and answers, written once for `Client` and `AsyncClient` (no I/O here).

Each operation is a generator, a *flow*, that yields what to do next, a `Call` to send or a
`Pause` to sleep, and is sent back the `httpx.Response` (or has the transport error thrown
in). `Client` runs flows with blocking I/O, `AsyncClient` with `await`: building requests,
retrying 503s, waiting and parsing answers are the same code for both.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias, TypeVar

import httpx

from ._wire import JSON_HEADERS, cut_short, encode, options, parse, retry_after, seconds, task_path
from .models import (
    JSONInput,
    Status,
    TaskInfo,
    TaskPage,
    TaskRef,
    task_ids,
    task_ref,
)

T = TypeVar("T")

MAX_WAIT = 60.0
"""The longest `?wait=` the service takes: longer waits are asked in slices."""
MIN_WAIT = 0.001
REASK_PAUSE = 0.5
"""After a wait's connection closed with no answer (the service is shutting down)."""
POLL_PAUSE = 0.2
"""Between quick answers of a service that does not hold `?wait=` requests."""
BACKOFF = 0.5
"""First pause before retrying a 503 that came without Retry-After; doubles each time."""
MAX_RETRY_PAUSE = 30.0
"""The longest pause before retrying a 503, whatever Retry-After says."""

# A request was sent but the connection ended without an answer.
CUT = (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request to send."""

    method: str
    path: str
    params: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    held: float = 0.0
    """Seconds the service may hold the answer (`?wait=`): added to the read timeout."""

    def timeout(self, base: float) -> httpx.Timeout:
        return httpx.Timeout(base, read=base + self.held)


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float


Step: TypeAlias = Call | Pause
Flow: TypeAlias = Generator[Step, httpx.Response | None, T]


class Flows:
    """The flow of every operation, with the client's retry settings."""

    def __init__(self, retry_unavailable: bool, max_retries: int) -> None:
        self.retry_unavailable = retry_unavailable
        self.max_retries = max_retries

    def submit(
        self,
        type: str,
        payload: JSONInput,
        *,
        priority: int | None,
        delay: float | None,
        max_attempts: int | None,
        idempotency_key: str | None,
    ) -> Flow[TaskRef]:
        headers = dict(JSON_HEADERS)
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        query = options(type, priority, delay, max_attempts)
        response = yield from self.exchange(Call("POST", "/task", query, encode(payload), headers))
        created, location = response.status_code == 202, response.headers.get("Location", "")
        return parse(response, lambda data: task_ref(data, created, location))

    def submit_many(
        self,
        type: str,
        payloads: Sequence[JSONInput],
        *,
        priority: int | None,
        delay: float | None,
        max_attempts: int | None,
    ) -> Flow[list[str]]:
        query = options(type, priority, delay, max_attempts)
        call = Call("POST", "/tasks", query, encode(list(payloads)), JSON_HEADERS)
        response = yield from self.exchange(call)
        return parse(response, task_ids)

    def get(self, task_id: str) -> Flow[TaskInfo]:
        return self.task(Call("GET", task_path(task_id)))

    def cancel(self, task_id: str) -> Flow[TaskInfo]:
        return self.task(Call("DELETE", task_path(task_id)))

    def retry(self, task_id: str) -> Flow[TaskInfo]:
        return self.task(Call("POST", task_path(task_id) + "/retry"))

    def list(
        self, *, status: Status | None, type: str | None, limit: int | None, after: str | None
    ) -> Flow[TaskPage]:
        given = {"status": status, "type": type, "limit": limit, "after": after}
        query = {name: str(value) for name, value in given.items() if value is not None}
        response = yield from self.exchange(Call("GET", "/tasks", query))
        return parse(response, TaskPage.from_json)

    def wait(self, task_id: str, timeout: float) -> Flow[TaskInfo]:
        """Ask with `?wait=` until the task is finished or `timeout` seconds have passed.

        A wait cut short with no answer (what a waiter sees when the service shuts down) is
        asked again after a short pause; so is a refused connection once the service has
        been reached, as while it restarts. A service never reached fails at once.
        """
        deadline = time.monotonic() + timeout
        last: TaskInfo | None = None
        reached = False
        while (left := deadline - time.monotonic()) >= MIN_WAIT:
            window, asked = min(left, MAX_WAIT), time.monotonic()
            response = yield from self.ask_waiting(task_id, window, reached)
            reached = True
            if response is None:
                yield Pause(min(REASK_PAUSE, remaining(deadline)))
                continue
            last = parse(response, TaskInfo.from_json)
            if last.finished:
                return last
            if time.monotonic() - asked < window / 2:  # the service did not hold the answer
                yield Pause(min(POLL_PAUSE, remaining(deadline)))
        return last if last is not None else (yield from self.get(task_id))

    def ask_waiting(
        self, task_id: str, window: float, reached: bool
    ) -> Flow[httpx.Response | None]:
        """One `?wait=` request: its answer, or None if it was cut short with none."""
        call = Call("GET", task_path(task_id), {"wait": seconds(window)}, held=window)
        try:
            response = yield from self.exchange(call)
        except httpx.TransportError as error:
            if reached or isinstance(error, CUT):
                return None
            raise
        return None if cut_short(response) else response

    def task(self, call: Call) -> Flow[TaskInfo]:
        response = yield from self.exchange(call)
        return parse(response, TaskInfo.from_json)

    def exchange(self, call: Call) -> Flow[httpx.Response]:
        """Send `call`; a 503 is sent again after the pause it asks for, `max_retries` times.

        Every 503 of the service means that nothing was done (a task was not stored, not
        cancelled, not queued again), so sending the same request again is safe, `POST
        /task` included.
        """
        retries = 0
        while True:
            response = yield call
            if response is None:
                raise TypeError("a Call must be answered with a response")
            if not self.retry_unavailable or response.status_code != 503:
                return response
            if retries >= self.max_retries:
                return response
            yield Pause(retry_pause(response, retries))
            retries += 1


def remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.0)


def retry_pause(response: httpx.Response, retries: int) -> float:
    asked = retry_after(response)
    return min(BACKOFF * 2**retries if asked is None else asked, MAX_RETRY_PAUSE)
