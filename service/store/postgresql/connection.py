"""The PostgreSQL connector: connections, the errors they raise, and getting them back.

It only runs SQL; what the SQL means is the store's. One *writer* connection runs every
transaction of the group commit, one at a time; once lost, the next transaction opens a
new one. Reads and upkeep take a connection from a small pool. Every query has COMMAND_TIMEOUT, so
that a stalled server fails the call instead of hanging it.

Errors: a failure to connect at start-up is a ConfigError (wrong password, unknown host or
database) or a StoreError (the server is down), in one line that never holds the
password. Later, an error of the connection or of the whole server (`is_global`) comes
out as StoreError; an error of the statement (a bad row) comes out as asyncpg raised it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from typing import Any, TypeAlias, TypeVar
from urllib.parse import parse_qs, quote, unquote, urlsplit

import asyncpg
import asyncpg.exceptions as pg

from ...errors import ConfigError, StoreError

T = TypeVar("T")
Connection: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)
Body = Callable[[Connection], Awaitable[T]]

CONNECT_TIMEOUT = 5.0
COMMAND_TIMEOUT = 5.0
CLOSE_TIMEOUT = 2.0
READERS = 4

# The connection, or the whole server, failed: the same statement would fail for any row.
GLOBAL_ERRORS: tuple[type[BaseException], ...] = (
    StoreError,
    OSError,
    TimeoutError,
    pg.PostgresConnectionError,  # class 08, and the connection was closed under us
    pg.OperatorInterventionError,  # class 57: shutdown, terminated, cannot connect now
    pg.InsufficientResourcesError,  # class 53: disk full, out of memory, too many clients
    pg.PostgresSystemError,  # class 58: I/O error
    pg.InternalServerError,  # class XX
    pg.TransactionRollbackError,  # class 40: deadlock, serialization: try again later
    pg.ReadOnlySQLTransactionError,  # a standby, e.g. after a fail-over
    pg.InvalidCachedStatementError,  # another process migrated the schema: asyncpg re-prepares
    pg.OutdatedSchemaCacheError,
)
# Whoever set SERVICE_STORE must change it: starting again will not help.
CONFIG_ERRORS: tuple[type[BaseException], ...] = (
    socket.gaierror,
    pg.InvalidAuthorizationSpecificationError,  # wrong password, unknown role
    pg.InvalidCatalogNameError,  # no such database
    pg.InsufficientPrivilegeError,
    pg.SyntaxOrAccessError,  # an unknown option in the URL
    pg.ClientConfigurationError,
    ValueError,
)


def is_global(error: BaseException) -> bool:
    """True when the database cannot write at all now, not because of one row."""
    return isinstance(error, GLOBAL_ERRORS)


def where(url: str) -> str:
    """`host:port/dbname` of a URL, without the user and password."""
    parts = urlsplit(url)
    hosts = parts.netloc.rpartition("@")[2] or "localhost"
    return f"{unquote(hosts)}/{unquote(parts.path.lstrip('/'))}"


class Connector:
    def __init__(self, url: str, *, session_state: bool) -> None:
        self.url = url
        self.name = f"PostgreSQL at {where(url)}"
        self.commits = 0
        self._password = unquote(urlsplit(url).password or "")
        self._session_state = session_state
        self._opened = False
        self._writer: Connection | None = None
        self._pool: asyncpg.Pool[asyncpg.Record] | None = None

    async def open(self, setup: Body[Any]) -> None:
        """Connect the writer, run `setup` on it (outside a transaction), open the pool."""
        self._opened = True
        try:
            self._writer = await self.connect("writer")
            await setup(self._writer)
            self._pool = await asyncpg.create_pool(
                self.url, min_size=0, max_size=READERS, **self._options("reader")
            )
        except (StoreError, ConfigError):
            await self.close()
            raise
        except Exception as error:
            await self.close()
            raise StoreError(f"cannot open the task database: {self._explain(error)}") from None

    async def connect(self, role: str) -> Connection:
        """A new connection; a failure raises ConfigError or StoreError in one line."""
        try:
            connection: asyncpg.Connection[asyncpg.Record]
            connection = await asyncpg.connect(self.url, **self._options(role))
        except Exception as error:
            kind = ConfigError if isinstance(error, CONFIG_ERRORS) else StoreError
            raise kind(f"cannot connect to {self._explain(error)}") from None
        return connection

    async def run(self, body: Body[T]) -> T:
        """`body` in one transaction on the writer, reconnected first if it was lost.

        Raises StoreError when the connection or the server failed, else asyncpg's error.
        """
        if not self._opened:
            raise StoreError(f"{self.name}: the task database is not open")
        connection = self._writer
        if connection is None or connection.is_closed():
            self._writer = None
            connection = self._writer = await self._reconnect()
        try:
            await connection.execute("BEGIN")
            result = await body(connection)
            await connection.execute("COMMIT")
        except Exception as error:
            if is_global(error) or connection.is_closed():
                self._drop_writer()
                raise StoreError(self._explain(error)) from error
            await self._roll_back(connection, error)
            raise
        except BaseException:
            self._drop_writer()  # cancelled mid-statement: its state is unknown
            raise
        self.commits += 1
        return result

    async def pooled(self, body: Body[T]) -> T:
        """`body` on a pooled connection, beside the writer: reads, and upkeep that must
        not hold up the group commit. Once more on another connection if that one had been
        lost; raises StoreError."""
        if self._pool is None:
            raise StoreError(f"{self.name}: the task database is not open")
        for attempt in (1, 2):
            try:
                async with self._pool.acquire(timeout=CONNECT_TIMEOUT) as connection:
                    return await body(connection)
            except Exception as error:
                stale = isinstance(error, pg.PostgresConnectionError | pg.InterfaceError)
                if attempt == 1 and stale:
                    continue
                raise StoreError(self._explain(error)) from error
        raise AssertionError("unreachable")

    async def close(self) -> None:
        """Disconnect everything; waits at most CLOSE_TIMEOUT for a polite goodbye."""
        self._opened = False
        writer, self._writer = self._writer, None
        pool, self._pool = self._pool, None
        if writer is not None:
            await close_connection(writer)
        if pool is not None:
            try:
                await asyncio.wait_for(pool.close(), CLOSE_TIMEOUT)
            except Exception:
                pool.terminate()

    async def _reconnect(self) -> Connection:
        try:
            return await self.connect("writer")
        except ConfigError as error:  # e.g. the password was changed: still an outage here
            raise StoreError(str(error)) from None

    async def _roll_back(self, connection: Connection, error: Exception) -> None:
        try:
            await connection.execute("ROLLBACK")
        except Exception as failure:
            self._drop_writer()
            raise StoreError(self._explain(failure)) from error

    def _drop_writer(self) -> None:
        if self._writer is not None:
            self._writer.terminate()
            self._writer = None

    def _options(self, role: str) -> dict[str, Any]:
        settings: dict[str, str] = {}
        if "application_name" not in parse_qs(urlsplit(self.url).query):
            settings["application_name"] = f"service {role}"
        options: dict[str, Any] = {
            "timeout": CONNECT_TIMEOUT,
            "command_timeout": COMMAND_TIMEOUT,
            "server_settings": settings,
        }
        if not self._session_state:  # PgBouncer in transaction mode: no prepared statements
            options["statement_cache_size"] = 0
        return options

    def _explain(self, error: BaseException) -> str:
        """`PostgreSQL at host:port/db: reason`, in one line, without the password."""
        if isinstance(error, socket.gaierror):
            reason = f"unknown host ({error.strerror})"
        elif isinstance(error, ConnectionRefusedError):
            reason = "connection refused: is the server running?"
        elif isinstance(error, TimeoutError):
            reason = f"no answer within {COMMAND_TIMEOUT:g} s"
        else:
            reason = str(error) or type(error).__name__
        return f"{self.name}: {self._redact(' '.join(reason.split()))}"

    def _redact(self, text: str) -> str:
        """`text` without the password, should a driver's message ever quote the URL."""
        password = self._password
        if not password:
            return text
        text = text.replace(f":{password}@", ":***@").replace(f":{quote(password)}@", ":***@")
        return text.replace(password, "***") if len(password) >= 8 else text


async def close_connection(connection: Connection) -> None:
    try:
        await connection.close(timeout=CLOSE_TIMEOUT)
    except Exception:
        connection.terminate()
