"""The shapes of the API's queries and bodies, as pydantic models.

They describe the API in `/openapi.json`; the query models also check the queries of the
routes served by Quart. Intake (`POST /task`, `POST /tasks`) parses its own query on the hot
path (`options.py`), to the same rules as `IntakeQuery` says.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .options import MAX_ATTEMPTS_LIMIT, MAX_DELAY
from .reads import WAIT_LIMIT

TaskStatus = Literal["queued", "running", "done", "failed", "cancelled"]
MAX_PAGE = 1000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Strict):
    """Every error answer."""

    error: str = Field(description="A short code, such as not_found or queue_full")
    message: str = Field(description="What went wrong, in a sentence")


class TaskBody(Strict):
    """A task's record."""

    id: str
    type: str
    status: TaskStatus
    payload: Any = Field(description="The JSON value it was submitted with")
    result: Any = Field(description="What the handler returned, once done")
    error: str | None = Field(description="Why the last attempt failed")
    attempts: int = Field(ge=0)
    max_attempts: int = Field(ge=1)
    priority: int
    created_at: datetime
    run_at: datetime = Field(description="When it is due")
    started_at: datetime | None
    finished_at: datetime | None


class Accepted(Strict):
    success: Literal["OK"]
    id: str
    status: TaskStatus


class AcceptedMany(Strict):
    success: Literal["OK"]
    ids: list[str] = Field(description="One id per payload, in order")


class TaskPage(Strict):
    tasks: list[TaskBody] = Field(description="Newest first")
    next: str | None = Field(description="Pass as `after` for the next page; null on the last")


class ScheduleBody(Strict):
    """A schedule, its next tick, and its latest tick with that tick's task."""

    name: str
    type: str = Field(description="The handler each tick's task runs")
    every: float | None = Field(description="Seconds between ticks; null for a cron schedule")
    cron: str | None = Field(description="Five cron fields, in `timezone`; null for `every`")
    timezone: str
    catch_up: Literal["latest", "none", "all"] = Field(description="What runs after a pause")
    next_tick: datetime = Field(description="When the next tick falls due")
    last_tick: datetime | None = Field(description="The latest tick stored, by any process")
    last_task_id: str | None = Field(description="The task the latest tick made")
    last_task_status: TaskStatus | None = Field(description="Its status; null once forgotten")


class ScheduleList(Strict):
    schedules: list[ScheduleBody] = Field(description="In the order they were declared")


class Health(Strict):
    status: Literal["ok"]


class Ready(Strict):
    status: Literal["ready"]


class IntakeQuery(Strict):
    type: str | None = Field(None, description="The handler to run; the default type if unset")
    priority: int | None = Field(
        None, ge=-(2**31), le=2**31 - 1, description="Higher runs first; default 0"
    )
    delay: float | None = Field(
        None, ge=0, le=MAX_DELAY, description="Seconds before the task is due"
    )
    max_attempts: int | None = Field(
        None, ge=1, le=MAX_ATTEMPTS_LIMIT, description="Attempts before it fails for good"
    )


class IdempotencyHeader(Strict):
    idempotency_key: str | None = Field(
        None,
        alias="Idempotency-Key",
        description="Submitting again with the same key and request answers the first task",
    )


class WaitQuery(Strict):
    wait: float | None = Field(
        None,
        gt=0,
        le=WAIT_LIMIT,
        description="Seconds to wait for the task to finish before answering",
    )


class ListQuery(Strict):
    status: TaskStatus | None = None
    type: str | None = None
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="Tasks per page")
    after: str | None = Field(None, description="The `next` of the page before")
