"""Drive HTTP load with wrk: a Lua script per request body, results read as JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = "wrk is missing: install it with `apt-get install wrk` (Debian/Ubuntu)."

# wrk calls done() once at the end; it prints one JSON line that run() picks up.
# errors.status counts responses with a status of 400 or more (wrk's "Non-2xx or 3xx").
SCRIPT = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = [==[{body}]==]

done = function(summary, latency, requests)
  io.write(string.format(
    '{{"requests":%d,"duration_us":%d,"non_2xx":%d,"socket_errors":%d,' ..
    '"p50_us":%d,"p99_us":%d}}\\n',
    summary.requests, summary.duration, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write +
      summary.errors.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    seconds: float
    non_2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Requests answered per second."""
        return self.requests / self.seconds if self.seconds > 0 else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    """wrk's version line, e.g. "wrk 4.1.0 [epoll]"."""
    completed = subprocess.run(["wrk", "-v"], capture_output=True, text=True, timeout=10)
    first = (completed.stdout or completed.stderr).splitlines()[:1]
    return first[0].split(" Copyright")[0].strip() if first else "unknown"


def post_script(directory: Path, name: str, body: str) -> Path:
    """Write a wrk script that POSTs `body` (JSON) on every request."""
    if "]==]" in body:
        raise ValueError("the body cannot hold the Lua long-string terminator ]==]")
    path = directory / f"{name}.lua"
    path.write_text(SCRIPT.format(body=body))
    return path


def run(
    url: str, script: Path, duration: float, connections: int = 32, threads: int = 2
) -> WrkResult:
    """Load `url` for `duration` seconds (whole, at least 1) with keep-alive connections."""
    seconds = max(1, round(duration))
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s"]
    command += ["--timeout", "10s", "-s", str(script), url]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    lines = [line for line in completed.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")
    data = json.loads(lines[-1])
    return WrkResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )
