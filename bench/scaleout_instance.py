"""One instance of the scale-out drain, in a process of its own.

Run as `python -m bench.scaleout_instance STORE_URL TASKS BATCH CONCURRENCY`.

The parent talks over stdin and stdout, one line each way: this process starts a
TaskService on the store and prints `ready`; on `go` it submits its TASKS no-op tasks in
batches of BATCH (no HTTP) while its workers run, waits until the store counts no
unfinished task (every instance's, not only its own), and prints one JSON line: the wall
time it saw that, how long its submits took and what its workers did. When its stdin
closes, it stops the service and exits.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

from service.core import TaskService
from service.options import Options
from service.settings import Settings

from . import loop

LOCAL_POLL = 0.001
STORE_POLL = 0.005
TIMEOUT = 300.0


async def _line() -> str:
    return (await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)).strip()


def _say(message: str) -> None:
    print(message, flush=True)


async def main(url: str, tasks: int, batch: int, concurrency: int) -> None:
    settings = Settings(
        store=url,
        queue_maxsize=2 * tasks + concurrency + 1,
        concurrency=concurrency,
        default_type="dummy",
    )
    service = TaskService(settings)
    await service.start()
    try:
        batches = [[{"foo": "bar"}] * min(batch, tasks - at) for at in range(0, tasks, batch)]
        _say("ready")
        if await _line() != "go":
            return
        began = time.perf_counter()
        for payloads in batches:
            await service.submit(Options(type="dummy"), payloads)
        submitted = time.perf_counter() - began
        await _until_all_done(service)
        done_at = time.time()
        counts = service.pool.counts
        result = {"done_at": done_at, "submit_seconds": submitted, "done": counts.done}
        _say(json.dumps(result | {"failed": counts.failed, "commits": _commits(service)}))
        await _line()
    finally:
        await service.stop()


async def _until_all_done(service: TaskService) -> None:
    """Until the store has no queued or running task. The store is asked only while this
    instance is idle (nothing held, the last claim came back short): a query every
    millisecond would load the database it measures."""
    pool = service.pool
    deadline = time.monotonic() + TIMEOUT
    while True:
        if time.monotonic() > deadline:
            raise TimeoutError(f"tasks still unfinished after {TIMEOUT:g} s")
        if pool.held or not pool.dispatcher.empty:
            await asyncio.sleep(LOCAL_POLL)
        elif await service.store.count_unfinished():
            await asyncio.sleep(STORE_POLL)
        else:
            return


def _commits(service: TaskService) -> int | None:
    commits = getattr(service.store, "commits", None)
    return commits if isinstance(commits, int) else None


if __name__ == "__main__":
    url, tasks, batch, concurrency = sys.argv[1], *map(int, sys.argv[2:5])
    loop.run(main(url, tasks, batch, concurrency))
