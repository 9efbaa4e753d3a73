"""The framework's share of intake: one Quart route that queues the body, answers 202."""

from __future__ import annotations

import asyncio

from quart import Quart, request

app = Quart(__name__)
QUEUE: asyncio.Queue[bytes] = asyncio.Queue()


@app.post("/task")
async def post_task() -> tuple[dict[str, str], int]:
    QUEUE.put_nowait(await request.get_data(False, False, False))
    return {"success": "OK"}, 202


@app.before_serving
async def start_consumer() -> None:
    app.extensions["consumer"] = asyncio.create_task(consume())


async def consume() -> None:
    """Take the bodies off the queue so that it stays short, as a worker would."""
    while True:
        await QUEUE.get()
        QUEUE.task_done()
