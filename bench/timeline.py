"""Where SQLite's intake spends a commit: timers on every transaction under the intake load.

    python -m bench.timeline [--seconds 8] [--connections 32]

Starts the service on a SQLite file with a timer on each transaction
(`bench/timeline_probe.py`), warms it up, loads `POST /task` with wrk as the intake group
does, stops the service with SIGTERM and reads what the timers wrote. Prints, for the load's
window: the commits a second and what they carried, the share of the time a transaction was
under way against the share the store's thread was on a CPU, how many times their CPU the
statements took in wall time (the rest is waiting for the interpreter lock), and the COMMITs
that took longer than STALL (the fsync held up by the disk).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from . import servers, wrk
from .config import Config
from .intake import BODY
from .timeline_probe import Event

STALL = 0.015
"""A COMMIT longer than this (s) counts as held up by the disk: a plain one takes under 2 ms."""
WARM_UP = 2


@dataclass(frozen=True, slots=True)
class Summary:
    seconds: float
    commits: int
    with_new: int
    """Commits that acknowledged new tasks."""
    new_per_commit: float
    """New tasks per commit that carried any."""
    busy: float
    """Share of the window with a transaction under way."""
    cpu: float
    """Share of a core the store's thread used in transactions."""
    waiting: float
    """The statements' wall time over their CPU time (COMMITs left out)."""
    stalls: int
    stalled: float
    """Seconds in COMMITs longer than STALL."""
    longest: float
    stalls_with_new: int

    def lines(self) -> list[str]:
        return [
            f"commits: {self.commits / self.seconds:,.0f}/s; "
            f"{self.with_new / max(self.commits, 1):.0%} carry new tasks, "
            f"{self.new_per_commit:.1f} each",
            f"a transaction under way {self.busy:.0%} of the time; "
            f"the store's thread on a CPU {self.cpu:.0%}",
            f"statements: {self.waiting:.1f}x their CPU time in wall time",
            f"COMMITs over {STALL * 1000:g} ms: {self.stalls}, {self.stalled:.2f} s in all "
            f"({self.stalled / self.seconds:.0%} of the load), longest "
            f"{self.longest * 1000:.0f} ms; {self.stalls_with_new} of them carried new tasks",
        ]


def summarize(events: Sequence[Event], start: float, end: float) -> Summary:
    """The transactions that began and ended within [start, end]."""
    inside = [event for event in events if event[0] >= start and event[2] <= end]
    seconds = end - start
    new = [event[5] for event in inside if event[5]]
    body_wall = sum(event[1] - event[0] for event in inside)
    body_cpu = sum(event[3] for event in inside)
    commits = [(event[2] - event[1], event[5]) for event in inside]
    stalls = [(took, carried) for took, carried in commits if took > STALL]
    return Summary(
        seconds=seconds,
        commits=len(inside),
        with_new=len(new),
        new_per_commit=sum(new) / len(new) if new else 0.0,
        busy=sum(event[2] - event[0] for event in inside) / seconds,
        cpu=sum(event[3] + event[4] for event in inside) / seconds,
        waiting=body_wall / body_cpu if body_cpu else 0.0,
        stalls=len(stalls),
        stalled=sum(took for took, _ in stalls),
        longest=max((took for took, _ in commits), default=0.0),
        stalls_with_new=sum(1 for _, carried in stalls if carried),
    )


def run(seconds: int, connections: int, workdir: Path) -> None:
    config = Config()
    events = workdir / "timeline.json"
    settings = {
        "SERVICE_STORE": f"sqlite:///{workdir / 'timeline.db'}",
        "SERVICE_CONCURRENCY": str(config.concurrency),
        "SERVICE_QUEUE_MAXSIZE": str(config.queue_maxsize),
        "BENCH_TIMELINE": str(events),
    }
    server = servers.hypercorn("timeline", "bench.timeline_probe:app", workdir, settings)
    script = wrk.post_script(workdir, "timeline", BODY)
    with servers.running(server):
        url = server.url + "/task?type=dummy"
        wrk.run(url, script, WARM_UP, connections)
        start = time.monotonic()
        result = wrk.run(url, script, seconds, connections)
        end = time.monotonic()
        server.terminate()
    print(
        f"load: {result.rate:,.0f} req/s at {connections} connections for {seconds} s, "
        f"non-2xx {result.non_2xx}"
    )
    for line in summarize(json.loads(events.read_text()), start, end).lines():
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args(argv)
    if not wrk.available():
        print(wrk.INSTALL_HINT, file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory() as directory:
        run(args.seconds, args.connections, Path(directory))
    return 0


if __name__ == "__main__":
    sys.exit(main())
