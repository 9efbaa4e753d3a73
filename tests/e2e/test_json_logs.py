"""SERVICE_LOG_FORMAT=json on real Hypercorn: every line of the service's log is one JSON object."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.server import Server

HANDLERS = "tests.sample_handlers,tests.log_handlers"


def service_lines(log: str) -> list[dict[str, Any]]:
    """The service's lines; Hypercorn's own start with `[` in its own format."""
    lines = []
    for text in log.splitlines():
        if not text or text.startswith("["):
            continue
        line = json.loads(text)  # anything else on stderr is an error
        assert {"time", "level", "logger", "message"} <= line.keys(), text
        assert line["logger"] == "service" or line["logger"].startswith("service.")
        assert datetime.fromisoformat(line["time"]).utcoffset() == timedelta(0)
        lines.append(line)
    return lines


def test_every_service_line_is_json(tmp_path: Path) -> None:
    env = {"SERVICE_STORE": "memory", "SERVICE_LOG_FORMAT": "json", "SERVICE_HANDLERS": HANDLERS}
    with Server(tmp_path, env) as server:
        sent = server.post("/task?type=notification", {"to": "zoë"}).json()["id"]
        failed = server.post("/task?type=boom", 1).json()["id"]
        server.wait_done([sent, failed])
        assert server.stop() == 0
    lines = service_lines(server.log())
    actions = {(line.get("action"), line.get("task_id")) for line in lines}
    assert {("start", None), ("handle", sent), ("failed", failed), ("stop", None)} <= actions
    [failure] = [line for line in lines if line.get("task_id") == failed]
    assert failure["level"] == "WARNING" and failure["logger"] == "service.worker"
    [traceback] = [line for line in lines if "exception" in line]
    assert traceback["message"].startswith("handler shutdown failed")
    assert "RuntimeError: cannot say goodbye" in traceback["exception"]


def test_text_by_default(tmp_path: Path) -> None:
    with Server(tmp_path, {"SERVICE_STORE": "memory"}) as server:
        assert server.stop() == 0
    assert "[INFO] service: serving with store=memory" in server.log()
    assert not [line for line in server.log().splitlines() if line.startswith("{")]


def test_a_bad_log_format_stops_start_up(tmp_path: Path) -> None:
    server = Server(tmp_path, {"SERVICE_STORE": "memory", "SERVICE_LOG_FORMAT": "xml"})
    assert server.launch().wait(timeout=30) != 0
    assert "start-up failed: SERVICE_LOG_FORMAT must be text or json, got 'xml'" in server.log()
