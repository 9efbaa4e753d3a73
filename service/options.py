"""The query options of `POST /task` and `POST /tasks`: parsed and checked once, at the door."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from .errors import RequestError

OPTION_NAMES = frozenset({"type", "priority", "delay", "max_attempts"})
MAX_ATTEMPTS_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Options:
    """What a client may choose per request, beside the payload."""

    type: str
    priority: int = 0
    delay: float = 0.0
    max_attempts: int | None = None


def parse_options(query_string: bytes, default_type: str) -> Options:
    if not query_string:
        return Options(type=default_type)
    args = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    unknown = sorted(set(args) - OPTION_NAMES)
    if unknown:
        raise bad_parameter(
            f"unknown query parameter {unknown[0]!r}; known: {', '.join(sorted(OPTION_NAMES))}"
        )
    return Options(
        type=args.get("type") or default_type,
        priority=integer(args, "priority", minimum=-(2**31), maximum=2**31 - 1) or 0,
        delay=seconds(args, "delay"),
        max_attempts=integer(args, "max_attempts", minimum=1, maximum=MAX_ATTEMPTS_LIMIT),
    )


def integer(args: Mapping[str, str], name: str, *, minimum: int, maximum: int) -> int | None:
    raw = args.get(name)
    if raw is None:
        return None
    try:
        value = int(raw)
    except ValueError:
        raise bad_parameter(f"{name} must be an integer, got {raw!r}") from None
    if not minimum <= value <= maximum:
        raise bad_parameter(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def seconds(args: Mapping[str, str], name: str) -> float:
    raw = args.get(name)
    if raw is None:
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        raise bad_parameter(f"{name} must be a number of seconds, got {raw!r}") from None
    if not math.isfinite(value) or value < 0:
        raise bad_parameter(f"{name} must be a finite number of seconds >= 0, got {raw!r}")
    return value


def bad_parameter(message: str) -> RequestError:
    return RequestError(422, "invalid_parameter", message)
