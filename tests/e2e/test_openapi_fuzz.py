"""Schemathesis against a real server, on every store: the API does what its document says.

`schemathesis run <url>/openapi.json` with every check, positive and negative data, and the
stateful phase, which follows the links it infers from `Location` headers (submit, then
read, cancel or retry the task it made). Tokens are required, so the checks of
authentication apply too: the run carries a write token, and schemathesis also tries none
and a wrong one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.instances import shared_store
from tests.e2e.server import Server

WRITE_TOKEN = "fuzz-write-token"

EXCLUDED_CHECKS = {
    # DELETE /task/<id> cancels a task: the cancelled task stays readable (200, status
    # "cancelled") until its result expires, as a client needs to learn its fate. The check
    # expects a deleted resource to answer 404 afterwards.
    "use_after_free",
}


def schemathesis() -> str:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    assert found, "schemathesis is installed with the test extras"
    return found


@pytest.mark.timeout(300)
@pytest.mark.parametrize("backend", ["memory", "sqlite", "postgresql"])
def test_schemathesis_finds_nothing(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    store = "memory" if backend == "memory" else shared_store(backend, request, tmp_path)
    env = {
        "SERVICE_STORE": store,
        "SERVICE_HANDLERS": "tests.fuzz_handlers",
        "SERVICE_DEFAULT_TYPE": "echo",
        "SERVICE_WRITE_TOKENS": WRITE_TOKEN,
        "SERVICE_READ_TOKENS": "fuzz-read-token",
    }
    with Server(tmp_path, env) as server:
        command = [
            schemathesis(),
            "run",
            f"{server.url}/openapi.json",
            "--header",
            f"Authorization: Bearer {WRITE_TOKEN}",
            "--checks",
            "all",
            "--exclude-checks",
            ",".join(sorted(EXCLUDED_CHECKS)),
            "--mode",
            "all",
            "--max-examples",
            "40",
            "--seed",
            "20261121",
            "--generation-database",
            "none",
            "--no-color",
            "--report-dir",
            str(tmp_path / "report"),
        ]
        run = subprocess.run(command, capture_output=True, text=True, timeout=280, cwd=tmp_path)
        assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-2000:]
        assert "Traceback" not in server.log(), server.log()[-5000:]
