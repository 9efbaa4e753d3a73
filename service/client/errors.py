"""What the client raises: one class per error code of the API, grouped by status.

ClientError
 ├── ConnectionFailed            no answer: could not connect, connection dropped, timed out
 └── APIError                    the service answered with an error (status, code, message)
      ├── BadRequest             400, and any other 400 code
      │    ├── InvalidJSON                invalid_json
      │    ├── NotAList                   not_a_list
      │    ├── IdempotencyKeyUnsupported  idempotency_key_unsupported
      │    └── IncompleteBody             incomplete_body
      ├── Unauthorized           401 unauthorized
      ├── Forbidden              403 forbidden
      ├── NotFound               404 not_found
      ├── MethodNotAllowed       405 method_not_allowed
      ├── RequestTimeout         408 request_timeout
      ├── Conflict               409
      │    ├── NotCancellable             not_cancellable
      │    └── NotRetryable               not_retryable
      ├── TooLarge               413
      │    ├── PayloadTooLarge            payload_too_large
      │    └── BatchTooLarge              batch_too_large
      ├── UnsupportedMediaType   415 unsupported_media_type
      ├── Unprocessable          422
      │    ├── UnknownType                unknown_type
      │    ├── InvalidParameter           invalid_parameter
      │    └── IdempotencyKeyReused       idempotency_key_reused
      ├── InternalError          500 internal_error
      ├── ServiceUnavailable     503 (`retry_after` in seconds, when the service said)
      │    ├── QueueFull                  queue_full
      │    ├── StoreUnavailable           store_unavailable
      │    ├── Unavailable                unavailable (the service is draining)
      │    └── NotReady                   not_ready
      └── InvalidResponse        an answer that does not follow the API (e.g. from a proxy)

The class is chosen by the body's `error` code; a code this client does not know falls back
to the class of its status, then to `APIError`.
"""

from __future__ import annotations

from typing import ClassVar


class ClientError(Exception):
    """The root of every error the client raises."""


class ConnectionFailed(ClientError):
    """No HTTP answer came: the connection failed, dropped or timed out.

    The httpx exception is the `__cause__`.
    """


class APIError(ClientError):
    """The service refused the request: `status`, `code` and the service's `message`."""

    status_code: ClassVar[int | None] = None
    error_code: ClassVar[str | None] = None

    def __init__(
        self, status: int, code: str, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after
        """Seconds the service asked to wait before trying again (Retry-After), if any."""


class BadRequest(APIError):
    status_code = 400


class InvalidJSON(BadRequest):
    error_code = "invalid_json"


class NotAList(BadRequest):
    error_code = "not_a_list"


class IdempotencyKeyUnsupported(BadRequest):
    error_code = "idempotency_key_unsupported"


class IncompleteBody(BadRequest):
    error_code = "incomplete_body"


class Unauthorized(APIError):
    status_code, error_code = 401, "unauthorized"


class Forbidden(APIError):
    status_code, error_code = 403, "forbidden"


class NotFound(APIError):
    status_code, error_code = 404, "not_found"


class MethodNotAllowed(APIError):
    status_code, error_code = 405, "method_not_allowed"


class RequestTimeout(APIError):
    status_code, error_code = 408, "request_timeout"


class Conflict(APIError):
    status_code = 409


class NotCancellable(Conflict):
    error_code = "not_cancellable"


class NotRetryable(Conflict):
    error_code = "not_retryable"


class TooLarge(APIError):
    status_code = 413


class PayloadTooLarge(TooLarge):
    error_code = "payload_too_large"


class BatchTooLarge(TooLarge):
    error_code = "batch_too_large"


class UnsupportedMediaType(APIError):
    status_code, error_code = 415, "unsupported_media_type"


class Unprocessable(APIError):
    status_code = 422


class UnknownType(Unprocessable):
    error_code = "unknown_type"


class InvalidParameter(Unprocessable):
    error_code = "invalid_parameter"


class IdempotencyKeyReused(Unprocessable):
    error_code = "idempotency_key_reused"


class InternalError(APIError):
    status_code, error_code = 500, "internal_error"


class ServiceUnavailable(APIError):
    status_code = 503


class QueueFull(ServiceUnavailable):
    error_code = "queue_full"


class StoreUnavailable(ServiceUnavailable):
    error_code = "store_unavailable"


class Unavailable(ServiceUnavailable):
    """The service is draining: it accepts no tasks (another instance may)."""

    error_code = "unavailable"


class NotReady(ServiceUnavailable):
    error_code = "not_ready"


class InvalidResponse(APIError):
    """An answer the client cannot read as the API's (not JSON, or not the expected shape)."""

    error_code = "invalid_response"


def _subclasses(root: type[APIError]) -> list[type[APIError]]:
    found = []
    for child in root.__subclasses__():
        found += [child, *_subclasses(child)]
    return found


_BY_CODE = {cls.error_code: cls for cls in _subclasses(APIError) if cls.error_code}
_BY_STATUS = {
    cls.status_code: cls
    for cls in _subclasses(APIError)
    if cls.status_code and "status_code" in vars(cls)
}


def error_class(status: int, code: str) -> type[APIError]:
    """The class for an error answer: by code, else by status, else `APIError`."""
    return _BY_CODE.get(code) or _BY_STATUS.get(status) or APIError
