"""Start-up refuses bad settings, bad handler modules and duplicate names."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

import pytest

from service import Settings, create_app
from service.errors import ConfigError, DuplicateHandler
from service.handlers import Registry
from tests import failing_startup_handlers


async def start_and_fail(settings: Settings) -> str:
    app = create_app(settings)
    with pytest.raises(ConfigError) as error:
        await app.extensions["task_service"].start()
    return str(error.value)


async def test_unknown_store() -> None:
    message = await start_and_fail(Settings(store="redis://nowhere"))
    assert "SERVICE_STORE='redis://nowhere' is not a known store" in message


async def test_handler_module_that_does_not_import() -> None:
    message = await start_and_fail(Settings(store="memory", handlers=("no.such.module",)))
    assert "cannot import handler module 'no.such.module'" in message


async def test_duplicate_handler_name() -> None:
    with pytest.raises(DuplicateHandler, match="'dummy' is registered twice"):
        Registry.load(["tests.duplicate_handlers"])


async def test_class_and_function_handlers_are_collected() -> None:
    registry = Registry.load(["tests.sample_handlers"])
    assert {"notification", "fifo", "dummy", "echo", "lifecycle", "blocking"} <= set(registry.names)


def test_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "SERVICE_STORE": "memory",
            "SERVICE_CONCURRENCY": "3",
            "SERVICE_DRAIN_TIMEOUT": "2.5",
            "SERVICE_HANDLERS": "a.b, c.d,",
            "SERVICE_MAX_BODY": "10",
        }
    )
    assert settings.store == "memory" and settings.concurrency == 3
    assert settings.drain_timeout == 2.5 and settings.handlers == ("a.b", "c.d")
    assert settings.max_body == 10 and settings.queue_maxsize == 10_000


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SERVICE_CONCURRENCY", "abc"),
        ("SERVICE_CONCURRENCY", "0"),
        ("SERVICE_QUEUE_MAXSIZE", "1.5"),
        ("SERVICE_DRAIN_TIMEOUT", "-1"),
        ("SERVICE_TASK_TIMEOUT", "nan"),
        ("SERVICE_MAX_BODY", "lots"),
    ],
)
def test_bad_setting_names_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name} must be"):
        Settings.from_env({name: value})


async def test_a_handler_that_fails_to_start_closes_what_was_opened(tmp_path: Path) -> None:
    failing_startup_handlers.lifecycle.clear()
    path = tmp_path / "tasks.db"
    settings = Settings(store=f"sqlite:///{path}", handlers=("tests.failing_startup_handlers",))
    message = await start_and_fail(settings)
    assert (
        message == "handler Fails failed to start: RuntimeError: no connection to the mail server"
    )
    assert failing_startup_handlers.lifecycle == ["starts: startup", "starts: shutdown"]
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM owners").fetchone() == (0,)
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("sqlite")]


async def test_the_start_up_line_hides_the_store_password(
    postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "service")
    app = create_app(Settings(store=postgres_url, handlers=("tests.sample_handlers",)))
    async with app.test_app():
        pass
    [line] = [r.getMessage() for r in caplog.records if "serving with store=" in r.getMessage()]
    assert "service:***@" in line and ":service@" not in line
    assert ":service@" not in caplog.text
