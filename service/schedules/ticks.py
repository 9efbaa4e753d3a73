"""When a schedule's ticks fall due, and which of them to run after a look at the clock.

Times are seconds since the epoch (UTC), kept to the microsecond: every process computes
the same due times, so that the store can tell a tick it already holds. `every` ticks fall
on multiples of the period since the epoch; `cron` ticks are cronsim's, in the schedule's
time zone. Across a daylight-saving change cronsim behaves as Debian's cron: a local time
that occurs twice runs once (at its first occurrence), a local time that does not exist
runs at the first minute after the change; a schedule with a wildcard or stepped hour
("*/15 * * * *") follows the real clock, and simply has no ticks in a skipped hour.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from cronsim import CronSim

CatchUp = Literal["latest", "none", "all"]
CATCH_UPS: tuple[CatchUp, ...] = ("latest", "none", "all")
MAX_CATCH_UP = 100
"""Ticks that `catch_up="all"` runs at most after a pause: the most recent ones."""
MICRO = 1_000_000
SAME = 0.5 / MICRO
"""Due times closer than this are the same tick."""


class Timing(Protocol):
    def recent(self, now: float, after: float, limit: int) -> list[float]:
        """Up to `limit` ticks due in (after, now], the latest ones, in order."""

    def next_after(self, moment: float) -> float:
        """The first tick due after `moment`."""


@dataclass(frozen=True, slots=True)
class Every:
    period: float

    @property
    def _step(self) -> int:
        return round(self.period * MICRO)

    def recent(self, now: float, after: float, limit: int) -> list[float]:
        step = self._step
        first = round(after * MICRO) // step + 1
        last = int(now * MICRO) // step
        return [k * step / MICRO for k in range(max(first, last - limit + 1), last + 1)]

    def next_after(self, moment: float) -> float:
        step = self._step
        return (int(moment * MICRO) // step + 1) * step / MICRO


@dataclass(frozen=True, slots=True)
class Cron:
    expression: str
    zone: ZoneInfo

    def recent(self, now: float, after: float, limit: int) -> list[float]:
        found: list[float] = []
        # Reverse iteration starts a second before `start`: at `now`, to the second. (Not
        # with microseconds: cronsim then loses the second pass of a repeated hour.)
        start = datetime.fromtimestamp(math.floor(now) + 1, self.zone)
        for moment in CronSim(self.expression, start, reverse=True):
            due = moment.timestamp()
            if due <= after + SAME or len(found) >= limit:
                break
            if due <= now:
                found.append(due)
        return found[::-1]

    def next_after(self, moment: float) -> float:
        start = datetime.fromtimestamp(moment, self.zone)
        for found in CronSim(self.expression, start):
            if found.timestamp() > moment + SAME:
                return found.timestamp()
        raise AssertionError("cronsim ended")  # pragma: no cover: it iterates for 50 years


def to_run(
    timing: Timing,
    catch_up: CatchUp,
    max_delay: float | None,
    last: float | None,
    started: float,
    now: float,
) -> list[float]:
    """The due times to run now, in order.

    `last` is the schedule's latest tick in the store (None before its first), `started`
    when this process's scheduler first looked; both on the store's clock, as `now` is.
    A schedule with no tick yet starts with the first tick due after `started`.
    """
    after = started if last is None else last
    if catch_up == "none":  # only what fell due while this scheduler was looking
        after = max(after, started)
    recent = timing.recent(now, after, MAX_CATCH_UP if catch_up == "all" else 1)
    if catch_up != "latest" or not recent:
        return recent
    due = recent[-1]
    limit = max_delay if max_delay is not None else timing.next_after(due) - due
    return recent if now - due <= limit else []
