"""The claim: due queued tasks become this process's running attempts, under its lease."""

from __future__ import annotations

import sqlite3
import time

from ..base import Claimed
from . import owners, rows
from .rows import QUERIES


def claim(
    connection: sqlite3.Connection,
    owner: str,
    limit: int,
    lease: float,
    only: str | None = None,
    skip: frozenset[str] = frozenset(),
) -> Claimed:
    """Start up to `limit` due tasks (of type `only`, or of any type but `skip`) under the
    owner's lease, renewed; none once it ran out."""
    now = time.time()
    if limit <= 0 or not owners.renew(connection, owner, now, lease):
        return Claimed()
    connection.execute(QUERIES["promote"], {"now": now})
    query, parameters = rows.claim_query(owner, limit, only, skip)
    found = connection.execute(query, {**parameters, "now": now}).fetchall()
    found.sort(key=lambda row: (-row["priority"], row["seq"]))
    next_due = None
    if len(found) < limit:
        due = connection.execute(QUERIES["next_due"], (now,)).fetchone()[0]
        next_due = None if due is None else max(due - now, 0.0)
    return Claimed([rows.to_task(row) for row in found], next_due)
