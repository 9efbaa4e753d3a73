"""A small HTTP client for setting up a benchmark: POST many JSON bodies, a few at a time."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

import httpx

from . import loop


def post_all(
    url: str,
    bodies: Sequence[Any],
    concurrency: int = 8,
    params: Mapping[str, str] | None = None,
) -> int:
    """POST each JSON body to `url`, `concurrency` requests at a time; raise on any non-2xx."""
    return loop.run(_post_all(url, bodies, concurrency, dict(params or {})))


async def _post_all(
    url: str, bodies: Sequence[Any], concurrency: int, params: dict[str, str]
) -> int:
    pending = iter(bodies)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def post_next() -> int:
            sent = 0
            for body in pending:
                response = await client.post(url, json=body, params=params)
                response.raise_for_status()
                sent += 1
            return sent

        counts = await asyncio.gather(*(post_next() for _ in range(concurrency)))
    return sum(counts)
