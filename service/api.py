"""The HTTP endpoints beside intake (which is served on raw ASGI by `intake.py`)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app
from quart_schema import document_response, validate_querystring

from . import jsoncodec
from .core import TaskService
from .errors import RequestError
from .reads import not_found, read
from .schemas import (
    ErrorBody,
    Health,
    ListQuery,
    Ready,
    ScheduleList,
    TaskBody,
    TaskPage,
    WaitQuery,
)

api = Blueprint("api", __name__)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(jsoncodec.dumps(body), status, headers, content_type="application/json")


def task_service() -> TaskService:
    service: TaskService = current_app.extensions["task_service"]
    return service


@api.get("/task/<task_id>")
@validate_querystring(WaitQuery)
@document_response(TaskBody, 200)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 503)
async def get_task(task_id: str, query_args: WaitQuery) -> Response:
    """Read a task

    With `wait`, answers as soon as the task is finished, or as it stands when the time is up.
    """
    reads = task_service().reads
    if query_args.wait:
        task = await reads.wait(task_id, query_args.wait)
    else:
        found = await reads.get(task_id)
        if found is None:
            raise not_found(task_id)
        task = found
    return json_response(task.to_json())


@api.delete("/task/<task_id>")
@document_response(TaskBody, 200)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@document_response(ErrorBody, 503)
async def delete_task(task_id: str) -> Response:
    """Cancel a queued task

    A cancelled task never starts; a running or finished one cannot be cancelled (409).
    """
    task = await task_service().cancel(task_id)
    return json_response(task.to_json())


@api.post("/task/<task_id>/retry")
@document_response(TaskBody, 202)
@document_response(ErrorBody, 404)
@document_response(ErrorBody, 409)
@document_response(ErrorBody, 503)
async def retry_task(task_id: str) -> Response:
    """Run a failed or cancelled task again

    It is queued again, due now, with a fresh attempt budget; any other status answers 409.
    """
    task = await task_service().retry(task_id)
    return json_response(task.to_json(), 202, {"Location": f"/task/{task.id}"})


@api.get("/tasks")
@validate_querystring(ListQuery)
@document_response(TaskPage, 200)
@document_response(ErrorBody, 503)
async def list_tasks(query_args: ListQuery) -> Response:
    """List tasks, newest first

    Filters combine. Pages are keyset pages: pass the `next` of one page as `after`.
    """
    limit = query_args.limit
    tasks = await task_service().reads.list_tasks(
        query_args.status, query_args.type, limit, query_args.after
    )
    last = tasks[-1].id if len(tasks) == limit else None
    return json_response({"tasks": [task.to_json() for task in tasks], "next": last})


@api.get("/schedules")
@document_response(ScheduleList, 200)
@document_response(ErrorBody, 503)
async def list_schedules() -> Response:
    """List the schedules

    Each with its next tick, and its latest tick (stored by any process) with its task.
    """
    service = task_service()
    standing = await read(service.scheduler.standing())
    ids = [each.last.task_id for each in standing if each.last is not None]
    found = {task.id: task for task in await read(service.store.get_many(ids))}
    found.update((task_id, task) for task_id, task in service.pool.held.items() if task_id in found)
    return json_response({"schedules": [each.to_json(found) for each in standing]})


@api.get("/health")
@document_response(Health, 200)
async def health() -> Response:
    """Whether the process answers"""
    return json_response({"status": "ok"})


@api.get("/ready")
@document_response(Ready, 200)
@document_response(ErrorBody, 503)
async def ready() -> Response:
    """Whether the process takes tasks

    503 while it starts or drains, and while its store cannot write.
    """
    service = task_service()
    if service.state != "serving":
        raise RequestError(503, "not_ready", f"the service is {service.state}")
    if not service.store.available:
        raise RequestError(503, "not_ready", "the task store cannot write")
    return json_response({"status": "ready"})
