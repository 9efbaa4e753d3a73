"""Peers: the same no-op workload through SAQ and arq on a local Redis, beside ours.

Every contender runs in this process on uvloop with 8 concurrent workers: the workers start,
the clock starts, N jobs are enqueued in chunks of 1000 (each chunk concurrently, which is
how these libraries enqueue fastest), and the clock stops when the N-th job has run.
Ours is submitted the same way through `TaskService.submit` (no HTTP), with either store.
SAQ and arq count a job when its function has run, before they record its result: that
favours them slightly. arq polls Redis every `poll_delay` (0.5 s by default, which caps it
near 200 jobs/s here); it gets 10 ms. Redis runs without persistence (`--save ''
--appendonly no`).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import redis.asyncio
from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker as ArqWorker
from arq.worker import func
from saq import Queue
from saq import Worker as SaqWorker

from . import drain, loop, servers
from .config import Config
from .drain import DrainResult
from .report import Row, median, rate, rates, ratio_row
from .rounds import alternate

GROUP = "Peers, in-process enqueue to done"
TIMEOUT = 300.0
CHUNK = 1000
ARQ_POLL_DELAY = 0.01


class Countdown:
    """Counts distinct finished jobs, and repeated runs; `finished` is set at the last one."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.seen: set[str] = set()
        self.repeated = 0
        self.finished = asyncio.Event()

    async def job(self, ctx: Any) -> None:
        key = ctx["job_id"] if "job_id" in ctx else ctx["job"].key  # arq, SAQ
        if key in self.seen:
            self.repeated += 1
            return
        self.seen.add(key)
        if len(self.seen) == self.total:
            self.finished.set()


async def _timed(
    tasks: int, enqueue: Callable[[], Awaitable[Any]], countdown: Countdown
) -> DrainResult:
    began = time.perf_counter()
    for start in range(0, tasks, CHUNK):
        await asyncio.gather(*(enqueue() for _ in range(min(CHUNK, tasks - start))))
    intake_end = time.perf_counter()
    failure = ""
    try:
        await asyncio.wait_for(countdown.finished.wait(), TIMEOUT)
    except TimeoutError:
        failure = f"{len(countdown.seen)} of {tasks} jobs ran within {TIMEOUT:g} s"
    finished = time.perf_counter()
    done = len(countdown.seen)
    return DrainResult(
        tasks, done, intake_end - began, finished - began, countdown.repeated, failure
    )


def _guarded(tasks: int, measure: Callable[[], DrainResult]) -> DrainResult:
    """A peer that fails counts as a round it did not finish; the other rows go on."""
    try:
        return measure()
    except Exception as error:
        return DrainResult(tasks, 0, 0.0, 0.0, failure=f"{type(error).__name__}: {error}")


async def _flush(url: str) -> None:
    client = redis.asyncio.Redis.from_url(url)
    try:
        await client.flushall()
    finally:
        await client.aclose()


async def run_saq(url: str, tasks: int, concurrency: int) -> DrainResult:
    await _flush(url)
    logging.getLogger("saq").setLevel(logging.ERROR)  # its stop warns of idle dequeues
    countdown = Countdown(tasks)
    queue = Queue.from_url(url, name=f"bench-{uuid.uuid4().hex}")
    worker = SaqWorker(queue, functions=[("noop", countdown.job)], concurrency=concurrency)
    running = asyncio.create_task(worker.start())
    try:
        return await _timed(tasks, partial(queue.enqueue, "noop"), countdown)
    finally:
        await worker.stop()
        await running
        await queue.disconnect()


async def run_arq(host: str, port: int, tasks: int, concurrency: int) -> DrainResult:
    await _flush(f"redis://{host}:{port}")
    countdown = Countdown(tasks)
    name = f"bench-{uuid.uuid4().hex}"
    settings = RedisSettings(host=host, port=port)
    pool = await create_pool(settings, default_queue_name=name)
    worker = ArqWorker(
        functions=[func(countdown.job, name="noop")],
        queue_name=name,
        redis_settings=settings,
        max_jobs=concurrency,
        poll_delay=ARQ_POLL_DELAY,
        handle_signals=False,
    )
    running = asyncio.create_task(worker.async_run())
    try:
        return await _timed(tasks, partial(pool.enqueue_job, "noop"), countdown)
    finally:
        await asyncio.gather(*worker.tasks.values(), return_exceptions=True)
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        await worker.close()
        await pool.aclose()


def run(config: Config, workdir: Path) -> list[Row]:
    tasks, concurrency = config.peer_tasks, config.concurrency
    counter = itertools.count()
    with servers.running(servers.redis(workdir)) as redis_server:
        host, port = servers.HOST, redis_server.port
        url = f"redis://{host}:{port}"

        def ours(store: str) -> DrainResult:
            name = f"peers-{store}-{next(counter)}"
            return drain.measure(config, workdir, store, name, tasks, gated=False)

        contenders: dict[str, Callable[[], DrainResult]] = {
            "ours, memory": partial(ours, "memory"),
            "ours, SQLite": partial(ours, "sqlite"),
            "SAQ": lambda: _guarded(tasks, lambda: loop.run(run_saq(url, tasks, concurrency))),
            "arq": lambda: _guarded(
                tasks, lambda: loop.run(run_arq(host, port, tasks, concurrency))
            ),
        }
        results = alternate(
            config.rounds, contenders, lambda each: rate(each.drain_rate, " tasks/s")
        )
    return rows(config, results)


def rows(config: Config, results: dict[str, list[DrainResult]]) -> list[Row]:
    """A contender's rate is the median of the rounds it finished; its repeated runs and
    unfinished rounds are findings of their own, and never stop the table."""
    group = f"{GROUP} (N={config.peer_tasks:,})"
    table = []
    by_round: dict[str, list[float | None]] = {}
    for name, runs in results.items():
        by_round[name] = [each.drain_rate if _finished(each) else None for each in runs]
        finished = [each for each in runs if _finished(each)]
        value, detail = "n/a", ""
        if finished:
            value = rate(median([each.drain_rate for each in finished]))
            enqueue = rate(median([each.intake_rate for each in finished]))
            detail = f"{rates([each.drain_rate for each in finished])}; enqueue {enqueue}"
        table.append(Row(group, f"tasks/s end to end, {name}", value, detail))
        repeated = sum(each.repeated for each in runs)
        if repeated:
            table.append(Row(group, f"jobs run more than once, {name}", f"{repeated:,}"))
        for number, each in enumerate(runs, start=1):
            if not _finished(each):
                why = each.failure or f"{each.done} of {each.tasks} jobs ran"
                table.append(Row(group, f"round {number} did not finish, {name}", "n/a", why))
    for ours in ("ours, memory", "ours, SQLite"):
        for peer in ("SAQ", "arq"):
            both = [(a, b) for a, b in zip(by_round[ours], by_round[peer], strict=True) if a and b]
            if both:
                numerator, denominator = [a for a, _ in both], [b for _, b in both]
                table.append(ratio_row(group, f"{ours} / {peer}", numerator, denominator, 1.0))
    return table


def _finished(result: DrainResult) -> bool:
    return result.done == result.tasks and not result.failure
