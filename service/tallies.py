"""Counts kept in plain Python numbers where they happen, added to prometheus_client in bulk.

prometheus_client takes a lock on every increment and walks a histogram's buckets on every
observation: about a microsecond each, and a task makes seven. The service counts in these
tallies instead, from the event loop's thread only, and `Tallies.flush()` adds what was
counted since the last flush to the prometheus_client metrics (before every scrape, and
every second in multiprocess mode, so that the other processes' scrapes see it).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

from prometheus_client import Counter, Gauge, Histogram


class Count:
    """A counter's increments since the last flush."""

    __slots__ = ("value", "_child")

    def __init__(self, child: Counter) -> None:
        self.value = 0
        self._child = child

    def flush(self) -> None:
        if self.value:
            self._child.inc(self.value)
            self.value = 0


class Level:
    """A gauge's current value."""

    __slots__ = ("value", "_child")

    def __init__(self, child: Gauge) -> None:
        self.value = 0
        self._child = child

    def flush(self) -> None:
        self._child.set(self.value)


class BulkHistogram(Histogram):
    """A histogram that also takes many observations at once, counted by bucket."""

    @property
    def bounds(self) -> tuple[float, ...]:
        """The buckets' upper bounds, +Inf last."""
        return tuple(self._upper_bounds)

    def add(self, counts: Sequence[int], total: float) -> None:
        """Add `counts[i]` observations to bucket i (not cumulative), summing to `total`."""
        self._sum.inc(total)
        for bucket, count in zip(self._buckets, counts, strict=True):
            if count:
                bucket.inc(count)


class Observations:
    """A histogram's observations since the last flush, counted by bucket."""

    __slots__ = ("_bounds", "_counts", "_total", "_child")

    def __init__(self, child: BulkHistogram, bounds: Sequence[float]) -> None:
        self._bounds = bounds
        self._counts = [0] * len(bounds)
        self._total = 0.0
        self._child = child

    def observe(self, amount: float) -> None:
        self._counts[bisect_left(self._bounds, amount)] += 1
        self._total += amount

    def flush(self) -> None:
        if any(self._counts):
            self._child.add(self._counts, self._total)
            self._counts = [0] * len(self._bounds)
            self._total = 0.0


M = TypeVar("M", Counter, Gauge, BulkHistogram)
T = TypeVar("T", Count, Level, Observations)


class Tallies(Generic[M, T]):
    """One metric's tallies by label values; each is made, with its child, at first use."""

    __slots__ = ("_parent", "_make", "_tallies")

    def __init__(self, parent: M, make: Callable[[M], T]) -> None:
        self._parent: M = parent
        self._make: Callable[[M], T] = make
        self._tallies: dict[tuple[str, ...], T] = {}

    def __call__(self, *labels: str) -> T:
        tally = self._tallies.get(labels)
        if tally is None:
            tally = self._tallies[labels] = self._make(self._parent.labels(*labels))
        return tally

    def flush(self) -> None:
        for tally in self._tallies.values():
            tally.flush()


def counts(counter: Counter) -> Tallies[Counter, Count]:
    return Tallies(counter, Count)


def levels(gauge: Gauge) -> Tallies[Gauge, Level]:
    return Tallies(gauge, Level)


def observations(histogram: BulkHistogram) -> Tallies[BulkHistogram, Observations]:
    bounds = histogram.bounds
    return Tallies(histogram, lambda child: Observations(child, bounds))
