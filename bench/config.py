"""The sizes and durations of one benchmark run."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Config:
    rounds: int = 3
    duration: float = 5.0
    warmup: float = 1.0  # wrk takes whole seconds
    connections: int = 32
    wrk_threads: int = 2
    bulk_connections: int = 8
    bulk_sizes: tuple[int, ...] = (100, 1000)
    gunicorn_threads: int = 8
    queue_maxsize: int = 5_000_000
    drain_tasks: int = 20_000
    submit_batch: int = 1000
    peer_tasks: int = 10_000
    concurrency: int = 8
    latency_samples: int = 200
    latency_interval: float = 0.015
    shutdown_tasks: int = 10_000
    seed_graceful_timeout: int = 30
    memory_tasks: int = 100_000
    scaleout_tasks: int = 10_000
    pgqueuer_seconds: float = 10.0
    batch_tasks: int = 20_000
    batch_sizes: tuple[int, ...] = (1, 100, 1000)

    @classmethod
    def quick(cls) -> Config:
        """A short run: fewer rounds, shorter loads, smaller counts."""
        return cls(
            rounds=2,
            duration=2.0,
            drain_tasks=5_000,
            peer_tasks=2_000,
            latency_samples=50,
            seed_graceful_timeout=10,
            memory_tasks=20_000,
            scaleout_tasks=2_000,
            pgqueuer_seconds=3.0,
            batch_tasks=5_000,
        )

    def describe(self) -> list[tuple[str, str]]:
        return [
            ("rounds per comparison (alternated, median)", str(self.rounds)),
            ("wrk duration per measurement", f"{self.duration:g} s (warm-up {self.warmup:g} s)"),
            (
                "wrk intake load",
                f"{self.wrk_threads} threads, {self.connections} connections, keep-alive",
            ),
            (
                "wrk bulk load",
                f"{self.wrk_threads} threads, {self.bulk_connections} connections, "
                "a JSON array of the batch as the body (Lua script)",
            ),
            ("seed server", f"gunicorn -k gthread --workers 1 --threads {self.gunicorn_threads}"),
            ("service workers (SERVICE_CONCURRENCY)", str(self.concurrency)),
            ("SERVICE_QUEUE_MAXSIZE for loads", f"{self.queue_maxsize:,}"),
            ("in-process drain tasks", f"{self.drain_tasks:,} in batches of {self.submit_batch}"),
            (
                "peer comparison",
                f"{self.peer_tasks:,} tasks, in-process on uvloop, {self.concurrency} workers "
                "each; arq poll_delay 10 ms; Redis without persistence",
            ),
            (
                "idle latency samples",
                f"{self.latency_samples}, one every {self.latency_interval * 1000:g} ms",
            ),
            ("tasks queued before SIGTERM", f"{self.shutdown_tasks:,}"),
            ("tasks for memory per queued task", f"{self.memory_tasks:,}"),
            (
                "scale-out group",
                f"in-process drain of {self.scaleout_tasks:,} tasks per setup; pgqueuer "
                f"tools/benchmark.py -d apg -t {self.pgqueuer_seconds:g}",
            ),
            (
                "batch handler group",
                f"{self.batch_tasks:,} tasks stored first, then drained, at batch sizes "
                + ", ".join(map(str, self.batch_sizes)),
            ),
        ]
