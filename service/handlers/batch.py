"""Batch handlers: `@handler("ingest", batch_size=500, batch_wait=5.0)` on `f(tasks: list[Task])`.

A batch declaration is checked at start-up, with an error that names the handler: the size
is a whole number of at least 1, the wait a number of seconds of at least 0, and the target
takes one argument, a list (annotated as a list or a sequence, or not annotated).
"""

from __future__ import annotations

import inspect
import math
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError

LISTS: tuple[Any, ...] = (list, Sequence, typing.Sequence, typing.List)  # noqa: UP006


@dataclass(frozen=True, slots=True)
class BatchSpec:
    size: int
    """At most this many tasks in one call."""
    wait: float
    """Seconds a claimed task waits, at most, for its batch to fill."""


def batch_spec(name: str, target: Any, size: Any, wait: Any) -> BatchSpec:
    """The checked declaration of handler `name`, or ConfigError naming it."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(
            f"batch handler {name!r}: batch_size must be an integer >= 1, not {size!r}"
        )
    if (
        isinstance(wait, bool)
        or not isinstance(wait, int | float)
        or not math.isfinite(wait)
        or wait < 0
    ):
        raise ConfigError(
            f"batch handler {name!r}: batch_wait must be a number of seconds >= 0, not {wait!r}"
        )
    function = getattr(target, "handle") if inspect.isclass(target) else target  # noqa: B009
    _check_takes_a_list(name, function)
    return BatchSpec(size, float(wait))


def _check_takes_a_list(name: str, function: Any) -> None:
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError) as error:
        raise ConfigError(f"batch handler {name!r}: cannot read its signature: {error}") from None
    parameters = [p for p in signature.parameters.values() if p.name != "self"]
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if len(parameters) != 1 or parameters[0].kind not in positional:
        raise ConfigError(
            f"batch handler {name!r} must take exactly one argument, the list of tasks"
        )
    try:
        hints = typing.get_type_hints(function)
    except Exception:  # an annotation that cannot be resolved here: judged by its text
        text = str(parameters[0].annotation)
        if parameters[0].annotation is inspect.Parameter.empty or text.startswith(
            ("list", "List", "Sequence", "typing.", "collections.abc.Sequence")
        ):
            return
        raise ConfigError(f"batch handler {name!r} must take a list of tasks, not {text}") from None
    hint = hints.get(parameters[0].name)
    if hint is None or typing.get_origin(hint) in LISTS or hint in LISTS:
        return
    raise ConfigError(f"batch handler {name!r} must take a list of tasks, not {hint!r}")
