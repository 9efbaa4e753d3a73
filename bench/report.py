"""The one table a run prints: rows, ratios, targets, and the machine they were measured on."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import wrk

STORES = {"memory": "memory", "sqlite": "SQLite"}
PACKAGES = ("quart", "hypercorn", "uvloop", "flask", "gunicorn", "saq", "arq", "redis")


@dataclass(frozen=True, slots=True)
class Row:
    group: str
    measure: str
    value: str
    detail: str = ""
    target: str = ""
    met: bool | None = None

    @property
    def verdict(self) -> str:
        return "" if self.met is None else "met" if self.met else "**missed**"


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def rate(value: float, unit: str = "/s") -> str:
    return f"{value:,.0f}{unit}"


def rates(values: Sequence[float]) -> str:
    """Every round's value, in the order measured."""
    return "rounds: " + ", ".join(f"{value:,.0f}" for value in values)


def ratio_row(
    group: str,
    measure: str,
    numerator: Sequence[float],
    denominator: Sequence[float],
    at_least: float | None = None,
) -> Row:
    """The ratio of two contenders' medians, with each round's ratio as detail."""
    value = median(numerator) / median(denominator) if median(denominator) else 0.0
    per_round = [a / b for a, b in zip(numerator, denominator, strict=True) if b]
    detail = "per round: " + ", ".join(f"{each:.2f}" for each in per_round)
    if at_least is None:
        return Row(group, measure, f"{value:.2f}x", detail)
    return Row(group, measure, f"{value:.2f}x", detail, f">= {at_least:g}x", value >= at_least)


def table(rows: Sequence[Row]) -> str:
    lines = [
        "| Group | Measure | Median | Details | Target | Result |",
        "| --- | --- | ---: | --- | --- | --- |",
    ]
    for row in rows:
        cells = (row.group, row.measure, row.value, row.detail, row.target, row.verdict)
        lines.append("| " + " | ".join(cell.replace("|", "/") for cell in cells) + " |")
    return "\n".join(lines)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def package_version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def redis_version() -> str:
    try:
        completed = subprocess.run(
            ["redis-server", "--version"], capture_output=True, text=True, timeout=10
        )
    except OSError:
        return "not installed"
    return completed.stdout.split(" sha=")[0].strip()


def machine() -> list[tuple[str, str]]:
    return [
        ("CPU", cpu_model()),
        ("cores", str(os.cpu_count())),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("packages", ", ".join(f"{name} {package_version(name)}" for name in PACKAGES)),
        ("wrk", wrk.version() if wrk.available() else "not installed"),
        ("redis-server", redis_version()),
    ]


def key_values(title: str, pairs: Sequence[tuple[str, str]]) -> str:
    return "\n".join([f"**{title}**", "", *(f"- {key}: {value}" for key, value in pairs)])


def percentile(values: Sequence[float], percent: int) -> float:
    """The `percent`-th percentile (1..99), interpolated; the value itself for one sample."""
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[percent - 1]
