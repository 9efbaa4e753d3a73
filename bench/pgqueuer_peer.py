"""pgqueuer's own benchmark, `tools/benchmark.py` from its source distribution, on our server.

The script is not in pgqueuer's wheel: it is fetched once with `pip download pgqueuer==<the
installed version> --no-binary :all: --no-deps` and kept in the user's cache. Each run
gets a fresh database, `pgq install` (durable tables, pgqueuer's default), then the script
as pgqueuer's documentation runs it (`tools/benchmark.py -d apg -t 10`): the throughput
strategy on the asyncpg driver, one producer enqueueing batches of 10 and five consumers
dequeueing batches of 10, each job a no-op, for `pgqueuer_seconds`. Its rate is the jobs the
consumers ran over the time they ran; jobs still queued at the end are not counted.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .pgserver import Databases, libpq_env

SCRIPT = "tools/benchmark.py"
RUN_TIMEOUT = 120.0


@dataclass(frozen=True, slots=True)
class PgqResult:
    rate: float
    jobs: int
    seconds: float
    queued: int
    """Jobs the producer had enqueued that no consumer ran before the timer ended."""


def version() -> str:
    return importlib.metadata.version("pgqueuer")


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "service-bench"


def benchmark_script() -> Path:
    """pgqueuer's tools/benchmark.py for the installed version, fetched once."""
    target = cache_dir() / f"pgqueuer-{version()}-benchmark.py"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="pgqueuer-sdist-") as scratch:
        command = [sys.executable, "-m", "pip", "download", f"pgqueuer=={version()}"]
        command += ["--no-binary", ":all:", "--no-deps", "--quiet", "-d", scratch]
        subprocess.run(command, check=True, capture_output=True, timeout=300)
        [sdist] = Path(scratch).glob("pgqueuer-*.tar.gz")
        with tarfile.open(sdist) as archive:
            member = archive.getmember(f"{sdist.name.removesuffix('.tar.gz')}/{SCRIPT}")
            extracted = archive.extractfile(member)
            if extracted is None:
                raise RuntimeError(f"{sdist.name} holds no {SCRIPT}")
            target.write_bytes(extracted.read())
    return target


def measure(databases: Databases, script: Path, seconds: float, workdir: Path) -> PgqResult:
    with databases.fresh("pgqueuer") as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")} | libpq_env(url)
        _run([sys.executable, "-m", "pgqueuer", "install"], env, workdir, "pgqueuer-install")
        output = workdir / "pgqueuer-result.json"
        command = [sys.executable, str(script), "-d", "apg", "-t", f"{seconds:g}"]
        _run([*command, "--output-json", str(output)], env, workdir, "pgqueuer-benchmark")
        result = json.loads(output.read_text())
    return PgqResult(
        rate=float(result["rate"]),
        jobs=int(result["steps"]),
        seconds=int(result["steps"]) / float(result["rate"]) if result["rate"] else 0.0,
        queued=int(result["queued"]),
    )


def _run(command: list[str], env: dict[str, str], workdir: Path, name: str) -> None:
    with (workdir / f"{name}.log").open("ab") as log:
        done = subprocess.run(
            command,
            cwd=workdir,  # not the project's: pgqueuer's settings would read a .env there
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=RUN_TIMEOUT,
        )
    if done.returncode != 0:
        tail = (workdir / f"{name}.log").read_text(errors="replace")[-1500:]
        raise RuntimeError(f"{' '.join(command[1:3])} exited {done.returncode}:\n{tail}")
