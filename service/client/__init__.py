"""A typed client of the service's HTTP API, blocking (`Client`) or asyncio (`AsyncClient`).

    from service.client import Client

    with Client("http://127.0.0.1:8000", token="...") as client:
        ref = client.submit("email", {"to": "ada@example.com"}, idempotency_key="signup-42")
        task = client.wait(ref.id, timeout=30)
        if task.status == "done":
            print(task.result)

Errors are in `service.client.errors`: `APIError` and one subclass per error code (also
importable from here), `ConnectionFailed` when no answer came.
"""

from ._async import AsyncClient
from ._sync import Client
from .errors import (
    APIError,
    BadRequest,
    BatchTooLarge,
    ClientError,
    Conflict,
    ConnectionFailed,
    Forbidden,
    IdempotencyKeyReused,
    IdempotencyKeyUnsupported,
    IncompleteBody,
    InternalError,
    InvalidJSON,
    InvalidParameter,
    InvalidResponse,
    MethodNotAllowed,
    NotAList,
    NotCancellable,
    NotFound,
    NotReady,
    NotRetryable,
    PayloadTooLarge,
    QueueFull,
    RequestTimeout,
    ServiceUnavailable,
    StoreUnavailable,
    TooLarge,
    Unauthorized,
    Unavailable,
    UnknownType,
    Unprocessable,
    UnsupportedMediaType,
)
from .models import JSONInput, JSONValue, Status, TaskInfo, TaskPage, TaskRef

__all__ = [
    "APIError",
    "AsyncClient",
    "BadRequest",
    "BatchTooLarge",
    "Client",
    "ClientError",
    "Conflict",
    "ConnectionFailed",
    "Forbidden",
    "IdempotencyKeyReused",
    "IdempotencyKeyUnsupported",
    "IncompleteBody",
    "InternalError",
    "InvalidJSON",
    "InvalidParameter",
    "InvalidResponse",
    "JSONInput",
    "JSONValue",
    "MethodNotAllowed",
    "NotAList",
    "NotCancellable",
    "NotFound",
    "NotReady",
    "NotRetryable",
    "PayloadTooLarge",
    "QueueFull",
    "RequestTimeout",
    "ServiceUnavailable",
    "Status",
    "StoreUnavailable",
    "TaskInfo",
    "TaskPage",
    "TaskRef",
    "TooLarge",
    "Unauthorized",
    "Unavailable",
    "UnknownType",
    "Unprocessable",
    "UnsupportedMediaType",
]
