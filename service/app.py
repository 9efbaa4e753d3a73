"""`create_app()`: the Quart app with its routes, lifecycle hooks and error handlers.

It does no I/O: settings are read, handlers imported and the store opened in
`before_serving`, so that a bad setting is a failed start-up (a non-zero exit), not a
failed import.
"""

from __future__ import annotations

import logging
import sys

from quart import Quart, Response
from werkzeug.exceptions import HTTPException

from .api import api, json_response
from .core import TaskService
from .errors import RequestError, ServiceError
from .intake import Intake
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
    app.asgi_app = Intake(app.asgi_app, service)  # type: ignore[method-assign]

    @app.before_serving
    async def start() -> None:
        configure_logging()
        try:
            await service.start()
        except ServiceError as error:
            log.error("start-up failed: %s", error, extra={"action": "start"})
            raise

    @app.after_serving
    async def stop() -> None:
        await service.stop()

    @app.errorhandler(RequestError)
    async def refused(error: RequestError) -> Response:
        return error_response(error)

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


def configure_logging() -> None:
    """Send the service's INFO logs to stderr unless logging was configured already."""
    logger = logging.getLogger("service")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s [%(levelname)s] %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)


__all__ = ["create_app"]
