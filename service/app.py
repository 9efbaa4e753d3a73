"""`create_app()`: the Quart app with its routes, lifecycle hooks and error handlers.

It does no I/O: settings are read, handlers imported and the store opened in
`before_serving`, so that a bad setting is a failed start-up (a non-zero exit), not a
failed import.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from hypercorn.typing import ASGIReceiveCallable as Receive
from hypercorn.typing import ASGISendCallable as Send
from hypercorn.typing import ASGISendEvent, Scope
from pydantic import ValidationError
from quart import Quart, Response
from quart_schema import RequestSchemaValidationError
from werkzeug.exceptions import HTTPException, RequestTimeout

from .api import api, json_response
from .auth import TokenGuard
from .core import TaskService
from .dashboard import dashboard
from .docs import ApiDocs
from .errors import RequestError, ServiceError
from .intake import ASGIApp, Intake, body_timeout
from .logs import configure_logging
from .metrics_http import serve_metrics
from .settings import Settings

log = logging.getLogger("service")

HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
}


def create_app(settings: Settings | None = None) -> Quart:
    """Build the app; with no `settings`, they are read from the environment at start-up."""
    app = Quart("service")
    service = TaskService(settings)
    app.extensions["task_service"] = service
    app.register_blueprint(api)
    app.register_blueprint(dashboard)
    docs = ApiDocs(app)
    guard = TokenGuard(SilentAfterCut(app.asgi_app))
    app.extensions["token_guard"] = guard
    app.asgi_app = guard  # type: ignore[method-assign]
    serve_metrics(app, service.metrics)
    app.asgi_app = Intake(app.asgi_app, service, guard.check)  # type: ignore[method-assign]
    cuts = CutConnections()

    @app.before_serving
    async def start() -> None:
        try:
            read = settings or Settings.from_env()
            configure_logging(read.log_format)
            await service.start(read)
        except ServiceError as error:
            configure_logging()  # text, unless configured already
            log.error("start-up failed: %s", error, extra={"action": "start"})
            raise
        app.config["BODY_TIMEOUT"] = service.settings.body_timeout
        guard.configure(service.settings)
        docs.build(service.registry.names, secured=guard.tokens.required)
        cuts.install(asyncio.get_running_loop())

    @app.after_serving
    async def stop() -> None:
        cuts.uninstall()
        if cuts.count:
            log.warning(
                "shutdown cut %d connection(s) with a request still unanswered "
                "when graceful_timeout passed",
                cuts.count,
                extra={"action": "stop"},
            )
        await service.stop()

    @app.errorhandler(RequestError)
    async def refused(error: RequestError) -> Response:
        return error_response(error)

    @app.errorhandler(RequestSchemaValidationError)
    async def invalid_query(error: RequestSchemaValidationError) -> Response:
        return error_response(RequestError(422, "invalid_parameter", describe(error)))

    @app.errorhandler(RequestTimeout)
    async def timed_out(error: RequestTimeout) -> Response:
        return error_response(body_timeout(app.config["BODY_TIMEOUT"]))

    @app.errorhandler(HTTPException)
    async def http_error(error: HTTPException) -> Response:
        status = error.code or 500
        headers = {name: value for name, value in error.get_headers() if name == "Allow"}
        code = HTTP_CODES.get(status, "http_error")
        return json_response({"error": code, "message": error.description or ""}, status, headers)

    @app.errorhandler(Exception)
    async def unexpected(error: Exception) -> Response:
        log.exception("unexpected error while answering a request")
        return error_response(RequestError.internal())

    return app


def error_response(error: RequestError) -> Response:
    return json_response(error.body(), error.status, error.headers)


def describe(error: RequestSchemaValidationError) -> str:
    """The first problem pydantic found in the query, in a sentence."""
    cause = error.validation_error
    if isinstance(cause, ValidationError) and cause.errors():
        first = cause.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "query"
        if first["type"] == "extra_forbidden":
            return f"unknown query parameter {where!r}"
        return f"query parameter {where!r}: {first['msg']}"
    return "the query string is not valid"


class CutConnections:
    """Counts the connections Hypercorn cancels at shutdown, instead of a traceback for each.

    When `graceful_timeout` passes, Hypercorn cancels the connections still open. Before
    Python 3.12.2 (CPython gh-113538), asyncio's `start_server` then logs every one as a
    `CancelledError` traceback from its done-callback. Every other error goes on to the
    loop's previous handler unchanged.
    """

    def __init__(self) -> None:
        self.count = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._previous: Any = None

    def install(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop, self._previous = loop, loop.get_exception_handler()
        loop.set_exception_handler(self.handle)

    def uninstall(self) -> None:
        if self._loop is not None:
            self._loop.set_exception_handler(self._previous)
            self._loop = None

    def handle(self, loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        cancelled = isinstance(context.get("exception"), asyncio.CancelledError)
        if cancelled and "StreamReaderProtocol" in str(context.get("message", "")):
            self.count += 1
        elif self._previous is not None:
            self._previous(loop, context)
        else:
            loop.default_exception_handler(context)


class SilentAfterCut:
    """Once Hypercorn cuts a Quart request at shutdown, the request sends nothing more.

    Quart serves a request in tasks of its own that cancelling the connection does not reach
    (`asyncio.wait` in `ASGIHTTPConnection.__call__`): the view runs on and then sends its
    response on a stream Hypercorn has closed, which raises in a task nobody awaits
    ("Task exception was never retrieved"). Dropping those late sends keeps the log clean.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cut = False

        async def send_until_cut(message: ASGISendEvent) -> None:
            if not cut:
                await send(message)

        try:
            await self.app(scope, receive, send_until_cut)
        except asyncio.CancelledError:
            cut = True
            raise


__all__ = ["create_app"]
