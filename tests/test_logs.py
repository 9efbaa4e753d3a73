"""SERVICE_LOG_FORMAT: the setting, and the JSON lines of a running service's real records."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from service import Settings, create_app
from service.errors import ConfigError
from service.logs import JSONFormatter, formatter
from tests.conftest import Running

FIELDS = {"time", "level", "logger", "message"}


def test_log_format_setting() -> None:
    assert Settings.from_env({}).log_format == "text"
    assert Settings.from_env({"SERVICE_LOG_FORMAT": " JSON "}).log_format == "json"
    with pytest.raises(ConfigError, match="SERVICE_LOG_FORMAT must be text or json, got 'xml'"):
        Settings.from_env({"SERVICE_LOG_FORMAT": "xml"})


def as_json(record: logging.LogRecord) -> dict[str, Any]:
    line = JSONFormatter().format(record)
    assert "\n" not in line and line.isascii()
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def test_records_of_a_running_service_as_json(caplog: pytest.LogCaptureFixture) -> None:
    settings = Settings(store="memory", handlers=("tests.sample_handlers",), log_format="json")
    app = create_app(settings)
    with caplog.at_level(logging.INFO, logger="service"):
        async with app.test_app():
            running = Running(app)
            sent = await (await running.post("/task?type=notification", {"to": "zoë"})).get_json()
            failed = await (await running.post("/task?type=boom", 1)).get_json()
            await running.wait_finished(sent["id"])
            await running.wait_finished(failed["id"])

            async def broken(task_id: str) -> None:
                raise RuntimeError("secret internals")

            running.service.reads.get = broken  # type: ignore[method-assign]
            assert (await running.client.get("/task/abc")).status_code == 500
    lines = [as_json(record) for record in caplog.records if record.name.startswith("service")]
    for line in lines:
        assert FIELDS <= line.keys()
        at = datetime.fromisoformat(line["time"])
        assert at.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - at) < timedelta(minutes=1)
    by_task = {(line.get("action"), line.get("task_id")): line for line in lines}
    notified = by_task["handle", sent["id"]]
    assert notified["logger"] == "service.handlers" and notified["level"] == "INFO"
    assert "zoë" in notified["message"]
    assert by_task["failed", failed["id"]]["level"] == "WARNING"
    assert "ValueError: cannot handle 1" in by_task["failed", failed["id"]]["message"]
    [unexpected] = [line for line in lines if "exception" in line]
    assert unexpected["message"] == "unexpected error while answering a request"
    assert "Traceback" in unexpected["exception"]
    assert "RuntimeError: secret internals" in unexpected["exception"]
    assert any(
        line.get("action") == "stop" and "stopped after" in line["message"] for line in lines
    )


def test_text_stays_the_default() -> None:
    record = logging.LogRecord("service", logging.INFO, __file__, 1, "serving %s", ("x",), None)
    line = formatter("text").format(record)
    assert line.endswith(" [INFO] service: serving x") and not line.startswith("{")
    assert as_json(record)["message"] == "serving x"
