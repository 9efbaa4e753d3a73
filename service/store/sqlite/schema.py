"""The schema: numbered .sql migrations, applied in one transaction, version in user_version."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

from ...errors import StoreError
from .. import sql


def migrate(connection: sqlite3.Connection, target: int | None = None) -> int:
    """Bring the schema to `target` (default: the newest); return the version it has."""
    known = sql.migrations("sqlite")
    newest = known[-1][0] if target is None else target
    connection.execute("BEGIN IMMEDIATE")
    try:
        version: int = connection.execute("PRAGMA user_version").fetchone()[0]
        if version > known[-1][0]:
            raise StoreError(
                f"the task database has schema version {version}, newer than this service "
                f"knows ({known[-1][0]}): upgrade the service"
            )
        for number, script in known:
            if version < number <= newest:
                for statement in _statements(script):
                    connection.execute(statement)
                version = number
        connection.execute(f"PRAGMA user_version = {version}")
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return version


def _statements(script: str) -> Iterator[str]:
    pending = ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            yield pending
            pending = ""
