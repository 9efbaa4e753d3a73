"""`GET /metrics`, in process, on every store: each metric moves when what it counts happens."""

from __future__ import annotations

import asyncio
import logging
import platform
from pathlib import Path

import pytest

from service.errors import ConfigError, StoreError
from service.metrics import Metrics
from service.store.base import QueueStats
from tests import sample_handlers
from tests.conftest import Running, Starter
from tests.scrape import Scrape

SUBMITTED = "service_tasks_submitted_total"
FINISHED = "service_tasks_finished_total"
REQUESTS = "service_http_request_duration_seconds_count"


async def scrape(running: Running) -> Scrape:
    response = await running.client.get("/metrics")
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=0.0.4")
    return Scrape(await response.get_data(as_text=True))


async def task_id(running: Running, path: str, payload: object, **kwargs: object) -> str:
    response = await running.post(path, payload, **kwargs)
    assert response.status_code in (200, 202), await response.get_data()
    found: str = (await response.get_json())["id"]
    return found


async def test_submissions_are_counted_by_type_and_outcome(start: Starter) -> None:
    key = {"Idempotency-Key": "k-1"}
    async with start() as running:
        first = await task_id(running, "/task?type=echo", 1, headers=key)
        assert await task_id(running, "/task?type=echo", 1, headers=key) == first
        assert (await running.post("/tasks?type=echo", [2, 3, 4])).status_code == 202
        assert (await running.post("/task?type=no_such_type", 5)).status_code == 422
        reused = await running.post("/task?type=echo", 6, headers=key)
        assert reused.status_code == 422
        found = await scrape(running)
    assert found.value(SUBMITTED, type="echo", outcome="accepted") == 4
    assert found.value(SUBMITTED, type="echo", outcome="duplicate") == 1
    assert found.value(SUBMITTED, type="echo", outcome="refused") == 1
    # An unregistered type is no label value: it is counted with an empty type.
    assert found.value(SUBMITTED, type="", outcome="refused") == 1
    assert found.value(SUBMITTED) == 7
    assert not any("no_such_type" in str(labels) for _, labels, _ in found.samples)


async def test_a_full_queue_counts_the_refused_tasks(start: Starter) -> None:
    async with start(queue_maxsize=2, concurrency=1) as running:
        assert (await running.post("/tasks?type=gated", [1, 2])).status_code == 202
        assert (await running.post("/tasks?type=gated", [3, 4, 5])).status_code == 503
        assert (await running.post("/task?type=gated", 6)).status_code == 503
        found = await scrape(running)
        sample_handlers.gate.set()
    assert found.value(SUBMITTED, type="gated", outcome="accepted") == 2
    assert found.value(SUBMITTED, type="gated", outcome="refused") == 4


async def test_finished_tasks_by_status_and_their_attempts(start: Starter) -> None:
    async with start() as running:
        done = await task_id(running, "/task?type=echo", 1)
        failed = await task_id(running, "/task?type=boom", 2)
        retried = await task_id(running, "/task?type=flaky&max_attempts=3", 3)
        delayed = await task_id(running, "/task?type=echo&delay=600", 4)
        for each in (done, failed, retried):
            await running.wait_finished(each)
        assert (await running.client.delete(f"/task/{delayed}")).status_code == 200
        found = await scrape(running)
    assert found.value(FINISHED, type="echo", status="done") == 1
    assert found.value(FINISHED, type="boom", status="failed") == 1
    assert found.value(FINISHED, type="flaky", status="done") == 1
    assert found.value(FINISHED, type="echo", status="cancelled") == 1
    assert found.value(FINISHED) == 4
    attempts = "service_attempt_duration_seconds_count"
    assert found.value(attempts, type="flaky") == 3
    assert found.value(attempts, type="echo") == 1
    assert found.value("service_queue_wait_seconds_count", type="flaky") == 3


async def test_attempt_duration_and_queue_wait_leave_delays_out(start: Starter) -> None:
    async with start() as running:
        slow = await task_id(running, "/task?type=sleep", 0.3)
        later = await task_id(running, "/task?type=echo&delay=0.5", 1)
        await running.wait_finished(slow)
        await running.wait_finished(later)
        found = await scrape(running)
    assert 0.3 <= found.value("service_attempt_duration_seconds_sum", type="sleep") < 2
    buckets = "service_attempt_duration_seconds_bucket"
    assert found.value(buckets, type="sleep", le="0.1") == 0
    assert found.value(buckets, type="sleep", le="0.5") == 1
    # The echo task waited half a second on purpose: that is not queue wait.
    assert found.value("service_queue_wait_seconds_count", type="echo") == 1
    assert found.value("service_queue_wait_seconds_sum", type="echo") < 0.4


