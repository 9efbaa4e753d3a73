"""What only the PostgreSQL store does: start-up errors, its schema, processes sharing one
database through leases on the server's clock, LISTEN/NOTIFY and the poll-only mode.

The shared queue's promises are in test_store_contract.py, for every backend; a server
that goes away, stalls or sits behind PgBouncer, in test_postgresql_connections.py.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import asyncpg
import pytest

from service import Settings, Task
from service.errors import ConfigError, StoreError
from service.store import sql
from service.store.postgresql import CHANNEL, PostgreSQLStore
from service.store.postgresql.rows import QUERIES
from tests.postgres import Cluster
from tests.stores import opening

Opener = Callable[..., Awaitable[PostgreSQLStore]]
NEWEST = sql.migrations("postgresql")[-1][0]


def database(url: str) -> str:
    return url.rsplit("/", 1)[1]


def tasks(count: int, **fields: object) -> list[Task]:
    return [Task(type="echo", payload=n, **fields) for n in range(count)]  # type: ignore[arg-type]


async def until(check: Callable[[], object], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture
async def opener(postgres_url: str) -> AsyncIterator[Opener]:
    """Opens stores (processes) on this test's database; closed after the test."""

    def make(url: str = postgres_url, **overrides: Any) -> PostgreSQLStore:
        return PostgreSQLStore(replace(Settings(store=url), **overrides))

    async with opening(make) as open_one:
        yield open_one


# Start-up.


@pytest.mark.parametrize(
    ("change", "kind", "reason"),
    [
        (("service:service@", "service:Wr0ng-Pa55@"), ConfigError, "password authentication"),
        (("127.0.0.1", "no-such-host.invalid"), ConfigError, "unknown host"),
        (("/test_", "/missing_"), ConfigError, "does not exist"),
    ],
)
async def test_a_bad_url_fails_in_one_line_without_the_password(
    postgres_url: str, change: tuple[str, str], kind: type[Exception], reason: str
) -> None:
    url = postgres_url.replace(*change)
    store = PostgreSQLStore(Settings(store=url))
    with pytest.raises(kind) as raised:
        await store.open()
    message = str(raised.value)
    assert message.startswith("cannot connect to PostgreSQL at ") and reason in message
    assert "\n" not in message and "Wr0ng-Pa55" not in message and ":service@" not in message
    await store.close()


async def test_a_server_that_is_down_is_a_store_error() -> None:
    url = "postgresql://service:service@127.0.0.1:1/postgres"
    with pytest.raises(StoreError, match=r"^cannot connect to PostgreSQL at 127\.0\.0\.1:1/"):
        await PostgreSQLStore(Settings(store=url)).open()


async def test_the_schema_is_created_once_versioned_and_tuned(
    opener: Opener, postgres_cluster: Cluster, postgres_url: str
) -> None:
    await asyncio.gather(*(opener() for _ in range(4)))  # together: one migrates, all open
    db = database(postgres_url)
    assert postgres_cluster.admin_sql("SELECT version FROM service_schema", db) == str(NEWEST)
    options = postgres_cluster.admin_sql(
        "SELECT reloptions FROM pg_class WHERE relname = 'tasks'", db
    )
    assert "fillfactor=80" in options and "autovacuum_vacuum_scale_factor=0.01" in options
    assert postgres_cluster.admin_sql("SELECT count(*) FROM owners", db) == "4"


async def test_a_newer_schema_is_refused(
    opener: Opener, postgres_cluster: Cluster, postgres_url: str
) -> None:
    await opener()
    postgres_cluster.admin_sql("UPDATE service_schema SET version = 999", database(postgres_url))
    with pytest.raises(StoreError) as raised:
        await PostgreSQLStore(Settings(store=postgres_url)).open()
    assert str(raised.value) == (
        f"the task database has schema version 999, newer than this service knows ({NEWEST}): "
        "upgrade the service"
    )


async def test_a_role_that_cannot_create_tables_runs_on_a_migrated_database(
    opener: Opener, postgres_cluster: Cluster, postgres_url: str
) -> None:
    await opener()
    db = database(postgres_url)
    postgres_cluster.admin_sql(
        "CREATE ROLE worker_only LOGIN PASSWORD 'worker-password';"
        f"GRANT CONNECT ON DATABASE {db} TO worker_only;"
        "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO worker_only;",
        db,
    )
    try:
        url = postgres_url.replace("service:service@", "worker_only:worker-password@")
        store = await opener(url)
        await store.add(tasks(1))
        assert len((await store.claim(5)).tasks) == 1
        await store.close()
    finally:
        postgres_cluster.admin_sql("DROP OWNED BY worker_only; DROP ROLE worker_only", db)


# Processes sharing one database.


async def test_due_times_and_leases_are_on_the_server_clock(
    opener: Opener, postgres_cluster: Cluster, postgres_url: str
) -> None:
    store = await opener(lease_timeout=30)
    skewed = time.time() - 1000  # this process's clock is 1000 s behind the server's
    await store.add([Task("echo", 1, created_at=skewed, run_at=skewed + 0.4)])
    early = await store.claim(1)
    assert early.tasks == [] and early.next_due is not None and 0.2 < early.next_due <= 0.4
    await asyncio.sleep(early.next_due + 0.05)
    [task] = (await store.claim(1)).tasks
    left = postgres_cluster.admin_sql(
        "SELECT extract(epoch FROM expires_at - now()) FROM owners", database(postgres_url)
    )
    assert 28 < float(left) <= 30


