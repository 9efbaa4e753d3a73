"""JSON in and out: orjson for speed, the standard library for what orjson refuses.

orjson rejects integers wider than 64 bits, which are valid JSON; those payloads take the
slower standard path instead of being refused.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


class InvalidJSON(ValueError):
    """The bytes are not one UTF-8 encoded JSON value."""


def loads(data: bytes | str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as fast_error:
        try:
            text = data.decode("utf-8") if isinstance(data, bytes) else data
            return json.loads(text, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            raise InvalidJSON(str(fast_error)) from None


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
