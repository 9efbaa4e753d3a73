"""Several service processes on one store, and the spans their handlers leave behind."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.server import Server

LEASE = 2.0


def shared_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'tasks.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@contextmanager
def instances(count: int, workdir: Path, store: str, **env: str) -> Iterator[list[Server]]:
    """`count` processes on `store`, each its own Hypercorn; killed at the end if still up."""
    settings = {
        "SERVICE_STORE": store,
        "SERVICE_LEASE_TIMEOUT": str(LEASE),
        "SPANS": str(workdir / "spans.txt"),
        **env,
    }
    with ExitStack() as stack:
        servers = [stack.enter_context(Server(workdir, settings)) for _ in range(count)]
        yield servers


@dataclass(frozen=True, slots=True)
class Run:
    task_id: str
    attempt: int
    pid: int
    start: float
    end: float | None


def runs(workdir: Path) -> dict[str, list[Run]]:
    """Every run of the `span` handler, by task id, from the spans file."""
    path = workdir / "spans.txt"
    starts: dict[tuple[str, int, int], float] = {}
    ends: dict[tuple[str, int, int], float] = {}
    if path.exists():
        for line in path.read_text().splitlines():
            edge, task_id, attempt, pid, at = line.split()
            key = (task_id, int(attempt), int(pid))
            (starts if edge == "start" else ends)[key] = float(at)
    found: dict[str, list[Run]] = defaultdict(list)
    for key, start in sorted(starts.items(), key=lambda item: item[1]):
        found[key[0]].append(Run(key[0], key[1], key[2], start, ends.get(key)))
    return found


def wait_until(condition: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {timeout:g} s: {what}")
