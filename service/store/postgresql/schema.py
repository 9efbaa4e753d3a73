"""The schema: numbered .sql migrations, applied in one transaction under an advisory lock.

Processes that start together take turns on the lock: the first migrates, the others find
the schema up to date. The version is the one row of `service_schema`. A schema that is up
to date is only read, so that a role without the right to create tables can run on a
database that its owner migrated.
"""

from __future__ import annotations

from ...errors import StoreError
from .. import sql
from .connection import Connection

MIGRATION_LOCK = 0x7365_7276_6963_6531  # "service1": this service's advisory lock key

CREATE_VERSION_TABLE = """
CREATE TABLE service_schema (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version  integer NOT NULL
)
"""


async def migrate(connection: Connection, target: int | None = None) -> int:
    """Bring the schema to `target` (default: the newest); return the version it has."""
    known = sql.migrations("postgresql")
    newest = known[-1][0]
    goal = newest if target is None else target
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
        if await connection.fetchval("SELECT to_regclass('service_schema')") is None:
            await connection.execute(CREATE_VERSION_TABLE)
        found = await connection.fetchval("SELECT version FROM service_schema")
        version: int = 0 if found is None else found
        before = version
        if version > newest:
            raise StoreError(
                f"the task database has schema version {version}, newer than this service "
                f"knows ({newest}): upgrade the service"
            )
        for number, script in known:
            if version < number <= goal:
                await connection.execute(script)
                version = number
        if version != before:
            await connection.execute(
                "INSERT INTO service_schema (version) VALUES ($1) "
                "ON CONFLICT (only_row) DO UPDATE SET version = excluded.version",
                version,
            )
    return version
