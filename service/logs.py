"""The service's log lines on stderr: human-readable text, or one JSON object per line."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from .task import iso

TEXT_FORMAT = "%(asctime)s [%(levelname)s] %(name)s: %(message)s"
EXTRAS = ("action", "task_id", "task_ids")
"""The `extra=` fields log calls pass that a JSON line carries, when a record has them."""


class JSONFormatter(logging.Formatter):
    """`{"time", "level", "logger", "message"}`, then `action`, `task_id`, `task_ids` and
    `exception` where the record has them; ASCII only, so that any byte stream carries it."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": iso(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in EXTRAS:
            value = record.__dict__.get(name)
            if value is not None:
                line[name] = value
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=repr)


def formatter(log_format: str) -> logging.Formatter:
    """The formatter of a `SERVICE_LOG_FORMAT` value: "json", else text."""
    return JSONFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)


def configure_logging(log_format: str = "text") -> None:
    """Send the service's INFO logs to stderr unless logging was configured already."""
    logger = logging.getLogger("service")
    if logger.handlers or logging.getLogger().handlers:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(log_format))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
