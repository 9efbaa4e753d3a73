"""The processes sharing the file: each is an owner with a lease on the host's clock."""

from __future__ import annotations

import os
import sqlite3
import time

from .rows import QUERIES


def register(
    connection: sqlite3.Connection, owner: str, host: str, lease: float, concurrency: int
) -> None:
    now = time.time()
    connection.execute(
        QUERIES["register"], (owner, host, os.getpid(), now + lease, now, concurrency)
    )


def renew(connection: sqlite3.Connection, owner: str, now: float, lease: float) -> bool:
    """Extend the owner's lease if it is still live; False if it had run out."""
    renewed = connection.execute(QUERIES["renew_lease"], (now + lease, owner, now))
    return renewed.rowcount == 1


def forget_dead(connection: sqlite3.Connection, host: str, keep: str) -> None:
    """Owners on this host whose process is gone hold nothing: free their tasks now."""
    found = connection.execute(QUERIES["select_owners_on_host"], (host, keep))
    for owner, pid in found.fetchall():
        if not _process_alive(pid):
            connection.execute(QUERIES["drop_owner"], (owner,))


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