async def test_in_progress_counts_the_running_attempts(start: Starter) -> None:
    gauge = "service_tasks_in_progress"
    async with start(concurrency=2) as running:
        ids = [await task_id(running, "/task?type=gated", n) for n in range(2)]
        async with asyncio.timeout(10):
            while (await scrape(running)).value(gauge, type="gated") != 2:
                await asyncio.sleep(0.01)
        sample_handlers.gate.set()
        for each in ids:
            await running.wait_finished(each)
        assert (await scrape(running)).value(gauge, type="gated") == 0


async def test_requests_are_timed_by_route_template_and_method(start: Starter) -> None:
    async with start() as running:
        failed = await task_id(running, "/task?type=boom", 1)
        await running.post("/tasks?type=echo", [1])
        await running.wait_finished(failed)
        await running.client.get(f"/task/{failed}")
        await running.client.delete(f"/task/{failed}")
        await running.client.post(f"/task/{failed}/retry")
        await running.client.get("/health")
        await running.client.get("/no/such/route")
        await running.client.open("/health", method="BREW")
        found = await scrape(running)
    assert found.value(REQUESTS, route="/task", method="POST") == 1
    assert found.value(REQUESTS, route="/tasks", method="POST") == 1
    assert found.value(REQUESTS, route="/task/{id}", method="GET") >= 2  # wait_finished too
    assert found.value(REQUESTS, route="/task/{id}", method="DELETE") == 1
    assert found.value(REQUESTS, route="/task/{id}/retry", method="POST") == 1
    assert found.value(REQUESTS, route="/health", method="GET") == 1
    assert found.value(REQUESTS, route="other", method="GET") == 1
    assert found.value(REQUESTS, route="other", method="other") == 1
    assert not any(failed in str(labels) for _, labels, _ in found.samples)


async def test_build_info(start: Starter) -> None:
    async with start() as running:
        found = await scrape(running)
    info = [labels for name, labels, _ in found.samples if name == "service_build_info"]
    assert len(info) == 1 and info[0]["python"] == platform.python_version()
    assert found.value("service_build_info") == 1


async def test_queue_gauges_come_from_the_store(start: Starter) -> None:
    async with start(concurrency=1) as running:
        held = await task_id(running, "/task?type=gated", 0)
        for payload in (1, 2):
            await task_id(running, "/task?type=gated", payload)
        await task_id(running, "/task?type=echo&delay=600", 3)
        await asyncio.sleep(0.3)
        found = await scrape(running)
        sample_handlers.gate.set()
        await running.wait_finished(held)
    assert found.value("service_queue_depth", state="due") == 2
    assert found.value("service_queue_depth", state="delayed") == 1
    assert found.value("service_tasks_running") == 1
    assert 0.2 <= found.value("service_queue_oldest_due_age_seconds") < 60


async def test_a_store_that_cannot_tell_leaves_its_gauges_out(
    start: Starter, caplog: pytest.LogCaptureFixture
) -> None:
    async def unreadable() -> QueueStats:
        raise StoreError("database is locked")

    async with start() as running:
        await task_id(running, "/task?type=echo", 1)
        running.service.store.stats = unreadable
        with caplog.at_level(logging.WARNING, logger="service.metrics"):
            found = await scrape(running)
    assert found.value(SUBMITTED, type="echo") == 1
    assert not found.names & {"service_queue_depth", "service_tasks_running"}
    assert "service_queue_oldest_due_age_seconds" not in found.names
    assert "database is locked" in caplog.text


def test_a_missing_multiprocess_directory_stops_start_up(tmp_path: Path) -> None:
    metrics = Metrics({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="PROMETHEUS_MULTIPROC_DIR=.* is not a directory"):
        metrics.start(["echo"])


async def test_a_failed_flush_is_logged_and_the_next_one_still_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("service.metrics.FLUSH_INTERVAL", 0.01)
    metrics = Metrics({"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)})
    flushes: list[float] = []

    def flush() -> None:
        flushes.append(asyncio.get_running_loop().time())
        if len(flushes) == 1:
            raise OSError("No space left on device")

    monkeypatch.setattr(metrics, "flush", flush)
    with caplog.at_level(logging.ERROR, logger="service.metrics"):
        metrics.start(["echo"])
        async with asyncio.timeout(5):
            while len(flushes) < 3:
                await asyncio.sleep(0.01)
        metrics.stop()
    assert "metrics not written to PROMETHEUS_MULTIPROC_DIR=" in caplog.text
    assert "No space left on device" in caplog.text
