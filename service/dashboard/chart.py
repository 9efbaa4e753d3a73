"""The throughput of the last hour: a bar per minute, done stacked under failed, as SVG."""

from __future__ import annotations

from dataclasses import dataclass

from ..store.views import Minute

WIDTH = 600.0
HEIGHT = 140.0
GAP = 1.0


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    width: float
    done_y: float
    done_height: float
    failed_y: float
    failed_height: float
    title: str


@dataclass(frozen=True, slots=True)
class Chart:
    bars: list[Bar]
    done: int
    failed: int
    peak: int
    width: float = WIDTH
    height: float = HEIGHT


def chart(minutes: list[Minute], now: float, span: int = 60) -> Chart:
    """`span` bars, the last one the current minute; minutes with nothing are empty bars."""
    current = now // 60 * 60
    by_start = {minute.start: minute for minute in minutes}
    slots = [by_start.get(current - 60 * back) for back in range(span - 1, -1, -1)]
    peak = max((each.done + each.failed for each in slots if each is not None), default=0)
    scale = HEIGHT / peak if peak else 0.0
    width = WIDTH / span
    bars = []
    for index, each in enumerate(slots):
        done, failed = (each.done, each.failed) if each is not None else (0, 0)
        done_height, failed_height = done * scale, failed * scale
        ago = span - 1 - index
        bars.append(
            Bar(
                x=index * width,
                width=width - GAP,
                done_y=HEIGHT - done_height,
                done_height=done_height,
                failed_y=HEIGHT - done_height - failed_height,
                failed_height=failed_height,
                title=f"{ago} min ago: {done} done, {failed} failed",
            )
        )
    total_done = sum(each.done for each in minutes if each.start > current - 60 * span)
    total_failed = sum(each.failed for each in minutes if each.start > current - 60 * span)
    return Chart(bars, total_done, total_failed, peak)
