"""What the dashboard changes: cancel a task, retry one, retry every failed task of a filter.

Each answers with a redirect (303) to the page to look at next, which says what happened.
"""

from __future__ import annotations

from urllib.parse import urlencode

from quart import redirect, request, url_for

from ..errors import RequestError
from .blueprint import Answer, dashboard, page, task_service
from .filters import BadFilter, Filter, id_text


@dashboard.post("/task/<task_id>/cancel")
async def cancel(task_id: str) -> Answer:
    try:
        await task_service().cancel(task_id)
    except RequestError as error:
        return back_to(task_id, error.code)
    return back_to(task_id, "cancelled")


@dashboard.post("/task/<task_id>/retry")
async def retry(task_id: str) -> Answer:
    try:
        await task_service().retry(task_id)
    except RequestError as error:
        return back_to(task_id, error.code)
    return back_to(task_id, "retried")


@dashboard.post("/retry-failed")
async def retry_failed() -> Answer:
    form = await request.form
    try:
        chosen = Filter.from_args(form)
        upto = id_text(form.get("upto", ""), "upto")
    except BadFilter as error:
        return await page("error.html", 400, message=str(error))
    if not upto:
        return await page("error.html", 400, message="upto is missing")
    retried = await task_service().retry_failed(chosen.type, chosen.prefix, upto)
    query = Filter(type=chosen.type, prefix=chosen.prefix).query()
    separator = "&" if query else ""
    return redirect(f"{url_for('dashboard.tasks')}?{query}{separator}retried={retried}", 303)


def back_to(task_id: str, notice: str) -> Answer:
    query = urlencode({"notice": notice})
    return redirect(f"{url_for('dashboard.task', task_id=task_id)}?{query}", 303)
