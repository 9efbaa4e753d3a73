"""The scale-out group's in-process drain: N no-op tasks through 1 or 2 instances, no HTTP.

Each instance is a TaskService in a process of its own (bench/scaleout_instance.py), so that
two instances use both cores as two Hypercorn processes would. They start, then are told
`go` at once; each submits its share of the N `dummy` tasks in batches while its workers
run (like bench/drain.py ungated), and the clock runs from `go` to the moment the last of
them sees the store with no unfinished task. Tasks one instance submits may run on another.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from . import servers
from .config import Config
from .instances import Setup, Stores

STOP_TIMEOUT = 60.0


@dataclass(frozen=True, slots=True)
class Drained:
    tasks: int
    done: int
    seconds: float
    submit_seconds: float
    """The slowest instance's time to submit its share."""
    commits: int | None

    @property
    def rate(self) -> float:
        return self.tasks / self.seconds if self.seconds > 0 else 0.0


def measure(config: Config, stores: Stores, setup: Setup, name: str) -> Drained:
    tasks, count = config.scaleout_tasks, setup.count
    shares = [tasks // count + (1 if n < tasks % count else 0) for n in range(count)]
    with stores.fresh(setup.store, name) as url, ExitStack() as stack:
        children = []
        for number, share in enumerate(shares):
            log = stores.workdir / f"{name}-{number}.log"
            child = _spawn(url, share, config, stack.enter_context(log.open("ab")))
            stack.callback(_stop, child)
            children.append((child, log))
        for child, log in children:
            _expect(child, "ready", log)
        began = time.time()
        for child, _ in children:
            _send(child, "go")
        results = [json.loads(_expect(child, "{", log)) for child, log in children]
    done = sum(each["done"] for each in results)
    if done != tasks:
        raise RuntimeError(f"drain ({setup.label}): {done} of {tasks} tasks done")
    commits = [each["commits"] for each in results]
    return Drained(
        tasks=tasks,
        done=done,
        seconds=max(each["done_at"] for each in results) - began,
        submit_seconds=max(each["submit_seconds"] for each in results),
        commits=None if None in commits else sum(commits),
    )


def _spawn(url: str, tasks: int, config: Config, log: IO[bytes]) -> subprocess.Popen[str]:
    command = [sys.executable, "-m", "bench.scaleout_instance", url, str(tasks)]
    command += [str(config.submit_batch), str(config.concurrency)]
    return subprocess.Popen(
        command,
        cwd=servers.ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        start_new_session=True,
    )


def _send(child: subprocess.Popen[str], line: str) -> None:
    assert child.stdin is not None
    child.stdin.write(line + "\n")
    child.stdin.flush()


def _expect(child: subprocess.Popen[str], start: str, log: Path) -> str:
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line.startswith(start):
        raise RuntimeError(f"a drain instance said {line!r}, not {start!r}; see {log}")
    return line


def _stop(child: subprocess.Popen[str]) -> None:
    """Close its stdin, which tells it to stop, and wait for it to exit."""
    assert child.stdin is not None
    child.stdin.close()
    try:
        child.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
