"""The SQLite connector: one thread owns the connection and runs each transaction.

It only runs SQL; what the SQL means is the store's. Another thread, with a connection of
its own, folds the WAL into the file so that commits never wait for a checkpoint.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

from ...errors import ConfigError, StoreError
from .schema import migrate

T = TypeVar("T")
Body = Callable[[sqlite3.Connection], T]

BUSY_TIMEOUT_MS = 5000
CACHE_KIB = 64 * 1024  # the page cache: indexes stay in memory as the table grows
# The WAL is folded into the file by a passive checkpoint every second on a thread of its
# own, so that commits never wait for it; the writer checkpoints only if that falls behind.
FALLBACK_CHECKPOINT_PAGES = 100_000

# Errors of one row or one statement; every other database error concerns the whole file.
ROW_ERRORS = (
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    sqlite3.ProgrammingError,
    sqlite3.DataError,
)


def database_path(url: str) -> Path:
    """`sqlite:///relative.db` or `sqlite:////absolute/path.db`."""
    path = url.removeprefix("sqlite:///")
    if not url.startswith("sqlite:///") or not path:
        raise ConfigError(
            f"SERVICE_STORE={url!r}: write sqlite:///relative/file.db or sqlite:////absolute.db"
        )
    return Path(path)


def is_global(error: BaseException) -> bool:
    """True when the whole database cannot write (locked, full, I/O, gone), not one row."""
    if isinstance(error, ROW_ERRORS):
        return False
    return isinstance(error, sqlite3.Error | OSError | StoreError)


class Connector:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.commits = 0
        self.broken: str | None = None
        """Why every write fails from now on: the file was deleted or replaced."""
        self._absolute = path
        self._identity: tuple[int, int] | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._checkpointer: ThreadPoolExecutor | None = None
        self._connection: sqlite3.Connection | None = None
        self._synced = True
        self._checkpoint_connection: sqlite3.Connection | None = None

    async def open(self, setup: Body[Any]) -> None:
        """Connect, migrate, then run `setup` in a first transaction."""
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="sqlite-store")
        self._checkpointer = ThreadPoolExecutor(1, thread_name_prefix="sqlite-checkpoint")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._connect, setup)

    async def run(self, body: Body[T], *, synced: bool = True) -> T:
        """`body` in one write transaction on the connector's thread.

        Raises the driver's own errors, for the caller to tell a row's from the file's.
        """
        if self._executor is None:
            raise StoreError(f"{self.path}: the task database is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._transaction, body, synced)

    async def read(self, body: Body[T]) -> T:
        """`body` in one read transaction beside the writer, on the checkpoints' connection:
        a long read (a count over every finished task) holds up no commit."""
        if self._checkpointer is None:
            raise StoreError(f"{self.path}: the task database is not open")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._checkpointer, self._read, body)

    async def checkpoint(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._checkpointer, self._checkpoint)

    async def close(self, last: Body[Any]) -> None:
        """Run `last` in a final transaction, then disconnect, even if `last` failed."""
        if self._executor is None:
            return
        loop = asyncio.get_running_loop()
        if self._checkpointer is not None:
            # Queued behind any checkpoint still running on that thread.
            await loop.run_in_executor(self._checkpointer, self._close_checkpoints)
            self._checkpointer.shutdown()
            self._checkpointer = None
        try:
            await loop.run_in_executor(self._executor, self._disconnect, last)
        finally:
            self._executor.shutdown()
            self._executor = None

    def _transaction(self, body: Body[T], synced: bool = True) -> T:
        if self.broken is not None:
            raise StoreError(self.broken)
        connection = self._connection
        if connection is None:
            raise StoreError(f"{self.path}: the task database is not open")
        if synced != self._synced:
            connection.execute(f"PRAGMA synchronous = {'FULL' if synced else 'NORMAL'}")
            self._synced = synced
        connection.execute("BEGIN IMMEDIATE")
        try:
            result = body(connection)
            self._check_file()
            connection.execute("COMMIT")
        except BaseException:
            if connection.in_transaction:
                with suppress(sqlite3.Error):
                    connection.execute("ROLLBACK")
            raise
        self.commits += 1
        return result

    def _connect(self, setup: Body[Any]) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._absolute = self.path.absolute()  # as SQLite opens it, whatever cwd is later
            connection = self._open_connection()
            self._connection = connection
            mode = connection.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode != "wal":
                raise StoreError(f"{self.path}: cannot use WAL journal mode (got {mode!r})")
            connection.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
            connection.execute(f"PRAGMA wal_autocheckpoint = {FALLBACK_CHECKPOINT_PAGES}")
            migrate(connection)
            self._identity = _identity(self._absolute)
            self._checkpoint_connection = self._open_connection()
            self._transaction(setup)
        except (sqlite3.Error, OSError) as error:
            self._close_connections()
            raise StoreError(f"cannot open the task database {self.path}: {error}") from error
        except BaseException:
            self._close_connections()
            raise

    def _check_file(self) -> None:
        """Refuse to commit into a file that no longer has the name it was opened by.

        A commit there would acknowledge tasks that no one will ever read.
        """
        try:
            same = _identity(self._absolute) == self._identity
        except FileNotFoundError:
            same = False
        if not same:
            self.broken = (
                f"the task database {self._absolute} was deleted or replaced while the "
                "service ran; restart the service"
            )
            raise StoreError(self.broken)

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

    def _read(self, body: Body[T]) -> T:
        connection = self._checkpoint_connection
        if connection is None:
            raise StoreError(f"{self.path}: the task database is not open")
        try:
            connection.execute("BEGIN")
            try:
                return body(connection)
            finally:
                connection.execute("COMMIT")
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: {error}") from error

    def _checkpoint(self) -> None:
        if self._checkpoint_connection is None:
            return
        try:
            self._checkpoint_connection.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: checkpoint failed: {error}") from error

    def _close_checkpoints(self) -> None:
        if self._checkpoint_connection is not None:
            self._checkpoint_connection.close()
            self._checkpoint_connection = None

    def _disconnect(self, last: Body[Any]) -> None:
        if self._connection is None:
            return
        try:
            self._transaction(last)
        except sqlite3.Error as error:
            raise StoreError(f"{self.path}: {error}") from error
        finally:
            self._close_connections()

    def _close_connections(self) -> None:
        self._close_checkpoints()
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _identity(path: Path) -> tuple[int, int]:
    found = os.stat(path)
    return found.st_dev, found.st_ino
