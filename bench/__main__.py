"""`python -m bench`: run every benchmark group, then print one table with the machine info.

Progress goes to stderr; the report (markdown) to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import shlex
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from . import report, wrk
from .config import Config
from .report import Row
from .rounds import note

Group = Callable[[Config, Path], list[Row]]

# name: (what it measures, Python modules it needs, programs it needs)
GROUPS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "intake": ("HTTP intake, POST /task", ("gunicorn", "flask", "httpx"), ("wrk",)),
    "bulk": ("bulk intake, POST /tasks", ("httpx",), ("wrk",)),
    "drain": ("in-process drain", (), ()),
    "latency": ("idle accept-to-start latency", ("httpx",), ()),
    "sustained": ("sustained POST to done", ("httpx",), ("wrk",)),
    "shutdown": ("SIGTERM with 10,000 queued", ("gunicorn", "flask", "httpx"), ()),
    "memory": ("memory per queued task", ("httpx",), ()),
    "peers": ("SAQ and arq on Redis", ("saq", "arq", "redis"), ("redis-server",)),
    "scaleout": (
        "PostgreSQL, 1 and 2 instances, beside SQLite and pgqueuer",
        ("httpx", "asyncpg", "pgqueuer", "tqdm"),
        ("wrk",),
    ),
    "dashboard": ("dashboard pages on 1,000,000 finished tasks", ("httpx", "asyncpg"), ()),
    "batches": ("batch handler throughput on SQLite", (), ()),
}
INSTALL = {
    "wrk": "apt-get install wrk",
    "redis-server": "apt-get install redis-server",
}


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a short run (about 3 minutes)")
    parser.add_argument("--rounds", type=int, help="rounds per comparison (default 3)")
    parser.add_argument("--duration", type=float, help="seconds of wrk load per measurement")
    parser.add_argument("--drain-tasks", type=int, help="tasks in the in-process drain")
    parser.add_argument("--peer-tasks", type=int, help="tasks in the SAQ/arq comparison")
    parser.add_argument("--scaleout-tasks", type=int, help="tasks in the scale-out drain")
    parser.add_argument("--pgqueuer-seconds", type=float, help="pgqueuer benchmark's timer")
    parser.add_argument("--batch-tasks", type=int, help="tasks per batch throughput run")
    parser.add_argument(
        "--only", help=f"comma-separated groups to run, of: {', '.join(GROUPS)} (default: all)"
    )
    parser.add_argument("--workdir", type=Path, help="keep logs and databases here")
    return parser.parse_args(argv)


def configure(args: argparse.Namespace) -> Config:
    base = Config.quick() if args.quick else Config()
    return replace(
        base,
        rounds=args.rounds or base.rounds,
        duration=args.duration or base.duration,
        drain_tasks=args.drain_tasks or base.drain_tasks,
        peer_tasks=args.peer_tasks or base.peer_tasks,
        scaleout_tasks=args.scaleout_tasks or base.scaleout_tasks,
        pgqueuer_seconds=args.pgqueuer_seconds or base.pgqueuer_seconds,
        batch_tasks=args.batch_tasks or base.batch_tasks,
    )


def selected(only: str | None) -> list[str]:
    names = [name.strip() for name in only.split(",")] if only else list(GROUPS)
    unknown = [name for name in names if name not in GROUPS]
    if unknown:
        raise SystemExit(f"unknown group {unknown[0]!r}; known: {', '.join(GROUPS)}")
    return names


def missing(names: Sequence[str]) -> list[str]:
    """What the chosen groups need and this machine lacks, each with how to install it."""
    problems = []
    for module in sorted({module for name in names for module in GROUPS[name][1]}):
        if importlib.util.find_spec(module) is None:
            problems.append(f"Python package {module!r}: pip install -e '.[bench]'")
    for program in sorted({program for name in names for program in GROUPS[name][2]}):
        if shutil.which(program) is None:
            problems.append(f"{program}: {INSTALL[program]}")
    return problems


def run_groups(config: Config, names: Sequence[str], workdir: Path) -> list[Row]:
    """Every group's rows; a group that fails gives one failed row and the others go on."""
    rows: list[Row] = []
    for name in names:
        title = GROUPS[name][0]
        note(f"{name}: {title}")
        began = time.monotonic()
        try:
            group: Group = importlib.import_module(f"bench.{name}").run
            rows += group(config, workdir)
        except Exception as error:
            traceback.print_exc()
            message = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            rows.append(Row(title, "the group failed", "error", message, "runs", False))
        note(f"{name}: done in {time.monotonic() - began:.0f} s")
    return rows


def render(config: Config, rows: Sequence[Row], argv: Sequence[str], seconds: float) -> str:
    judged = [row for row in rows if row.met is not None]
    met = sum(1 for row in judged if row.met)
    command = shlex.join(["python", "-m", "bench", *argv])
    return "\n\n".join(
        [
            "## Benchmark results",
            f"Command: `{command}` (took {seconds / 60:.1f} min)",
            report.key_values("Machine", report.machine()),
            report.key_values("Settings", config.describe()),
            report.table(rows),
            f"Targets met: {met} of {len(judged)}.",
        ]
    )


def main(argv: Sequence[str]) -> int:
    args = parse(argv)
    config = configure(args)
    names = selected(args.only)
    problems = missing(names)
    if problems:
        if any(problem.startswith("wrk") for problem in problems):
            print(wrk.INSTALL_HINT, file=sys.stderr)
        print("missing:\n" + "\n".join(f"  {problem}" for problem in problems), file=sys.stderr)
        return 2
    began = time.monotonic()
    if args.workdir is not None:
        args.workdir.mkdir(parents=True, exist_ok=True)
        rows = run_groups(config, names, args.workdir.resolve())
    else:
        with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
            rows = run_groups(config, names, Path(workdir))
    print(render(config, rows, argv, time.monotonic() - began))
    return 1 if any(row.measure == "the group failed" for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
