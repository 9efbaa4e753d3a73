"""`GET /openapi.json` and `GET /docs`: the API described by quart-schema, built once.

quart-schema reads the routes and their pydantic models (`schemas.py`). Intake's routes are
served on raw ASGI before Quart sees them; they are declared here as Quart routes that only
carry their documentation. What the decorators cannot say (the statuses every route shares,
response headers, the handler types known at start-up) is added in `complete()`.
"""

from __future__ import annotations

from typing import Any, NoReturn

from pydantic import RootModel
from quart import Blueprint, Quart, Response
from quart_schema import (
    QuartSchema,
    document_headers,
    document_querystring,
    document_request,
    document_response,
    hide,
)

from . import jsoncodec
from .schemas import Accepted, AcceptedMany, ErrorBody, IdempotencyHeader, IntakeQuery

OPEN_PATHS = frozenset({"/health", "/ready"})
HTML_ROUTES = "dashboard."
REASONS = {
    200: "OK",
    202: "Accepted: stored, and run in the background",
    400: "The body is not what the route takes",
    401: "No token, or one that is not valid: send Authorization: Bearer <token>",
    403: "A read token on a route that writes",
    404: "No such task, or forgotten after SERVICE_RESULT_TTL",
    408: "The body did not arrive within SERVICE_BODY_TIMEOUT",
    409: "The task is not in a status that allows this",
    413: "The body or the batch is larger than the limit",
    415: "The body is not JSON",
    422: "A query parameter or the Idempotency-Key is not valid",
    503: "Draining, the queue is full, or the store is unavailable: retry after Retry-After",
}
HEADERS = {
    "Location": "Where the task can be read",
    "Retry-After": "Seconds to wait before retrying",
    "WWW-Authenticate": "The Bearer challenge",
}
DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Task service API</title>
  <link rel="stylesheet" href="/static/swagger-ui/swagger-ui.css">
  <link rel="icon" href="/static/swagger-ui/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/static/swagger-ui/swagger-ui-bundle.js"></script>
  <script src="/static/swagger-ui/init.js"></script>
</body>
</html>
"""


class AnyJSON(RootModel[Any]):
    """The task's payload: any JSON value"""


class Payloads(RootModel[list[Any]]):
    """One payload per task"""


intake_docs = Blueprint("intake", __name__)


def served_by_intake() -> NoReturn:
    raise RuntimeError("intake answers this route before Quart sees it")


@intake_docs.post("/task")
@document_querystring(IntakeQuery)
@document_headers(IdempotencyHeader)
@document_request(AnyJSON)
@document_response(Accepted, 202)
@document_response(Accepted, 200)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 408)
@document_response(ErrorBody, 413)
@document_response(ErrorBody, 415)
@document_response(ErrorBody, 422)
@document_response(ErrorBody, 503)
async def submit_task() -> Response:
    """Submit a task

    The body is the payload. Answers 202 at once and runs the task in the background;
    200 when an Idempotency-Key names a task already submitted with the same request.
    """
    served_by_intake()


@intake_docs.post("/tasks")
@document_querystring(IntakeQuery)
@document_request(Payloads)
@document_response(AcceptedMany, 202)
@document_response(ErrorBody, 400)
@document_response(ErrorBody, 408)
@document_response(ErrorBody, 413)
@document_response(ErrorBody, 415)
@document_response(ErrorBody, 422)
@document_response(ErrorBody, 503)
async def submit_tasks() -> Response:
    """Submit a batch of tasks, all or none

    The body is an array of payloads, one task each, all of the same type and options.
    """
    served_by_intake()


class ApiDocs:
    """The OpenAPI document, built once the handler types are known, and the docs page."""

    def __init__(self, app: Quart) -> None:
        self.app = app
        self.schema = QuartSchema(
            app,
            openapi_path=None,
            info={"title": "Task service", "version": "0.1.0"},
            security_schemes={"bearer": {"type": "http", "scheme": "bearer"}},
            security=[{"bearer": []}],
        )
        hide(app.send_static_file.__func__)  # type: ignore[attr-defined]
        for endpoint, view in app.view_functions.items():
            if endpoint.startswith(HTML_ROUTES):  # pages for people, not the API
                hide(getattr(view, "__func__", view))
        app.extensions["api_docs"] = self
        self.document = b"{}"
        app.register_blueprint(intake_docs)
        app.add_url_rule("/openapi.json", "openapi", self.openapi, methods=["GET"])
        app.add_url_rule("/docs", "docs", self.docs, methods=["GET"])

    def build(self, types: list[str], secured: bool) -> None:
        """Describe the API as it is served: these handler types, tokens required or not."""
        spec = self.schema.openapi_provider.schema()
        complete(spec, types, secured)
        self.document = jsoncodec.dumps(spec)

    async def openapi(self) -> Response:
        """This document"""
        return Response(self.document, content_type="application/json")

    async def docs(self) -> Response:
        """The API's interactive documentation"""
        return Response(DOCS_PAGE, content_type="text/html; charset=utf-8")


def complete(spec: dict[str, Any], types: list[str], secured: bool) -> None:
    """Add what the decorators cannot say to every operation."""
    spec["components"]["schemas"]["ErrorBody"] = ErrorBody.model_json_schema()
    if not secured:
        spec["security"] = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            complete_operation(path, method, operation, types, secured)
            if "requestBody" in operation:
                operation["requestBody"]["required"] = True
    for path in ("/task", "/task/{task_id}/retry"):
        post = spec["paths"][path]["post"]
        for status in ("200", "202"):
            if status in post["responses"]:
                post["responses"][status]["headers"] = headers("Location")
    for path in ("/task", "/tasks"):
        spec["paths"][path]["post"]["responses"]["503"]["headers"] = headers("Retry-After")
    for path, media_type in (
        ("/openapi.json", "application/json"),
        ("/docs", "text/html"),
        ("/metrics", "text/plain"),
    ):
        kind = "object" if media_type == "application/json" else "string"
        content = {media_type: {"schema": {"type": kind}}}
        spec["paths"][path]["get"]["responses"]["200"] = {"description": "OK", "content": content}


def complete_operation(
    path: str, method: str, operation: dict[str, Any], types: list[str], secured: bool
) -> None:
    """Security, the statuses every route shares, descriptions, the handler types."""
    responses = {str(status): response for status, response in operation["responses"].items()}
    operation["responses"] = responses
    if path in OPEN_PATHS:
        operation["security"] = []
    elif secured:
        responses["401"] = error_response("WWW-Authenticate")
        if method != "get":
            responses["403"] = error_response("WWW-Authenticate")
    queries = [parameter for parameter in operation["parameters"] if parameter["in"] == "query"]
    if queries:
        responses.setdefault("422", error_response())
    for status, response in responses.items():
        response["description"] = REASONS.get(int(status), response["description"])
    for parameter in queries:
        if parameter["name"] == "type" and method == "post":
            parameter["schema"] = {"type": "string", "enum": types}


def error_response(*names: str) -> dict[str, Any]:
    content = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}
    response: dict[str, Any] = {"description": "", "content": content}
    if names:
        response["headers"] = headers(*names)
    return response


def headers(*names: str) -> dict[str, Any]:
    return {
        name: {"description": HEADERS[name], "schema": {"type": "string"}, "required": True}
        for name in names
    }
