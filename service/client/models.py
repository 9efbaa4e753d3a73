"""What the client returns: tasks as frozen dataclasses, with their times parsed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, TypeAlias, TypeVar, cast

Status = Literal["queued", "running", "done", "failed", "cancelled"]
STATUSES: frozenset[str] = frozenset({"queued", "running", "done", "failed", "cancelled"})
UNFINISHED: frozenset[str] = frozenset({"queued", "running"})

JSONValue: TypeAlias = "None | bool | int | float | str | list[JSONValue] | dict[str, JSONValue]"
"""A JSON value as the client reads it back."""

JSONInput: TypeAlias = (
    "None | bool | int | float | str | Sequence[JSONInput] | Mapping[str, JSONInput]"
)
"""What the client sends as a payload: any JSON-shaped value (lists, tuples, dicts...)."""


T = TypeVar("T")


class ShapeError(ValueError):
    """An answer that does not have the shape the API promises."""


@dataclass(frozen=True, slots=True)
class TaskRef:
    """The answer to a submit: the task's id and status, and whether it was created now
    (202) or an earlier task was found under the same Idempotency-Key (200)."""

    id: str
    status: Status
    created: bool
    location: str
    """The task's path, from the Location header (e.g. /task/<id>)."""


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task as `GET /task/<id>` shows it. Times are timezone-aware (UTC)."""

    id: str
    type: str
    status: Status
    payload: JSONValue
    result: JSONValue
    error: str | None
    attempts: int
    max_attempts: int
    priority: int
    created_at: datetime
    run_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @property
    def finished(self) -> bool:
        """Done, failed or cancelled: the task will not change any more (unless retried)."""
        return self.status not in UNFINISHED

    @classmethod
    def from_json(cls, data: object) -> TaskInfo:
        record = _mapping(data)
        return cls(
            id=_field(record, "id", str),
            type=_field(record, "type", str),
            status=_status(record),
            payload=cast(JSONValue, record.get("payload")),
            result=cast(JSONValue, record.get("result")),
            error=_optional(record, "error", str),
            attempts=_field(record, "attempts", int),
            max_attempts=_field(record, "max_attempts", int),
            priority=_field(record, "priority", int),
            created_at=_time(record, "created_at"),
            run_at=_time(record, "run_at"),
            started_at=_optional_time(record, "started_at"),
            finished_at=_optional_time(record, "finished_at"),
        )


@dataclass(frozen=True, slots=True)
class TaskPage:
    """One page of `GET /tasks`, newest first; `next` is the `after` of the next page."""

    tasks: tuple[TaskInfo, ...]
    next: str | None

    @classmethod
    def from_json(cls, data: object) -> TaskPage:
        record = _mapping(data)
        tasks = record.get("tasks")
        if not isinstance(tasks, list):
            raise ShapeError(f"expected a list of tasks, got {tasks!r:.80}")
        found = tuple(TaskInfo.from_json(task) for task in tasks)
        return cls(found, _optional(record, "next", str))


def task_ref(data: object, created: bool, location: str) -> TaskRef:
    record = _mapping(data)
    return TaskRef(_field(record, "id", str), _status(record), created, location)


def task_ids(data: object) -> list[str]:
    ids = _mapping(data).get("ids")
    if not isinstance(ids, list) or not all(isinstance(task_id, str) for task_id in ids):
        raise ShapeError(f"expected a list of ids, got {ids!r:.80}")
    return cast(list[str], ids)


def _mapping(data: object) -> Mapping[str, object]:
    if not isinstance(data, dict):
        raise ShapeError(f"expected a JSON object, got {data!r:.80}")
    return cast(Mapping[str, object], data)


def _field(record: Mapping[str, object], name: str, kind: type[T]) -> T:
    value = record.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ShapeError(f"expected {name} to be {kind.__name__}, got {value!r:.80}")
    return value


def _optional(record: Mapping[str, object], name: str, kind: type[T]) -> T | None:
    return None if record.get(name) is None else _field(record, name, kind)


def _status(record: Mapping[str, object]) -> Status:
    status = _field(record, "status", str)
    if status not in STATUSES:
        raise ShapeError(f"unknown task status {status!r}")
    return cast(Status, status)


def _time(record: Mapping[str, object], name: str) -> datetime:
    text = _field(record, name, str)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ShapeError(f"expected {name} to be an ISO 8601 time, got {text!r}") from None


def _optional_time(record: Mapping[str, object], name: str) -> datetime | None:
    return None if record.get(name) is None else _time(record, name)
