"""The pages: the overview, the task list, one task, the bulk retry's confirmation.

A request from htmx (`HX-Request`) gets only the part of the page that it refreshes.
"""

from __future__ import annotations

import json

from quart import Response, g, request

from ..reads import read
from .blueprint import dashboard, page, task_service
from .filters import STATUSES, BadFilter, Filter
from .overview import read_overview

PAGE_SIZE = 50
NOTICES = {
    "cancelled": "The task is cancelled.",
    "retried": "The task is queued again.",
    "not_cancellable": "Only a queued task can be cancelled.",
    "not_retryable": "Only a failed or cancelled task can be retried.",
    "not_found": "The task is gone.",
    "queue_full": "The queue is full: try again later.",
    "unavailable": "The service is draining: try again later.",
    "store_unavailable": "The task store cannot be reached: try again later.",
}


def partial() -> bool:
    return request.headers.get("HX-Request") == "true"


@dashboard.get("")
async def overview() -> Response:
    shown = await read_overview(task_service())
    template = "_overview.html" if partial() else "overview.html"
    return await page(template, overview=shown, role=g.role)


@dashboard.get("/tasks")
async def tasks() -> Response:
    try:
        chosen = Filter.from_args(request.args)
    except BadFilter as error:
        return await page("error.html", 400, message=str(error))
    service = task_service()
    found = await service.reads.list_tasks(chosen.status, chosen.type, PAGE_SIZE, chosen.bound())
    matching = [task for task in found if task.id.startswith(chosen.prefix)]
    full = len(found) == PAGE_SIZE and len(matching) == PAGE_SIZE
    next_page = chosen.query(after=matching[-1].id) if full else None
    context = {
        "tasks": matching,
        "filter": chosen,
        "next_page": next_page,
        "statuses": STATUSES,
        "types": service.registry.names,
        "retried": request.args.get("retried", type=int),
        "role": g.role,
    }
    return await page("_tasks.html" if partial() else "tasks.html", **context)


@dashboard.get("/task/<task_id>")
async def task(task_id: str) -> Response:
    found = await task_service().reads.get(task_id)
    if found is None:
        return await page("error.html", 404, message=f"No task with id {task_id}.")
    hidden = task_service().settings.dashboard_payloads == "hide"
    payload = None if hidden else pretty(found.payload)
    return await page(
        "task.html",
        task=found,
        payload=payload,
        result=pretty(found.result),
        notice=NOTICES.get(request.args.get("notice", "")),
        role=g.role,
    )


@dashboard.get("/retry-failed")
async def confirm_retry_failed() -> Response:
    try:
        chosen = Filter.from_args(request.args)
    except BadFilter as error:
        return await page("error.html", 400, message=str(error))
    store = task_service().store
    failed = await read(store.count_failed(type=chosen.type, prefix=chosen.prefix))
    return await page("confirm.html", filter=chosen, failed=failed, role=g.role)


def pretty(value: object) -> str:
    """Indented JSON; a value stored from JSON always has a JSON form."""
    return json.dumps(value, indent=2, ensure_ascii=False)
