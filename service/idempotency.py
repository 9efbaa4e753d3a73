"""Idempotency keys: one task per (type, key), and a reused key told from a repeated request.

A key is looked up before anything else is checked, so that a repeat is answered even when
the queue is full. Requests with the same key take turns in this process (`KeyTurns`), so
that concurrent repeats hold one queue slot, not one each; across processes the store's
unique index settles the race. The fingerprint sums up the request (payload and options);
the same key with another fingerprint is a client bug, refused rather than answered with a
task that is not the one it asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson

from .errors import RequestError
from .options import Options
from .task import Task


def fingerprint(options: Options, payload: Any) -> str:
    request = [payload, options.priority, options.delay, options.max_attempts]
    try:
        canonical = orjson.dumps(request, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # integers wider than 64 bits
        canonical = json.dumps(request, sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(canonical).hexdigest()[:32]


def check_same_request(stored: Task, new_fingerprint: str) -> None:
    """Refuse a key reused for another request (tasks stored before fingerprints match)."""
    if stored.fingerprint is not None and stored.fingerprint != new_fingerprint:
        raise RequestError(
            422,
            "idempotency_key_reused",
            f"the Idempotency-Key {stored.idempotency_key!r} was used for another request "
            f"(task {stored.id}); use a new key for a new task",
        )


class KeyTurns:
    """One request at a time per (type, key) in this process."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def turn(self, type: str, key: str) -> AsyncIterator[None]:
        name = (type, key)
        lock, users = self._locks.get(name, (asyncio.Lock(), 0))
        self._locks[name] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[name]
            if users == 1:
                del self._locks[name]
            else:
                self._locks[name] = (lock, users - 1)
