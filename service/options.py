"""The query options of `POST /task` and `POST /tasks`: parsed and checked once, at the door."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import parse_qsl

from .errors import RequestError

OPTION_NAMES = frozenset({"type", "priority", "delay", "max_attempts"})
MAX_ATTEMPTS_LIMIT = 100
MAX_DELAY = 10 * 365 * 86400
"""Ten years: a due time the service, its stores and its clients all represent exactly."""

# Plain ASCII digits only: int() and float() would also take "５", "1_0" or " 1 ".
INTEGER = re.compile(r"-?[0-9]{1,20}", re.ASCII)
SECONDS = re.compile(r"[0-9]{1,20}(?:\.[0-9]{1,20})?(?:[eE][-+]?[0-9]{1,3})?", re.ASCII)


@dataclass(frozen=True, slots=True)
class Options:
    """What a client may choose per request, beside the payload."""

    type: str
    priority: int = 0
    delay: float = 0.0
    max_attempts: int | None = None


KEPT_QUERY_BYTES = 256
"""Longer query strings are parsed every time, so that the kept answers stay small."""


def parse_options(query_string: bytes, default_type: str) -> Options:
    """The options of a query string. Clients send the same few again and again, so the
    answers to short ones are kept (Options are immutable); a refusal raises every time."""
    if len(query_string) <= KEPT_QUERY_BYTES:
        return _kept_options(query_string, default_type)
    return _options(query_string, default_type)


@lru_cache(maxsize=1024)
def _kept_options(query_string: bytes, default_type: str) -> Options:
    return _options(query_string, default_type)


def _options(query_string: bytes, default_type: str) -> Options:
    if not query_string:
        return Options(type=default_type)
    args: dict[str, str] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if name not in OPTION_NAMES:
            known = ", ".join(sorted(OPTION_NAMES))
            raise bad_parameter(f"unknown query parameter {name!r}; known: {known}")
        if name in args:
            raise bad_parameter(f"query parameter {name!r} is given more than once")
        args[name] = value
    return Options(
        type=args.get("type") or default_type,
        priority=integer(args, "priority", minimum=-(2**31), maximum=2**31 - 1) or 0,
        delay=seconds(args, "delay", maximum=MAX_DELAY),
        max_attempts=integer(args, "max_attempts", minimum=1, maximum=MAX_ATTEMPTS_LIMIT),
    )


def integer(args: Mapping[str, str], name: str, *, minimum: int, maximum: int) -> int | None:
    raw = args.get(name)
    if raw is None:
        return None
    if not INTEGER.fullmatch(raw):
        raise bad_parameter(f"{name} must be an integer in plain digits, got {raw!r}")
    value = int(raw)
    if not minimum <= value <= maximum:
        raise bad_parameter(f"{name} must be between {minimum} and {maximum}, got {value}")
    return value


def seconds(args: Mapping[str, str], name: str, *, maximum: float) -> float:
    raw = args.get(name)
    if raw is None:
        return 0.0
    if not SECONDS.fullmatch(raw):
        raise bad_parameter(
            f"{name} must be a number of seconds in plain digits (such as 1.5 or 2e-3), got {raw!r}"
        )
    value = float(raw)
    if value > maximum:
        raise bad_parameter(f"{name} must be at most {maximum:.0f} seconds, got {raw}")
    return value


def bad_parameter(message: str) -> RequestError:
    return RequestError(422, "invalid_parameter", message)
