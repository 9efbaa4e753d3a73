"""The HTTP endpoints: parse and check the request, call the service, answer JSON."""

from __future__ import annotations

import math
from typing import Any

from quart import Blueprint, Response, current_app, request
from werkzeug.datastructures import MultiDict

from . import jsoncodec
from .core import Options, TaskService
from .errors import RequestError

api = Blueprint("api", __name__)

OPTION_NAMES = frozenset({"type", "priority", "delay", "max_attempts"})
MAX_ATTEMPTS_LIMIT = 100


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(jsoncodec.dumps(body), status, headers, content_type="application/json")


def task_service() -> TaskService:
    service: TaskService = current_app.extensions["task_service"]
    return service


@api.post("/task")
async def post_task() -> Response:
    service = task_service()
    options = parse_options(request.args, service.settings.default_type)
    payload = await read_json()
    key = request.headers.get("Idempotency-Key") or None
    [(task, created)] = await service.submit(options, [payload], idempotency_key=key)
    body = {"success": "OK", "id": task.id, "status": task.status}
    return json_response(body, 202 if created else 200, {"Location": f"/task/{task.id}"})


@api.post("/tasks")
async def post_tasks() -> Response:
    service = task_service()
    options = parse_options(request.args, service.settings.default_type)
    payloads = await read_json()
    if not isinstance(payloads, list):
        raise RequestError(400, "not_a_list", "POST /tasks takes a JSON array of task payloads")
    limit = service.settings.max_batch
    if len(payloads) > limit:
        message = f"a batch holds at most {limit} tasks, {len(payloads)} were sent"
        raise RequestError(413, "batch_too_large", message)
    accepted = await service.submit(options, payloads)
    return json_response({"success": "OK", "ids": [task.id for task, _ in accepted]}, 202)


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
    state = task_service().state
    if state != "serving":
        raise RequestError(503, "not_ready", f"the service is {state}")
    return json_response({"status": "ready"})


async def read_json() -> Any:
    if not request.is_json:
        raise RequestError(
            415,
            "unsupported_media_type",
            "send the task as JSON with the header Content-Type: application/json",
        )
    body = await request.get_data(cache=False, as_text=False)
    try:
        return jsoncodec.loads(body)
    except jsoncodec.InvalidJSON as error:
        raise RequestError(
            400, "invalid_json", f"the body is not one UTF-8 encoded JSON value: {error}"
        ) from None


def parse_options(args: MultiDict[str, str], default_type: str) -> Options:
    unknown = sorted(set(args) - OPTION_NAMES)
    if unknown:
        raise _bad_parameter(
            f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(OPTION_NAMES))}"
        )
    max_attempts = _integer(args, "max_attempts", minimum=1, maximum=MAX_ATTEMPTS_LIMIT)
    return Options(
        type=args.get("type") or default_type,
        priority=_integer(args, "priority", minimum=-(2**31), maximum=2**31 - 1) or 0,
        delay=_seconds(args, "delay"),
        max_attempts=max_attempts,
    )


def _integer(args: MultiDict[str, str], name: str, *, minimum: int, maximum: int) -> int | None:
    raw = args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise _bad_parameter(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise _bad_parameter(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def _seconds(args: MultiDict[str, str], name: str) -> float:
    raw = args.get(name)
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise _bad_parameter(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise _bad_parameter(f"{name} must be a finite number of seconds >= 0, got {raw!r}")
    return value


def _bad_parameter(message: str) -> RequestError:
    return RequestError(422, "invalid_parameter", message)
