"""The HTTP endpoints beside intake (which is in `intake.py`): status, cancel, health."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app

from . import jsoncodec
from .core import TaskService
from .errors import RequestError

api = Blueprint("api", __name__)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(jsoncodec.dumps(body), status, headers, content_type="application/json")


def task_service() -> TaskService:
    service: TaskService = current_app.extensions["task_service"]
    return service


@api.get("/task/<task_id>")
async def get_task(task_id: str) -> Response:
    task = await task_service().get(task_id)
    if task is None:
        raise RequestError(404, "not_found", f"no task with id {task_id!r}")
    return json_response(task.to_json())


@api.delete("/task/<task_id>")
async def delete_task(task_id: str) -> Response:
    task = await task_service().cancel(task_id)
    return json_response(task.to_json())


@api.get("/health")
async def health() -> Response:
    return json_response({"status": "ok"})


@api.get("/ready")
async def ready() -> Response:
    service = task_service()
    if service.state != "serving":
        raise RequestError(503, "not_ready", f"the service is {service.state}")
    if not service.store.available:
        raise RequestError(503, "not_ready", "the task store cannot write")
    return json_response({"status": "ready"})
