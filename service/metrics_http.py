"""`GET /metrics`, and the timing of every HTTP request by its route template."""

from __future__ import annotations

import asyncio
import logging
import re
import time

from hypercorn.typing import ASGIReceiveCallable as Receive
from hypercorn.typing import ASGISendCallable as Send
from hypercorn.typing import Scope
from prometheus_client import CONTENT_TYPE_PLAIN_0_0_4
from quart import Blueprint, Quart, Response, current_app
from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, MapAdapter, RoutingException

from .core import TaskService
from .errors import StoreError
from .intake import ROUTES as INTAKE_ROUTES
from .intake import ASGIApp
from .metrics import OTHER, Metrics
from .store.base import QueueStats

log = logging.getLogger("service.metrics")

STATS_TIMEOUT = 2.0
"""Seconds a scrape waits for the store's counts before it answers without them."""
VARIABLE = re.compile(r"<(?:[^<>:]+:)?([^<>]+)>")

routes = Blueprint("metrics", __name__)


def serve_metrics(app: Quart, metrics: Metrics) -> None:
    """Add `GET /metrics` and time every request; call once `app.asgi_app` is complete."""
    app.register_blueprint(routes)
    app.asgi_app = RequestTimer(app.asgi_app, metrics, app.url_map)  # type: ignore[method-assign]


@routes.get("/metrics")
async def metrics() -> Response:
    """The service's metrics, in Prometheus text format."""
    service: TaskService = current_app.extensions["task_service"]
    stats = await queue_stats(service)
    return Response(service.metrics.render(stats), 200, content_type=CONTENT_TYPE_PLAIN_0_0_4)


async def queue_stats(service: TaskService) -> QueueStats | None:
    """The store's counts, or None (logged) if it cannot tell them now."""
    try:
        async with asyncio.timeout(STATS_TIMEOUT):
            return await service.store.stats()
    except (StoreError, TimeoutError) as error:
        reason = str(error) or f"no answer within {STATS_TIMEOUT:g} s"
        log.warning("queue gauges left out of the scrape: %s", reason, extra={"action": "metrics"})
    except Exception:
        log.exception("queue gauges left out of the scrape", extra={"action": "metrics"})
    return None


class RequestTimer:
    """Observes every request Quart answers (intake times its own) under its route template
    and method.

    Intake's paths are their own templates; the others are matched against the app's URL
    rules (`/task/<task_id>` is labelled `/task/{id}`); a path no rule takes is "other".
    """

    def __init__(self, app: ASGIApp, metrics: Metrics, url_map: Map) -> None:
        self.app = app
        self.metrics = metrics
        self._urls: MapAdapter = url_map.bind("localhost")
        self._templates: dict[str, str] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            path, method = scope["path"], scope["method"]
            route = path if path in INTAKE_ROUTES else self.route(path, method)
            self.metrics.request(route, method, time.perf_counter() - began)

    def route(self, path: str, method: str) -> str:
        try:
            rule, _ = self._urls.match(path, method, return_rule=True)
        except (HTTPException, RoutingException):
            return OTHER
        template = self._templates.get(rule.rule)
        if template is None:
            template = self._templates[rule.rule] = VARIABLE.sub(_variable, rule.rule)
        return template


def _variable(match: re.Match[str]) -> str:
    name = match.group(1)
    return "{id}" if name == "id" or name.endswith("_id") else "{" + name + "}"
