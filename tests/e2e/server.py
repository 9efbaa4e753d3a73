"""Run the real service: `hypercorn --config hypercorn.toml service:app` in a subprocess."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Server:
    """One service process; `with Server(...) as server:` starts it and kills what is left."""

    def __init__(self, workdir: Path, env: dict[str, str] | None = None, *args: str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = workdir / f"server-{self.port}.log"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SERVICE_HANDLERS": "tests.sample_handlers",
            "JOURNAL": str(workdir / "journal.txt"),
            **(env or {}),
        }
        self.args = args
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def launch(self) -> subprocess.Popen[bytes]:
        command = [
            sys.executable,
            "-m",
            "hypercorn",
            "--config",
            str(ROOT / "hypercorn.toml"),
            "--bind",
            f"127.0.0.1:{self.port}",
            *self.args,
            "service:app",
        ]
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                command,
                cwd=self.workdir,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.process

    def start(self) -> None:
        process = self.launch()
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"the service exited at start:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/ready", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise AssertionError(f"the service did not become ready:\n{self.log()}")

    def stop(self, how: signal.Signals = signal.SIGTERM, group: bool = False) -> int:
        """Send the signal and wait for the exit code."""
        assert self.process is not None
        if group:
            os.killpg(self.process.pid, how)
        else:
            self.process.send_signal(how)
        return self.process.wait(timeout=60)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return httpx.post(self.url + path, json=body, timeout=10, **kwargs)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=10)

    def journal(self) -> list[tuple[str, int]]:
        """(task id, attempt) for every run of the `journal` handler, in order."""
        path = Path(self.env["JOURNAL"])
        if not path.exists():
            return []
        return [(line.split()[0], int(line.split()[1])) for line in path.read_text().splitlines()]

    def journal_lines(self) -> list[str]:
        """The lines a handler wrote to the journal, in order."""
        path = Path(self.env["JOURNAL"])
        return path.read_text().splitlines() if path.exists() else []

    def wait_done(self, ids: list[str], timeout: float = 30) -> dict[str, dict[str, Any]]:
        """Poll until every id is finished; return the records."""
        deadline, records = time.monotonic() + timeout, {}
        pending = list(ids)
        with httpx.Client(base_url=self.url, timeout=10) as client:
            while pending and time.monotonic() < deadline:
                record = client.get(f"/task/{pending[0]}").json()
                if record.get("status") in ("done", "failed", "cancelled"):
                    records[pending.pop(0)] = record
                else:
                    time.sleep(0.02)
        assert not pending, (
            f"{len(pending)} unfinished, e.g. {self.get(f'/task/{pending[0]}').json()}"
        )
        return records
