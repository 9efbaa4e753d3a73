"""JSON in and out: every value let in can be stored, read back and served.

orjson parses the common case fast. A body it refuses, or one that may hold what orjson
would get wrong (integers wider than 64 bits, which it turns into floats; numbers out of
a double's range), takes the standard library's slower, exact path, and is then checked:
no string that UTF-8 cannot carry (a lone surrogate), no non-finite number, no integer
over MAX_INT_DIGITS digits, no nesting deeper than MAX_DEPTH.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson

MAX_DEPTH = 128
"""Deepest nesting of a payload or result: well within what both encoders write."""

MAX_INT_DIGITS = 4300
"""Longest integer kept exactly: Python's own limit for converting integers to text."""

# What a body looks like to the prefilter: digits as 0, exponents as e without sign, and
# every opening bracket as [. An integer too wide for orjson (which would turn it into a
# float) shows as twenty 0s; a number out of a double's range needs a three-digit exponent
# or a run of digits over 300 long. Strings may match too: they only take the slower path.
_SHAPE = bytes.maketrans(b"0123456789E{", b"0000000000e[")
_WIDE_INTEGER = b"0" * 20
_LARGE_EXPONENT = b"e000"

# orjson writes at most 254 levels. Wrapped in 254 - max_depth lists, a value it parsed
# fails to be written exactly when it is deeper than max_depth: a depth check at C speed.
_ORJSON_MAX_DEPTH = 254


class InvalidJSON(ValueError):
    """The bytes are not one UTF-8 encoded JSON value that the service can keep."""


def loads(data: bytes | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse one JSON value; raise InvalidJSON with the reason if it cannot be kept.

    Text comes from rows an older schema or another writer stored as TEXT.
    """
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    shape = raw.translate(_SHAPE, b"+-")
    if _WIDE_INTEGER not in shape and _LARGE_EXPONENT not in shape:
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the exact path says why, or accepts what orjson cannot
        else:
            if shape.count(b"[") > max_depth:
                _check_depth(value, max_depth)
            return value
    value = _exact_loads(raw)
    check(value, max_depth)
    return value


def dumps(value: Any) -> bytes:
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def check(value: Any, max_depth: int = MAX_DEPTH) -> None:
    """Raise InvalidJSON if `value` (as parsed from JSON) cannot be stored and served."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, float) and not math.isfinite(item):
            raise InvalidJSON(f"the number {item} is out of range")
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                raise InvalidJSON(f"it is nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                stack.extend((key, depth + 1) for key in item)
                stack.extend((member, depth + 1) for member in item.values())
            else:
                stack.extend((member, depth + 1) for member in item)


def check_result(value: Any) -> None:
    """Raise if a handler's result cannot be stored and served as JSON."""
    loads(dumps(value))


def _check_depth(value: Any, max_depth: int) -> None:
    """Depth alone: orjson has checked the rest of what it parsed."""
    for _ in range(_ORJSON_MAX_DEPTH - max_depth):
        value = [value]
    try:
        orjson.dumps(value)
    except orjson.JSONEncodeError:
        raise InvalidJSON(f"it is nested deeper than {max_depth} levels") from None


def _exact_loads(raw: bytes) -> Any:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InvalidJSON(f"it is not UTF-8: {error}") from None
    try:
        return json.loads(
            text, parse_float=_finite_float, parse_int=_exact_int, parse_constant=_no_constant
        )
    except InvalidJSON:
        raise
    except RecursionError:
        raise InvalidJSON(f"it is nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as error:
        raise InvalidJSON(str(error)) from None


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise InvalidJSON(f"the number {text[:40]} is out of range for a double")
    return value


def _exact_int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > MAX_INT_DIGITS:
        raise InvalidJSON(
            f"integers are kept exactly up to {MAX_INT_DIGITS} digits; one has {digits}"
        )
    return int(text)


def _no_constant(name: str) -> Any:
    raise InvalidJSON(f"{name} is not valid JSON")


def _check_text(text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        bad = text[error.start]
        raise InvalidJSON(
            f"a string holds a lone surrogate ({bad!r}), which UTF-8 cannot carry"
        ) from None
