"""Settings read once from `SERVICE_*` environment variables into a frozen object."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

PREFIX = "SERVICE_"
DEFAULT_STORE = "sqlite:///tasks.db"

T = TypeVar("T", int, float)
LOG_FORMATS = ("text", "json")
DASHBOARD_PAYLOADS = ("show", "hide")


@dataclass(frozen=True, slots=True)
class Settings:
    store: str = DEFAULT_STORE
    queue_maxsize: int = 10_000
    concurrency: int = 8
    drain_timeout: float = 20.0
    default_type: str = "notification"
    handlers: tuple[str, ...] = ()
    task_timeout: float = 300.0
    max_body: int = 1024 * 1024
    max_batch: int = 1000
    max_attempts: int = 1
    retry_delay: float = 1.0
    result_ttl: float = 3600.0
    result_max: int = 100_000
    lease_timeout: float = 5.0
    body_timeout: float = 5.0
    handler_threads: int = 16
    poll_interval: float = 1.0
    listen: bool = True
    write_tokens: tuple[str, ...] = ()
    read_tokens: tuple[str, ...] = ()
    log_format: str = "text"
    dashboard_payloads: str = "show"
    schedule_interval: float = 1.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        read = _Reader(env)
        return cls(
            store=read.text("STORE", DEFAULT_STORE),
            queue_maxsize=read.number(int, "QUEUE_MAXSIZE", 10_000, minimum=1),
            concurrency=read.number(int, "CONCURRENCY", 8, minimum=1),
            drain_timeout=read.number(float, "DRAIN_TIMEOUT", 20.0, minimum=0),
            default_type=read.text("DEFAULT_TYPE", "notification"),
            handlers=read.names("HANDLERS"),
            task_timeout=read.number(float, "TASK_TIMEOUT", 300.0, minimum=0.001),
            max_body=read.number(int, "MAX_BODY", 1024 * 1024, minimum=1),
            max_batch=read.number(int, "MAX_BATCH", 1000, minimum=1),
            max_attempts=read.number(int, "MAX_ATTEMPTS", 1, minimum=1),
            retry_delay=read.number(float, "RETRY_DELAY", 1.0, minimum=0),
            result_ttl=read.number(float, "RESULT_TTL", 3600.0, minimum=0),
            result_max=read.number(int, "RESULT_MAX", 100_000, minimum=1),
            lease_timeout=read.number(float, "LEASE_TIMEOUT", 5.0, minimum=1),
            body_timeout=read.number(float, "BODY_TIMEOUT", 5.0, minimum=0.001),
            handler_threads=read.number(int, "HANDLER_THREADS", 16, minimum=1),
            poll_interval=read.number(float, "POLL_INTERVAL", 1.0, minimum=0.01),
            listen=read.flag("LISTEN", True),
            write_tokens=read.names("WRITE_TOKENS"),
            read_tokens=read.names("READ_TOKENS"),
            log_format=read.choice("LOG_FORMAT", LOG_FORMATS),
            dashboard_payloads=read.choice("DASHBOARD_PAYLOADS", DASHBOARD_PAYLOADS),
            schedule_interval=read.number(float, "SCHEDULE_INTERVAL", 1.0, minimum=0.01),
        )


def redacted(url: str) -> str:
    """The URL with its password, if any, replaced by `***`: fit for a log line."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user, _, host = parts.netloc.rpartition("@")
    name = user.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{name}:***@{host}"))


@dataclass(frozen=True, slots=True)
class _Reader:
    env: Mapping[str, str]

    def text(self, name: str, default: str) -> str:
        value = self.env.get(PREFIX + name, "").strip()
        return value or default

    def names(self, name: str) -> tuple[str, ...]:
        raw = self.env.get(PREFIX + name, "")
        return tuple(part.strip() for part in raw.split(",") if part.strip())

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        """One of `choices` (any case); the first when unset."""
        raw = self.env.get(PREFIX + name, "").strip().lower()
        if not raw:
            return choices[0]
        if raw not in choices:
            raise ConfigError(f"{PREFIX}{name} must be {' or '.join(choices)}, got {raw!r}")
        return raw

    def flag(self, name: str, default: bool) -> bool:
        raw = self.env.get(PREFIX + name, "").strip().lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{PREFIX}{name} must be true or false, got {raw!r}")

    def number(self, kind: Callable[[str], T], name: str, default: T, *, minimum: T) -> T:
        raw = self.env.get(PREFIX + name, "").strip()
        if not raw:
            return default
        noun = "an integer" if kind is int else "a number"
        try:
            value = kind(raw)
        except ValueError:
            raise ConfigError(f"{PREFIX}{name} must be {noun}, got {raw!r}") from None
        if value != value or value < minimum or value == float("inf"):
            raise ConfigError(f"{PREFIX}{name} must be {noun} >= {minimum}, got {raw!r}")
        return value
