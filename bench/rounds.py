"""Alternate contenders A B C, A B C, ... over the rounds, and say what is going on."""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")


def note(message: str) -> None:
    """Progress goes to stderr; stdout carries only the report."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def alternate(
    rounds: int, contenders: Mapping[str, Callable[[], T]], show: Callable[[T], str] = str
) -> dict[str, list[T]]:
    """Run every contender once per round, in the same order each round."""
    results: dict[str, list[T]] = {name: [] for name in contenders}
    for number in range(1, rounds + 1):
        for name, measure in contenders.items():
            result = measure()
            results[name].append(result)
            note(f"round {number}/{rounds} {name}: {show(result)}")
    return results
