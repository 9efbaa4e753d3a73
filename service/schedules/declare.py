"""`schedule(...)` in a handler module, and the checks that turn declarations into schedules.

`schedule()` only notes the declaration in the calling module (as `@handler` only marks its
target). At start-up `load` collects the declarations of the handler modules and checks
each one against the handlers loaded: a bad one stops start-up with a message naming it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from .. import jsoncodec
from ..errors import ConfigError
from ..handlers import Registry
from .ticks import CATCH_UPS, CatchUp, Cron, Every, Timing

DECLARED = "__service_schedules__"
RESERVED = ("schedule", "due")
"""Keys of a scheduled task's payload that the scheduler fills in."""
MIN_PERIOD = 1.0


@dataclass(frozen=True, slots=True)
class Declared:
    """A schedule as written, not yet checked."""

    name: str
    type: str
    every: float | None = None
    cron: str | None = None
    payload: Any = field(default_factory=dict)
    timezone: str = "UTC"
    catch_up: str = "latest"
    max_delay: float | None = None
    priority: int = 0
    max_attempts: int | None = None
    module: str = "?"


@dataclass(frozen=True, slots=True)
class Schedule:
    """A checked schedule: what to submit, and when."""

    name: str
    type: str
    timing: Timing
    payload: dict[str, Any]
    catch_up: CatchUp
    max_delay: float | None
    priority: int
    max_attempts: int | None
    declared: Declared


def schedule(
    name: str,
    *,
    type: str,
    every: float | None = None,
    cron: str | None = None,
    payload: Any = None,
    timezone: str = "UTC",
    catch_up: str = "latest",
    max_delay: float | None = None,
    priority: int = 0,
    max_attempts: int | None = None,
) -> Declared:
    """Declare a periodic task: one task of `type` per tick, `every` seconds or on `cron`.

    Call it at the top level of a module named in SERVICE_HANDLERS; it is checked at start-up.
    """
    module = sys._getframe(1).f_globals
    declared = Declared(
        name, type, every, cron, {} if payload is None else payload, timezone, catch_up,
        max_delay, priority, max_attempts, str(module.get("__name__", "?")),
    )  # fmt: skip
    module.setdefault(DECLARED, []).append(declared)
    return declared


def load(module_names: Iterable[str], registry: Registry) -> list[Schedule]:
    """The checked schedules declared in the handler modules (imported by the registry)."""
    declared: list[Declared] = []
    for module_name in module_names:
        module = sys.modules.get(module_name)
        declared.extend(getattr(module, DECLARED, ()))
    return check_all(declared, registry)


def check_all(declared: Sequence[Declared], registry: Registry) -> list[Schedule]:
    seen: dict[str, Declared] = {}
    schedules = []
    for each in declared:
        if each.name in seen:
            raise ConfigError(
                f"schedule {each.name!r} is declared twice "
                f"(in {seen[each.name].module} and in {each.module})"
            )
        seen[each.name] = each
        schedules.append(check(each, registry))
    return schedules


def check(declared: Declared, registry: Registry) -> Schedule:
    try:
        return _check(declared, registry)
    except ConfigError as error:
        raise ConfigError(f"schedule {declared.name!r} in {declared.module}: {error}") from None


def _check(declared: Declared, registry: Registry) -> Schedule:
    if not isinstance(declared.name, str) or not declared.name:
        raise ConfigError("a schedule's name must be a non-empty string")
    if declared.type not in registry:
        raise ConfigError(
            f"no handler is registered for type {declared.type!r}; "
            f"known types: {', '.join(registry.names)}"
        )
    if declared.catch_up not in CATCH_UPS:
        raise ConfigError(f"catch_up must be one of {', '.join(CATCH_UPS)}")
    if declared.max_delay is not None and not declared.max_delay >= 0:
        raise ConfigError("max_delay must be a number of seconds >= 0")
    return Schedule(
        declared.name,
        declared.type,
        _timing(declared),
        _payload(declared.payload),
        declared.catch_up,
        declared.max_delay,
        declared.priority,
        declared.max_attempts,
        declared,
    )


def _timing(declared: Declared) -> Timing:
    if (declared.every is None) == (declared.cron is None):
        raise ConfigError("give either every= (seconds) or cron= (five fields), not both")
    try:
        zone = ZoneInfo(declared.timezone)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ConfigError(f"unknown time zone {declared.timezone!r}") from None
    if declared.every is not None:
        every = declared.every
        if isinstance(every, bool) or not isinstance(every, int | float):
            raise ConfigError(f"every must be a number of seconds, got {every!r}")
        if not MIN_PERIOD <= every < float("inf"):
            raise ConfigError(f"every must be at least {MIN_PERIOD:g} second, got {every!r}")
        return Every(float(every))
    cron = str(declared.cron)
    if len(cron.split()) != 5:
        raise ConfigError(f"cron must have five fields, got {cron!r}")
    try:
        next(CronSim(cron, datetime.now(zone)))
    except (CronSimError, StopIteration) as error:
        why = str(error) or "it never falls due"
        raise ConfigError(f"bad cron expression {cron!r}: {why}") from None
    return Cron(cron, zone)


def _payload(payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ConfigError("payload must be a JSON object (a dict)")
    taken = [key for key in RESERVED if key in payload]
    if taken:
        raise ConfigError(f"payload may not use the key(s) {', '.join(taken)}: the tick fills them")
    try:
        jsoncodec.check(jsoncodec.loads(jsoncodec.dumps(payload)))
    except (TypeError, ValueError) as error:
        raise ConfigError(f"payload is not JSON: {error}") from None
    return dict(payload)
