"""Start and stop the servers under test: subprocesses on 127.0.0.1, each on a free port.

Every server gets its own process group, so that whatever it spawns (gunicorn's worker) is
killed with it if a benchmark fails half-way.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0
GUNICORN = [sys.executable, "-m", "gunicorn"]

STOP_LINE = re.compile(
    r"stopped after (?P<drain>[\d.]+) s of drain: done=(?P<done>\d+) failed=(?P<failed>\d+) "
    r"cancelled=(?P<cancelled>\d+) abandoned=(?P<abandoned>\d+) \([^)]*\) "
    r"released=(?P<released>\d+)"
)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True)
class Stopped:
    exit_code: int
    seconds: float


@dataclass(frozen=True, slots=True)
class StopLine:
    """The service's last log line: how long its drain took and what became of the tasks."""

    drain_seconds: float
    done: int
    failed: int
    cancelled: int
    abandoned: int
    released: int

    @classmethod
    def find(cls, log: str) -> StopLine | None:
        match = STOP_LINE.search(log)
        if match is None:
            return None
        return cls(
            drain_seconds=float(match["drain"]),
            done=int(match["done"]),
            failed=int(match["failed"]),
            cancelled=int(match["cancelled"]),
            abandoned=int(match["abandoned"]),
            released=int(match["released"]),
        )


@dataclass
class Server:
    """One server process; `start()` returns once it answers HTTP."""

    name: str
    command: list[str]
    port: int
    log_path: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready_path: str | None = "/ready"
    process: subprocess.Popen[bytes] | None = None
    cwd: Path = ROOT
    """Where it starts: `python -m` imports the service package from there first."""

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int:
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        return self.process.pid

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env={**os.environ, **self.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        with httpx.Client(timeout=1.0) as client:
            while time.monotonic() < deadline:
                if self.process is not None and self.process.poll() is not None:
                    break
                if self._answers(client):
                    return
                time.sleep(0.05)
        self.kill()
        raise RuntimeError(f"{self.name} did not start; its log:\n{self.log()[-2000:]}")

    def _answers(self, client: httpx.Client) -> bool:
        """HTTP servers: any answer below 500 on `ready_path`; others: a TCP connection."""
        try:
            if self.ready_path is None:
                socket.create_connection((HOST, self.port), timeout=1.0).close()
                return True
            return client.get(self.url + self.ready_path).status_code < 500
        except (OSError, httpx.HTTPError):
            return False

    def terminate(self, timeout: float = STOP_TIMEOUT) -> Stopped:
        """SIGTERM the server's main process; wait for it to exit and time that."""
        if self.process is None:
            raise RuntimeError(f"{self.name} is not running")
        began = time.perf_counter()
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            raise RuntimeError(
                f"{self.name} did not exit within {timeout:g} s of SIGTERM"
            ) from None
        return Stopped(code, time.perf_counter() - began)

    def kill(self) -> None:
        """SIGKILL the server's whole process group, if anything of it is left."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()

    def rss_bytes(self) -> int:
        """Resident memory of the server process, from /proc/PID/status (VmRSS)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS for {self.name}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@contextmanager
def running(server: Server) -> Iterator[Server]:
    """Start the server, and kill whatever is left of it on the way out."""
    try:
        server.start()
        yield server
    finally:
        server.kill()


def hypercorn(name: str, app: str, workdir: Path, env: Mapping[str, str] | None = None) -> Server:
    """`hypercorn --config hypercorn.toml APP`, bound to a free port."""
    port = free_port()
    command = [sys.executable, "-m", "hypercorn", "--config", "hypercorn.toml"]
    command += ["--bind", f"{HOST}:{port}", app]
    ready = "/ready" if app == "service:app" else "/"
    return Server(name, command, port, workdir / f"{name}.log", dict(env or {}), ready)


def service(name: str, store: str, workdir: Path, concurrency: int = 8, **env: str | int) -> Server:
    """Our service on Hypercorn; `store` is "memory" or "sqlite" (a file in `workdir`)."""
    url = "memory" if store == "memory" else f"sqlite:///{workdir / name}.db"
    settings = {"SERVICE_STORE": url, "SERVICE_CONCURRENCY": str(concurrency)}
    settings.update({f"SERVICE_{key.upper()}": str(value) for key, value in env.items()})
    return hypercorn(name, "service:app", workdir, settings)


def seed(workdir: Path, threads: int, graceful_timeout: int = 30, name: str = "seed") -> Server:
    """The seed template (Flask, one polling thread) on gunicorn's threaded worker."""
    port = free_port()
    command = [*GUNICORN, "--worker-class", "gthread", "--workers", "1", "--threads", str(threads)]
    command += ["--graceful-timeout", str(graceful_timeout), "--bind", f"{HOST}:{port}"]
    if _gunicorn_has_control_socket():
        command.append("--no-control-socket")
    command.append("bench.seed_app:app")
    return Server(name, command, port, workdir / f"{name}.log", {}, "/task")


@functools.cache
def _gunicorn_has_control_socket() -> bool:
    """Newer gunicorns open a control socket in the home directory unless told not to."""
    completed = subprocess.run([*GUNICORN, "--help"], capture_output=True, text=True, timeout=30)
    return "--no-control-socket" in completed.stdout


def redis(workdir: Path, name: str = "redis") -> Server:
    """A throw-away Redis without persistence, for the peer libraries."""
    port = free_port()
    command = ["redis-server", "--bind", HOST, "--port", str(port), "--save", ""]
    command += ["--appendonly", "no", "--dir", str(workdir)]
    return Server(name, command, port, workdir / f"{name}.log", {}, None)
