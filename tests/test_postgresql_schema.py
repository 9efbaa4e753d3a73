"""The PostgreSQL schema's migrations, from an older version with tasks in it."""

from __future__ import annotations

import asyncpg

from service.store import sql
from service.store.postgresql.schema import migrate

NEWEST = sql.migrations("postgresql")[-1][0]


async def test_the_waiting_flag_is_set_on_the_delayed_tasks_of_an_older_schema(
    postgres_url: str,
) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        assert await migrate(connection, target=4) == 4
        await connection.execute(
            "INSERT INTO tasks (id, type, payload, run_at, status, created_at) VALUES "
            "('now', 'echo', '1', now(), 'queued', now()), "
            "('was due', 'echo', '2', now() - interval '1 s', 'queued', now()), "
            "('later', 'echo', '3', now() + interval '1 h', 'queued', now()), "
            "('done', 'echo', '4', now() + interval '1 h', 'done', now())"
        )
        assert await migrate(connection) == NEWEST
        found = await connection.fetch("SELECT id, waiting FROM tasks ORDER BY id")
    finally:
        await connection.close()
    assert dict(map(tuple, found)) == {"done": False, "later": True, "now": False, "was due": False}
