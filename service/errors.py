"""Every error the service raises on purpose.

ServiceError
 ├── ConfigError            a setting or a handler module is wrong: start-up stops
 │    └── DuplicateHandler  two handlers share one name
 ├── StoreError             the store could not read or write (answers 503)
 ├── BadBatchResult         a batch handler returned what is not one result per task
 └── RequestError           the client's request cannot be accepted (answers status)

`RequestError` carries the HTTP status and a short code; `service.app` turns it into
`{"error": code, "message": ...}` in one place.
"""

from __future__ import annotations


class ServiceError(Exception):
    """The root of every error this package raises on purpose."""


class ConfigError(ServiceError):
    """A setting or a handler module is wrong; the service cannot start."""


class DuplicateHandler(ConfigError):
    """Two handlers were registered under the same name."""


class StoreError(ServiceError):
    """The task store failed; nothing was acknowledged."""


class BadBatchResult(ServiceError):
    """A batch handler returned neither None nor a list of one result per task: the call fails."""


class RequestError(ServiceError):
    """A request that is refused with `status`, `code` and a human sentence."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    @classmethod
    def internal(cls) -> RequestError:
        """What a client sees of a failure it did not cause: no traceback, no detail."""
        message = "the service failed to answer; the error is in its log"
        return cls(500, "internal_error", message)

    def body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}
