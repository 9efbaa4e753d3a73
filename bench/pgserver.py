"""A throwaway PostgreSQL cluster with the server's durable defaults, and fresh databases on it.

The cluster is the tests' (`tests/postgres.py`) started with `fast=False`: fsync,
synchronous_commit and full_page_writes stay on, as on a production server. Every measurement
gets a database of its own, dropped after it.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from tests.postgres import Cluster

SHOWN = ("server_version", "fsync", "synchronous_commit", "full_page_writes", "shared_buffers")


class Databases:
    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self._numbers = itertools.count()

    @contextmanager
    def fresh(self, prefix: str) -> Iterator[str]:
        """A new empty database, owned by the service role; its URL."""
        name = f"{prefix.replace('-', '_')}_{next(self._numbers)}"
        self.cluster.create_database(name)
        try:
            yield self.cluster.url(name)
        finally:
            self.cluster.drop_database(name)

    def settings(self) -> dict[str, str]:
        """The server settings that decide durability, as the server reports them."""
        lines = self.cluster.admin_sql("".join(f"SHOW {name};\n" for name in SHOWN))
        return dict(zip(SHOWN, lines.splitlines(), strict=True))


def libpq_env(url: str) -> dict[str, str]:
    """PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE for a postgresql:// URL."""
    parts = urlsplit(url)
    return {
        "PGHOST": parts.hostname or "127.0.0.1",
        "PGPORT": str(parts.port or 5432),
        "PGUSER": parts.username or "",
        "PGPASSWORD": parts.password or "",
        "PGDATABASE": parts.path.lstrip("/"),
    }


@contextmanager
def cluster() -> Iterator[Databases]:
    with Cluster(fast=False) as running:
        yield Databases(running)
