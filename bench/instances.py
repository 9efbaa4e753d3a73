"""Instances of the service for the scale-out group: N Hypercorn processes on one fresh store.

Each measurement gets a store of its own (a new PostgreSQL database, or a new SQLite file)
and servers started for it and killed after it: no measurement inherits another's backlog,
and no server works through its backlog while another is measured.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import servers
from .config import Config
from .pgserver import Databases
from .servers import Server

HANDLERS = "bench.handlers,bench.scaleout_handlers"
STORE_NAMES = {"postgresql": "PostgreSQL", "sqlite": "SQLite"}


@dataclass(frozen=True, slots=True)
class Setup:
    store: str
    """"postgresql" or "sqlite"."""
    count: int

    @property
    def label(self) -> str:
        plural = "s" if self.count > 1 else ""
        return f"{STORE_NAMES[self.store]}, {self.count} instance{plural}"

    @property
    def slug(self) -> str:
        return f"{self.store[:2]}{self.count}"


SETUPS = (Setup("postgresql", 1), Setup("postgresql", 2), Setup("sqlite", 1))


@dataclass(frozen=True, slots=True)
class Stores:
    databases: Databases
    workdir: Path

    @contextmanager
    def fresh(self, store: str, name: str) -> Iterator[str]:
        """The URL of a new, empty store; it is dropped afterwards."""
        if store == "postgresql":
            with self.databases.fresh(name) as url:
                yield url
            return
        path = self.workdir / f"{name}.db"
        try:
            yield f"sqlite:///{path}"
        finally:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)


@contextmanager
def instances(
    config: Config, stores: Stores, setup: Setup, name: str, **env: str
) -> Iterator[list[Server]]:
    """`setup.count` servers of ours on one fresh store, answering HTTP; killed on the way out."""
    with stores.fresh(setup.store, name) as url, ExitStack() as stack:
        settings = {
            "SERVICE_STORE": url,
            "SERVICE_CONCURRENCY": str(config.concurrency),
            "SERVICE_QUEUE_MAXSIZE": str(config.queue_maxsize),
            "SERVICE_HANDLERS": HANDLERS,
            **env,
        }
        started = []
        for letter in "abcdefgh"[: setup.count]:
            server = servers.hypercorn(f"{name}-{letter}", "service:app", stores.workdir, settings)
            started.append(stack.enter_context(servers.running(server)))
        yield started
