"""A throwaway PostgreSQL cluster for the tests, run from the Debian server binaries.

The cluster lives in a fresh temporary directory, listens on 127.0.0.1 on a free port and on a
unix socket in that directory, and is driven only through its own binaries (initdb, pg_ctl,
pg_isready, psql): no Python driver is needed. initdb refuses to run as root, so as root the
server runs as the ``postgres`` user, in a directory that user owns.

Roles: ``service`` (password ``service``, no superuser) owns the databases made here;
``postgres`` (password ``postgres``) is the superuser, reached over the socket for admin SQL.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Literal

from tests.e2e.server import free_port
from tests.postgres_binaries import (
    SUPERUSER,
    ClusterError,
    clean_env,
    find_bindir,
    postgres_user,
)

__all__ = ["SERVICE_ROLE", "Cluster", "ClusterError", "StopMode", "free_port"]

StopMode = Literal["smart", "fast", "immediate"]

SERVICE_ROLE = "service"
FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


class Cluster:
    """One PostgreSQL server in its own temporary directory.

    ``with Cluster(fast=True) as cluster:`` starts it and removes it on exit.
    """

    def __init__(
        self,
        *,
        fast: bool = False,
        bindir: Path | None = None,
        max_connections: int = 200,
        start_timeout: float = 60,
    ) -> None:
        self.fast = fast
        self.bindir = bindir or find_bindir()
        self.max_connections = max_connections
        self.start_timeout = start_timeout
        self.as_root = os.geteuid() == 0
        self.port = free_port()
        owner = postgres_user() if self.as_root else None
        self.directory = Path(tempfile.mkdtemp(prefix="pgcluster-", dir=self._parent_dir()))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.running = False
        self._initialised = False
        self._roles_made = False
        if owner is not None:
            os.chown(self.directory, owner.pw_uid, owner.pw_gid)

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<Cluster {self.directory} port={self.port} {state} fast={self.fast}>"

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.cleanup()

    def url(self, dbname: str = "postgres") -> str:
        """A URL for the ``service`` role, over TCP with its password."""
        return f"postgresql://{SERVICE_ROLE}:{SERVICE_ROLE}@127.0.0.1:{self.port}/{dbname}"

    def admin_url(self, dbname: str = "postgres") -> str:
        """A URL for the ``postgres`` superuser, over TCP with its password."""
        return f"postgresql://{SUPERUSER}:{SUPERUSER}@127.0.0.1:{self.port}/{dbname}"

    def start(self) -> None:
        """Start the server (initdb on first start) and wait until it accepts connections."""
        if self.running:
            return
        if not self._initialised:
            self._initdb()
        atexit.unregister(self.cleanup)
        atexit.register(self.cleanup)
        for attempt in range(3):
            try:
                self._pg_ctl_start()
                break
            except ClusterError:
                # Another process may have taken the free port between the probe and the bind.
                if attempt == 2 or "could not bind" not in self.log_tail():
                    raise
                self.port = free_port()
        self._wait_ready()
        self.running = True
        if not self._roles_made:
            self._make_roles()

    def stop(self, mode: StopMode = "fast") -> None:
        if not self.running:
            return
        self._run_server_tool(
            "pg_ctl",
            *("-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"),
            action="stop",
        )
        self.running = False

    def restart(self, mode: StopMode = "fast") -> None:
        self.stop(mode)
        self.start()

    def cleanup(self) -> None:
        """Stop the server if it runs and remove its directory; safe to call twice."""
        atexit.unregister(self.cleanup)
        try:
            if (self.data / "postmaster.pid").exists():
                self.running = True
                self.stop("immediate")
        finally:
            self.running = False
            shutil.rmtree(self.directory, ignore_errors=True)

    def admin_sql(self, sql: str, dbname: str = "postgres") -> str:
        """Run ``sql`` as the superuser through psql; the unaligned rows, one a line."""
        command = [
            str(self.bindir / "psql"),
            *("-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1"),
            *("-h", str(self.directory), "-p", str(self.port), "-U", SUPERUSER, "-d", dbname),
            *("-f", "-"),
        ]
        done = subprocess.run(
            command, input=sql, capture_output=True, text=True, env=clean_env(), timeout=120
        )
        if done.returncode != 0:
            raise ClusterError(f"psql failed ({done.returncode}) on {sql!r}: {done.stderr.strip()}")
        return done.stdout.strip()

    def create_database(
        self, name: str, template: str | None = None, owner: str = SERVICE_ROLE
    ) -> None:
        sql = f"CREATE DATABASE {quote_ident(name)} OWNER {quote_ident(owner)}"
        if template is not None:
            sql += f" TEMPLATE {quote_ident(template)}"
        self.admin_sql(sql)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, terminating whatever is still connected to it."""
        self.admin_sql(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")

    def terminate(
        self,
        dbname: str,
        *,
        query_like: str | None = None,
        application_name: str | None = None,
        pids: Sequence[int] = (),
    ) -> list[int]:
        """Terminate the backends on ``dbname`` (filtered by query LIKE, name or pid).

        Waits up to 5 s for each to exit; returns the pids that were terminated.
        """
        where = [
            f"datname = {quote_literal(dbname)}",
            "backend_type = 'client backend'",
            "pid <> pg_backend_pid()",
        ]
        if query_like is not None:
            where.append(f"query LIKE {quote_literal(query_like)}")
        if application_name is not None:
            where.append(f"application_name = {quote_literal(application_name)}")
        if pids:
            where.append(f"pid IN ({', '.join(str(int(pid)) for pid in pids)})")
        # The fence keeps the planner from calling pg_terminate_backend before the filters.
        out = self.admin_sql(
            "WITH victims AS MATERIALIZED"
            f" (SELECT pid FROM pg_stat_activity WHERE {' AND '.join(where)})"
            " SELECT pid FROM victims WHERE pg_terminate_backend(pid, 5000)"
        )
        return [int(line) for line in out.splitlines() if line]

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return "(no server log)"
        return "\n".join(text.splitlines()[-lines:])

    def _initdb(self) -> None:
        self._run_server_tool(
            "initdb",
            *("-D", str(self.data), "-U", SUPERUSER, "-E", "UTF8", "--locale=C"),
            *("--auth-local=trust", "--auth-host=scram-sha-256"),
            action="initdb",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": quote_literal(str(self.directory)),
            "max_connections": str(self.max_connections),
            "logging_collector": "off",
        }
        if self.fast:
            settings |= FAST_SETTINGS
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write("\n# tests/postgres.py\n")
            conf.writelines(f"{key} = {value}\n" for key, value in settings.items())
        self._initialised = True

    def _make_roles(self) -> None:
        self.admin_sql(
            f"ALTER ROLE {SUPERUSER} PASSWORD {quote_literal(SUPERUSER)};\n"
            f"CREATE ROLE {SERVICE_ROLE} LOGIN PASSWORD {quote_literal(SERVICE_ROLE)};\n"
        )
        self._roles_made = True

    def _pg_ctl_start(self) -> None:
        self._run_server_tool(
            "pg_ctl",
            *("-D", str(self.data), "-l", str(self.log), "-o", f"-p {self.port}"),
            *("-w", "-t", str(round(self.start_timeout)), "start"),
            action="start",
        )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        command = [
            str(self.bindir / "pg_isready"),
            *("-q", "-h", "127.0.0.1", "-p", str(self.port), "-d", "postgres", "-t", "2"),
        ]
        while True:
            probe = subprocess.run(command, capture_output=True, env=clean_env())
            if probe.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"PostgreSQL on port {self.port} did not accept connections within "
                    f"{self.start_timeout:g} s; server log:\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def _run_server_tool(self, tool: str, *args: str, action: str) -> None:
        command = [str(self.bindir / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", SUPERUSER, "--", *command]
        done = subprocess.run(
            command,
            cwd=self.directory,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            env=clean_env(),
            timeout=self.start_timeout + 30,
        )
        if done.returncode != 0:
            raise ClusterError(
                f"{action} failed ({done.returncode}): {done.stderr.strip() or done.stdout.strip()}"
                f"\nserver log:\n{self.log_tail()}"
            )

    def _parent_dir(self) -> str | None:
        # As root, the directory must be reachable by the postgres user: TMPDIR may not be.
        return "/tmp" if self.as_root else None
