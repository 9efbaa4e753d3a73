"""The SQLite store: durable by default, with group commit.

One thread owns the connection. Calls from the event loop queue up while a transaction is
in flight and all go into the next one: one commit, one fsync (WAL, `synchronous=FULL`) for
everything that arrived meanwhile. `add` resolves only after that commit, so a 202 means
the task is on disk. State changes (`record`) keep the live task: its state is read once,
when it is written, so a task that started and finished meanwhile costs one row update.
While new tasks keep arriving, state changes wait up to RECORD_DELAY so that the commits
that acknowledge clients stay small; `get` answers from the live tasks until then.

Each process is an *owner* with a lease it renews from `maintain()`. A task belongs to the
process that accepted or claimed it; tasks whose owner's lease ran out (or whose owner is a
dead process on this host) are claimed by the others, or by the next start.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from .. import jsoncodec
from ..errors import ConfigError, StoreError
from ..settings import Settings
from ..task import Task, new_id
from . import sql

log = logging.getLogger("service.store")

Operation = Callable[[sqlite3.Connection], Any]
Update = tuple[str, int, float, bytes | None, str | None, float | None, float | None, int]

QUERIES = sql.queries("sqlite")
BUSY_TIMEOUT_MS = 5000
OWNER_MEMORY = 3600.0
RECORD_DELAY = 0.05
CACHE_KIB = 64 * 1024  # the page cache: indexes stay in memory as the table grows
# The WAL is folded into the file by a passive checkpoint every second on a thread of its
# own, so that commits never wait for it; the writer checkpoints only if that falls behind.
FALLBACK_CHECKPOINT_PAGES = 100_000


def database_path(url: str) -> Path:
    """`sqlite:///relative.db` or `sqlite:////absolute/path.db`."""
    path = url.removeprefix("sqlite:///")
    if not url.startswith("sqlite:///") or not path:
        raise ConfigError(
            f"SERVICE_STORE={url!r}: write sqlite:///relative/file.db or sqlite:////absolute.db"
        )
    return Path(path)


class SQLiteStore:
    durable = True

    def __init__(self, settings: Settings) -> None:
        self.path = database_path(settings.store)
        self.owner = new_id()
        self._lease = settings.lease_timeout
        self._ttl = settings.result_ttl
        self._host = socket.gethostname()
        self._adds: list[tuple[Sequence[Task], asyncio.Future[list[Task]]]] = []
        self._operations: list[tuple[Operation, asyncio.Future[Any]]] = []
        self._recorded: dict[str, Task] = {}
        self._recorded_since = 0.0
        self._flusher: asyncio.Task[None] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._checkpointer: ThreadPoolExecutor | None = None
        self._checkpoint_connection: sqlite3.Connection | None = None
        self._connection: sqlite3.Connection | None = None
        self.commits = 0

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r}, owner={self.owner}, commits={self.commits})"

    async def open(self) -> None:
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-store")
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connect)

    async def close(self) -> None:
        while self._flusher is not None and not self._flusher.done():
            await self._flusher
        if self._executor is None:
            return
        loop = asyncio.get_running_loop()
        if self._checkpointer is not None:
            # Queued behind any checkpoint still running on that thread.
            await loop.run_in_executor(self._checkpointer, self._close_checkpoints)
            self._checkpointer.shutdown()
            self._checkpointer = None
        await loop.run_in_executor(self._executor, self._disconnect)
        self._executor.shutdown()
        self._executor = None

    async def add(self, tasks: Sequence[Task]) -> list[Task]:
        future: asyncio.Future[list[Task]] = asyncio.get_running_loop().create_future()
        self._adds.append((tasks, future))
        self._flush_soon()
        return await future

    async def get(self, task_id: str) -> Task | None:
        recorded = self._recorded.get(task_id)
        if recorded is not None:
            return recorded

        def select(connection: sqlite3.Connection) -> Task | None:
            row = connection.execute(QUERIES["select_by_id"], (task_id,)).fetchone()
            return None if row is None else _task(row)

        result: Task | None = await self._submit(select)
        return result

    async def find(self, type: str, idempotency_key: str) -> Task | None:
        def select(connection: sqlite3.Connection) -> Task | None:
            row = connection.execute(QUERIES["select_by_key"], (idempotency_key,)).fetchone()
            return None if row is None or row["type"] != type else _task(row)

        result: Task | None = await self._submit(select)
        return result

    def record(self, task: Task) -> None:
        if not self._recorded:
            self._recorded_since = time.monotonic()
        self._recorded[task.id] = task
        self._flush_soon()

    async def flush(self) -> None:
        await self._submit(lambda connection: None)

    async def claim(self, limit: int) -> list[Task]:
        if limit <= 0:
            return []
        parameters = {"owner": self.owner, "now": time.time(), "limit": limit}

        def claim(connection: sqlite3.Connection) -> list[Task]:
            rows = connection.execute(QUERIES["claim"], parameters).fetchall()
            rows.sort(key=lambda row: (-row["priority"], row["seq"]))
            return [_task(row) for row in rows]

        claimed: list[Task] = await self._submit(claim)
        if claimed:
            log.info("claimed %d unfinished tasks", len(claimed), extra={"action": "claim"})
        return claimed

    async def release(self, tasks: Sequence[Task]) -> int:
        for task in tasks:
            self.record(task)
        owner = self.owner

        def release(connection: sqlite3.Connection) -> int:
            return connection.execute(QUERIES["release"], (owner,)).rowcount

        released: int = await self._submit(release)
        return released

    async def maintain(self) -> None:
        now = time.time()

        def upkeep(connection: sqlite3.Connection) -> None:
            self._renew(connection)
            connection.execute(QUERIES["purge_finished"], (now - self._ttl,))
            connection.execute(QUERIES["forget_old_owners"], (now - OWNER_MEMORY,))

        await self._submit(upkeep)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._checkpointer, self._checkpoint)

    def _checkpoint(self) -> None:
        if self._checkpoint_connection is None:
            return
        try:
            self._checkpoint_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: checkpoint failed: {error}") from error

    def _submit(self, operation: Operation) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._operations.append((operation, future))
        self._flush_soon()
        return future

    def _flush_soon(self) -> None:
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush(), name="sqlite-flush")

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._adds or self._operations or self._recorded:
            adds, self._adds = self._adds, []
            operations, self._operations = self._operations, []
            updates = self._take_updates(intake_only=bool(adds) and not operations)
            new = [task for tasks, _ in adds for task in tasks]
            work = [operation for operation, _ in operations]
            try:
                kept, results = await loop.run_in_executor(
                    self._executor, self._transaction, new, updates, work
                )
            except StoreError as error:
                self._fail(adds, operations, len(updates), error)
                continue
            except Exception as error:  # a bug: fail the callers rather than leave them waiting
                log.exception("the task store failed", extra={"action": "store"})
                self._fail(adds, operations, len(updates), StoreError(f"{self.path}: {error}"))
                continue
            for tasks, added in adds:
                if not added.done():
                    added.set_result([kept.get(task.id, task) for task in tasks])
            for (_, future), result in zip(operations, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def _fail(
        self,
        adds: list[tuple[Sequence[Task], asyncio.Future[list[Task]]]],
        operations: list[tuple[Operation, asyncio.Future[Any]]],
        updates: int,
        error: StoreError,
    ) -> None:
        if updates:
            log.error("lost %d task updates: %s", updates, error, extra={"action": "store"})
        for future in [*(added for _, added in adds), *(done for _, done in operations)]:
            if not future.done():
                future.set_exception(error)

    def _take_updates(self, intake_only: bool) -> list[Update]:
        """The recorded states to write now: at once, unless intake alone is waiting."""
        if not self._recorded:
            return []
        if intake_only and time.monotonic() - self._recorded_since < RECORD_DELAY:
            return []
        recorded, self._recorded = self._recorded, {}
        return [_state(task) for task in recorded.values()]

    def _transaction(
        self, new: list[Task], updates: list[Update], operations: list[Operation]
    ) -> tuple[dict[str, Task], list[Any]]:
        """One transaction: new tasks, recorded states, then the other operations in order.

        Returns the stored task for each new one whose idempotency key was taken, and each
        operation's result.
        """
        connection = self._connection
        if connection is None:
            raise StoreError("the SQLite store is not open")
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                kept = _insert(connection, new, self.owner) if new else {}
                if updates:
                    connection.executemany(QUERIES["update"], updates)
                results = [operation(connection) for operation in operations]
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: {error}") from error
        self.commits += 1
        return kept, results

    def _connect(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            connection = self._open_connection()
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
            connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            connection.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_CHECKPOINT_PAGES}")
            migrate(connection)
            self._connection = connection
            self._checkpoint_connection = self._open_connection()
            self._transaction([], [], [self._forget_dead_owners, self._renew])
        except (sqlite3.Error, OSError) as error:
            raise StoreError(f"cannot open the task database {self.path}: {error}") from error

    def _open_connection(self) -> sqlite3.Connection:
        connection = sqlite3.connect(
            self.path,
            isolation_level=None,
            check_same_thread=False,
            timeout=BUSY_TIMEOUT_MS / 1000,
        )
        connection.row_factory = sqlite3.Row
        connection.execute("PRAGMA synchronous = FULL")
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return connection

    def _close_checkpoints(self) -> None:
        if self._checkpoint_connection is not None:
            self._checkpoint_connection.close()
            self._checkpoint_connection = None

    def _disconnect(self) -> None:
        if self._connection is None:
            return
        try:
            self._transaction([], [], [lambda c: c.execute(QUERIES["drop_owner"], (self.owner,))])
        finally:
            self._connection.close()
            self._connection = None

    def _renew(self, connection: sqlite3.Connection) -> None:
        lease = (self.owner, self._host, os.getpid(), time.time() + self._lease)
        connection.execute(QUERIES["renew_lease"], lease)

    def _forget_dead_owners(self, connection: sqlite3.Connection) -> None:
        """Owners on this host whose process is gone hold nothing: free their tasks now."""
        rows = connection.execute(QUERIES["select_owners_on_host"], (self._host, self.owner))
        for owner, pid in rows.fetchall():
            if not _process_alive(pid):
                connection.execute(QUERIES["drop_owner"], (owner,))


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


def _insert(connection: sqlite3.Connection, tasks: list[Task], owner: str) -> dict[str, Task]:
    """Insert new tasks, learning each one's `seq` (its rowid), which later updates go by.

    Returns, by new task id, the task already stored under the same idempotency key.
    """
    plain = [task for task in tasks if task.idempotency_key is None]
    if plain:
        before = connection.execute(QUERIES["max_seq"]).fetchone()[0]
        connection.executemany(QUERIES["insert"], [_row(task, owner) for task in plain])
        after = connection.execute(QUERIES["max_seq"]).fetchone()[0]
        # Under the write lock SQLite numbers new rows max(rowid) + 1, + 2, ...
        if after - before == len(plain):
            for number, task in enumerate(plain, start=before + 1):
                task.seq = number
        else:
            for task in plain:
                row = connection.execute(QUERIES["select_by_id"], (task.id,)).fetchone()
                task.seq = row["seq"]
    kept = {}
    for task in tasks:
        if task.idempotency_key is not None:
            connection.execute(QUERIES["insert"], _row(task, owner))
            row = connection.execute(QUERIES["select_by_key"], (task.idempotency_key,)).fetchone()
            if row["id"] == task.id:
                task.seq = row["seq"]
            else:
                kept[task.id] = _task(row)
    return kept


def _row(task: Task, owner: str) -> tuple[Any, ...]:
    return (
        task.id,
        task.type,
        jsoncodec.dumps(task.payload),
        task.priority,
        task.max_attempts,
        task.run_at,
        task.created_at,
        task.idempotency_key,
        owner,
    )


def _state(task: Task) -> Update:
    result = None if task.result is None else jsoncodec.dumps(task.result)
    return (
        task.status,
        task.attempts,
        task.run_at,
        result,
        task.error,
        task.started_at,
        task.finished_at,
        task.seq,
    )


def _task(row: sqlite3.Row) -> Task:
    result = row["result"]
    return Task(
        type=row["type"],
        payload=jsoncodec.loads(row["payload"]),
        id=row["id"],
        priority=row["priority"],
        max_attempts=row["max_attempts"],
        run_at=row["run_at"],
        status=row["status"],
        attempts=row["attempts"],
        result=None if result is None else jsoncodec.loads(result),
        error=row["error"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        idempotency_key=row["idempotency_key"],
        seq=row["seq"],
    )


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