def rows_read(plan: Any) -> int:
    """Rows that the scans of an EXPLAIN ANALYZE plan (as JSON) read, kept or dropped."""
    if isinstance(plan, list):
        return sum(map(rows_read, plan))
    if not isinstance(plan, dict):
        return 0
    read = 0
    if "Scan" in plan.get("Node Type", ""):
        read = plan["Actual Rows"] * plan["Actual Loops"] + plan.get("Rows Removed by Filter", 0)
    return int(read) + rows_read(list(plan.values()))


async def test_a_claim_reads_neither_the_delayed_tasks_nor_every_due_one(
    opener: Opener, postgres_url: str
) -> None:
    store = await opener()
    await store.add(tasks(5000, run_at=time.time() + 3600))
    due = await store.add(tasks(3000))  # behind the delayed ones in priority order
    raw = await asyncpg.connect(postgres_url)
    try:
        await raw.execute("ANALYZE tasks")
        read = 0
        for query, arguments in [("promote", ()), ("claim", (store.owner, 60.0, 8))]:
            explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + QUERIES[query]
            read += rows_read(json.loads(await raw.fetchval(explain, *arguments)))
        running = await raw.fetch("SELECT id FROM tasks WHERE status = 'running'")
    finally:
        await raw.close()
    assert sorted(row["id"] for row in running) == sorted(task.id for task in due[:8])
    # Skipping the delayed tasks would read 5,000 rows; sorting the due ones, 3,000.
    assert read < 50, read


async def test_concurrent_claims_never_share_a_task(opener: Opener) -> None:
    stores = [await opener() for _ in range(3)]
    claimed: list[Task] = []

    async def claim_all(store: PostgreSQLStore) -> None:
        while found := (await store.claim(3)).tasks:
            claimed.extend(found)

    await asyncio.gather(*(store.add(tasks(100)) for store in stores))
    await asyncio.gather(*(claim_all(store) for store in stores * 2))
    assert len(claimed) == 300 and len({task.id for task in claimed}) == 300
    assert all(task.claim is not None and task.claim[1] == 1 for task in claimed)


async def test_a_lapsed_lease_fences_writes_and_takes_a_fresh_one(
    opener: Opener, postgres_cluster: Cluster, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    stalled, alive = await opener(), await opener()
    await stalled.add(tasks(2))
    mine = (await stalled.claim(2)).tasks
    old = stalled.owner
    postgres_cluster.admin_sql(
        f"UPDATE owners SET expires_at = now() - interval '1 s' WHERE id = '{old}'",
        database(postgres_url),
    )
    await stalled.add(tasks(1))
    assert (await stalled.claim(5)).tasks == []  # nothing is claimed under a lapsed lease
    assert await alive.take_over() == 2
    mine[0].status, mine[0].finished_at = "done", time.time()
    stalled.record(mine[0])
    assert await stalled.release(mine[1:]) == 0
    assert stalled.fenced == 2
    assert f"task {mine[0].id}: attempt 1's result is discarded" in caplog.text
    found = await alive.get(mine[0].id)
    assert found is not None and (found.status, found.claim) == ("queued", None)
    lease = await stalled.heartbeat()
    assert lease.lapsed and lease.peers == 1 and stalled.owner != old
    assert len((await stalled.claim(5)).tasks) == 3


async def test_closing_gives_up_the_lease_for_an_immediate_take_over(opener: Opener) -> None:
    leaving, staying = await opener(lease_timeout=60), await opener(lease_timeout=60)
    await leaving.add(tasks(3))
    await leaving.claim(3)
    assert await staying.take_over() == 0
    await leaving.close()
    assert await staying.take_over() == 3
    assert sorted(task.attempts for task in (await staying.claim(5)).tasks) == [2, 2, 2]


# LISTEN / NOTIFY.


class Notes:
    """A raw LISTEN on the channel, counting notifications."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_: object) -> None:
        self.count += 1


async def test_notify_wakes_other_processes_for_unowned_due_work_only(
    opener: Opener, postgres_url: str
) -> None:
    sender, receiver = await opener(), await opener()
    wakes: list[float] = []
    receiver.listen(lambda: wakes.append(time.monotonic()))
    assert receiver.listener is not None
    await until(receiver.listener.listening.is_set)
    raw, notes = await asyncpg.connect(postgres_url), Notes()
    await raw.add_listener(CHANNEL, notes)
    await until(lambda: wakes)  # listening started: one wake to catch up
    wakes.clear()

    started = Task("echo", 1, status="running", attempts=1, started_at=time.time())
    started.claim = (sender.owner, 1)
    await sender.add([started, Task("echo", 2, run_at=time.time() + 60)])
    await asyncio.sleep(0.3)
    assert (notes.count, wakes) == (0, [])  # owned, or not due: no one else can take it

    await sender.add(tasks(50))
    await until(lambda: wakes)
    await asyncio.sleep(0.2)
    assert notes.count == 1  # one per transaction

    started.status, started.attempts = "queued", 0  # given back: anyone may run it
    assert await sender.release([started]) == 1
    await until(lambda: notes.count == 2)
    await raw.close()


async def test_poll_only_mode_neither_listens_nor_caches_statements(
    opener: Opener, postgres_cluster: Cluster, postgres_url: str
) -> None:
    store = await opener(listen=False)
    store.listen(lambda: None)
    assert store.listener is None
    await store.add(tasks(3))
    assert len((await store.claim(5)).tasks) == 3
    sessions = postgres_cluster.admin_sql(
        "SELECT application_name FROM pg_stat_activity WHERE datname = current_database()",
        database(postgres_url),
    )
    assert "service listener" not in sessions
    assert store._db._options("writer")["statement_cache_size"] == 0
