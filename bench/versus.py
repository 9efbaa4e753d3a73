"""Before and after: this checkout's intake against another checkout's, head to head.

    python -m bench.versus OTHER_CHECKOUT [--store memory|sqlite] [--rounds 10] [--seconds 5]

Starts the service (`service:app` with hypercorn.toml, the given store, 8 workers) from this
checkout and from OTHER_CHECKOUT (`git worktree add ../before COMMIT`, say: each server imports
the service package from its own checkout, its working directory), side by side,
warms both up, then loads them in turn with the intake load of `bench.intake` (POST /task,
32 connections), the order reversed every round so that neither always goes first. Only the
two services run (in `python -m bench --only intake` four other servers share the machine),
and each round waits until both are idle: a service runs the backlog of its round after it,
which would otherwise share the machine with the other's round.

Prints each round's rates and the CPU time per request of each server (its main thread,
and its other threads: the SQLite store's), then the medians, the share of the time the
main thread was busy, the cores all its threads used together, and the median of the
per-round ratios (this checkout / the other). On SQLite also the tasks finished during the
round per request answered, counted in the database file: a service that runs more of what
it accepts while it accepts spends more of its event loop on running them.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from contextlib import ExitStack, closing
from dataclasses import dataclass
from pathlib import Path

from . import servers, wrk
from .config import Config
from .intake import BODY

THIS = "this checkout"
OTHER = "other checkout"
IDLE = 0.05
"""The share of a core under which a server counts as idle between rounds."""
IDLE_WINDOW = 0.25
"""Seconds over which that share is measured."""
SETTLE_LIMIT = 60.0
"""Seconds to wait at most for both servers to be idle before a round."""


@dataclass(frozen=True, slots=True)
class Round:
    rate: float
    main_us: float
    """CPU time of the server's main thread (the event loop) per request."""
    other_us: float
    """CPU time of its other threads per request."""
    done_per_request: float | None = None
    """Tasks that finished during the round, per request answered (SQLite only)."""

    @property
    def main_busy(self) -> float:
        """The share of the round the main thread was on a CPU: below 1, the event loop
        sat idle part of the round (on SQLite: every connection waiting for a commit)."""
        return self.main_us * self.rate / 1e6

    @property
    def cores(self) -> float:
        """Cores the server's threads used together: on SQLite the loop and the store's thread
        stay at about one between them (see BENCHMARKS.md, "A fourth sitting")."""
        return (self.main_us + self.other_us) * self.rate / 1e6


def cpu_seconds(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of the process's main thread and of all its other threads."""
    main = other = 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = Path(f"/proc/{pid}/task/{tid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # a thread that ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / ticks
        if int(tid) == pid:
            main += seconds
        else:
            other += seconds
    return main, other


def settle(pids: Iterable[int]) -> None:
    """Wait until every server has run what its last round left queued (its CPU use over
    IDLE_WINDOW under IDLE of a core; SETTLE_LIMIT seconds at most), so that no round shares
    the machine with the other server's backlog."""
    began, watched = time.monotonic(), list(pids)
    while time.monotonic() - began < SETTLE_LIMIT:
        before = {pid: sum(cpu_seconds(pid)) for pid in watched}
        time.sleep(IDLE_WINDOW)
        if all(sum(cpu_seconds(pid)) - used < IDLE * IDLE_WINDOW for pid, used in before.items()):
            return
    print(f"a server is still busy after {SETTLE_LIMIT:g} s; measuring anyway", file=sys.stderr)


def finished(database: Path | None) -> int:
    """Tasks done in the SQLite file, read beside the service; 0 without a file."""
    if database is None:
        return 0
    with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
        found: int = connection.execute(
            "SELECT count(*) FROM tasks WHERE status = 'done'"
        ).fetchone()[0]
    return found


def measure(
    server: servers.Server, url: str, script: Path, seconds: float, database: Path | None
) -> Round:
    done = finished(database)
    before = cpu_seconds(server.pid)
    result = wrk.run(url, script, seconds)
    after = cpu_seconds(server.pid)
    requests = max(result.requests, 1)
    return Round(
        result.rate,
        (after[0] - before[0]) * 1e6 / requests,
        (after[1] - before[1]) * 1e6 / requests,
        None if database is None else (finished(database) - done) / requests,
    )


def shown(name: str, each: Round) -> str:
    done = "" if each.done_per_request is None else f", {each.done_per_request:.2f} done/request"
    return f"{name} {each.rate:,.0f} req/s, {each.main_us:.0f}+{each.other_us:.0f} µs{done}"


def summary(rounds: dict[str, list[Round]]) -> list[str]:
    """The medians of each side, and the median of the per-round ratios of the rates."""
    lines = []
    for name, runs in rounds.items():
        rate = statistics.median(each.rate for each in runs)
        main = statistics.median(each.main_us for each in runs)
        other = statistics.median(each.other_us for each in runs)
        busy = statistics.median(each.main_busy for each in runs)
        cores = statistics.median(each.cores for each in runs)
        line = (
            f"{name}: median {rate:,.0f} req/s; CPU per request {main:.0f} µs main thread, "
            f"{other:.0f} µs other threads; main thread busy {busy:.0%}; all threads "
            f"{cores:.2f} cores"
        )
        done = [each.done_per_request for each in runs if each.done_per_request is not None]
        if done:
            line += f"; {statistics.median(done):.2f} tasks finished per request"
        lines.append(line)
    ratios = [
        this.rate / other.rate for this, other in zip(rounds[THIS], rounds[OTHER], strict=True)
    ]
    per_round = " ".join(f"{ratio:.2f}" for ratio in ratios)
    lines.append(f"{THIS} / {OTHER}: {statistics.median(ratios):.3f} (per round: {per_round})")
    return lines


def run(other: Path, store: str, rounds: int, seconds: float, workdir: Path) -> list[str]:
    config = Config()
    script = wrk.post_script(workdir, "versus", BODY)
    checkouts = {THIS: servers.ROOT, OTHER: other.resolve()}
    results: dict[str, list[Round]] = {name: [] for name in checkouts}
    with ExitStack() as stack:
        running = {}
        for number, (name, checkout) in enumerate(checkouts.items()):
            server = servers.service(
                f"versus-{number}",
                store,
                workdir,
                config.concurrency,
                queue_maxsize=config.queue_maxsize,
            )
            server.cwd = checkout
            stack.enter_context(servers.running(server))
            database = workdir / f"versus-{number}.db" if store == "sqlite" else None
            running[name] = (server, f"{server.url}/task?type=dummy", database)
        for _, url, _ in running.values():
            wrk.run(url, script, config.warmup)
        for number in range(rounds):
            order = list(running.items())
            for name, (server, url, database) in order if number % 2 == 0 else reversed(order):
                settle(each.pid for each, _, _ in running.values())
                results[name].append(measure(server, url, script, seconds, database))
            print(
                f"round {number + 1}: "
                + " | ".join(shown(name, results[name][-1]) for name in running),
                flush=True,
            )
    return summary(results)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.versus", description=__doc__)
    parser.add_argument("other", type=Path, help="the other checkout (a directory)")
    parser.add_argument("--store", choices=("memory", "sqlite"), default="memory")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    if not (args.other / "service").is_dir():
        parser.error(f"{args.other} holds no service package")
    if not wrk.available():
        parser.error(wrk.INSTALL_HINT)
    with tempfile.TemporaryDirectory(prefix="bench-versus-") as workdir:
        for line in run(args.other, args.store, args.rounds, args.seconds, Path(workdir)):
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
