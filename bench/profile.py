"""Profile the service under load: py-spy samples it while wrk drives `POST /task(s)`.

    python -m bench.profile --store sqlite --batch 1000 --seconds 10
    python -m bench.profile --store sqlite --drain 20000

`--batch 0` (the default) posts single tasks to `POST /task` with 32 connections; a batch
size posts arrays to `POST /tasks` with 8. `--drain N` profiles instead the in-process
gated drain of N tasks (`python -m bench.drain`), from start to end. Prints the functions
that take the most samples by self time (the function itself was running) and by total
time (it was on the stack), and self time per package (hypercorn, h11, asyncio, service,
...), from py-spy's raw output; `--gil` counts only samples of the
thread holding the GIL.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

from . import servers, wrk
from .config import Config

TOP = 20
"""Functions shown per table, unless --top says otherwise."""


def record(store: str, batch: int, seconds: int, gil: bool, workdir: Path) -> Path:
    """Run the load and py-spy side by side; the path of py-spy's raw (collapsed) output."""
    config = Config()
    server = servers.service(
        "profile", store, workdir, config.concurrency, queue_maxsize=config.queue_maxsize
    )
    body = json.dumps([{"foo": "bar"}] * batch) if batch else '{"foo":"bar"}'
    script = wrk.post_script(workdir, "profile", body)
    path = "/tasks?type=dummy" if batch else "/task?type=dummy"
    connections = config.bulk_connections if batch else config.connections
    output = workdir / "profile.txt"
    command = ["py-spy", "record", "--format", "raw", "--rate", "250", "--nonblocking"]
    command += ["--duration", str(seconds), "--output", str(output)]
    command += ["--gil"] if gil else []
    with servers.running(server):
        spy = subprocess.Popen([*command, "--pid", str(server.pid)], stdout=subprocess.DEVNULL)
        try:
            result = wrk.run(server.url + path, script, seconds + 1, connections)
            spy.wait(seconds + 30)
        finally:
            if spy.poll() is None:
                spy.kill()
                spy.wait()
    print(f"load: {result.rate * max(batch, 1):,.0f} tasks/s, non-2xx {result.non_2xx}")
    return output


def record_drain(store: str, tasks: int, gil: bool, workdir: Path) -> Path:
    """py-spy over one in-process gated drain of `tasks` tasks."""
    output = workdir / "profile.txt"
    command = ["py-spy", "record", "--format", "raw", "--rate", "250", "--output", str(output)]
    command += ["--gil"] if gil else []
    child = [sys.executable, "-m", "bench.drain", store, str(tasks)]
    subprocess.run([*command, "--", *child], check=True, stdout=sys.stderr)
    return output


def frames(line: str, lines: bool) -> tuple[list[str], int]:
    """One collapsed stack: its frames (function, file, and line if asked) and its count."""
    stack, _, count = line.rpartition(" ")
    names = []
    for frame in stack.split(";"):
        function, _, where = frame.partition(" (")
        where = where.rstrip(")").split("site-packages/")[-1]
        names.append(f"{function} ({where if lines else where.rsplit(':', 1)[0]})")
    return names, int(count)


def summarize(lines: Iterable[str], with_lines: bool) -> tuple[Counter[str], Counter[str], int]:
    """Samples per function: as the running frame, and anywhere on the stack (service only)."""
    self_time: Counter[str] = Counter()
    total_time: Counter[str] = Counter()
    samples = 0
    for line in lines:
        if not line.strip():
            continue
        names, count = frames(line.strip(), with_lines)
        samples += count
        self_time[names[-1]] += count
        for name in set(names):
            if "(service/" in name:
                total_time[name] += count
    return self_time, total_time, samples


def by_package(self_time: Counter[str]) -> Counter[str]:
    """Self time summed by the package (top folder) or module of each function's file."""
    packages: Counter[str] = Counter()
    for name, count in self_time.items():
        where = name.rpartition(" (")[2].rstrip(")")
        packages[where.split("/")[0].split(":")[0] or "(unknown)"] += count
    return packages


def show(title: str, counts: Counter[str], samples: int, top: int) -> None:
    print(f"\n{title}")
    for name, count in counts.most_common(top):
        print(f"{100 * count / samples:6.1f}%  {name}")


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__)
    parser.add_argument("--store", choices=("memory", "sqlite"), default="sqlite")
    parser.add_argument("--batch", type=int, default=0, help="tasks per POST /tasks; 0: /task")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--drain", type=int, default=0, help="profile a drain of N tasks")
    parser.add_argument("--gil", action="store_true", help="only the thread holding the GIL")
    parser.add_argument("--lines", action="store_true", help="tell lines apart in self time")
    parser.add_argument("--top", type=int, default=TOP, help="functions shown per table")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as workdir:
        if args.drain:
            output = record_drain(args.store, args.drain, args.gil, Path(workdir))
        else:
            output = record(args.store, args.batch, args.seconds, args.gil, Path(workdir))
        self_time, total_time, samples = summarize(output.read_text().splitlines(), args.lines)
    print(f"{samples} samples")
    show("by self time", self_time, samples, args.top)
    show("by total time, the service's own functions", total_time, samples, args.top)
    show("by self time, per package", by_package(self_time), samples, args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
