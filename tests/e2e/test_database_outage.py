"""PostgreSQL goes away under a running instance, and comes back: nothing lost, no restart."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.instances import instances, runs, wait_until
from tests.e2e.test_instances import post_spans
from tests.postgres import Cluster


@pytest.fixture
def own_cluster() -> Iterator[Cluster]:
    """A cluster of this test's own, with durable settings, to stop and start at will."""
    with Cluster() as cluster:
        cluster.start()
        cluster.create_database("outage")
        yield cluster


def ready(url: str) -> int:
    try:
        return httpx.get(f"{url}/ready", timeout=2).status_code
    except httpx.TransportError:
        return 0


def test_the_database_stops_for_ten_seconds_under_load(
    own_cluster: Cluster, tmp_path: Path
) -> None:
    store = own_cluster.url("outage")
    with instances(1, tmp_path, store) as [server]:
        running = post_spans(server.url, 8, 4.0)  # they finish while the database is away
        queued = post_spans(server.url, 12, 0.1)
        wait_until(lambda: len(runs(tmp_path)) >= 8, 10, "the first tasks started")
        own_cluster.stop("fast")
        stopped = time.monotonic()
        refused = httpx.post(f"{server.url}/task?type=span", json=0.1, timeout=10)
        assert refused.status_code == 503 and refused.json()["error"] == "store_unavailable"
        wait_until(lambda: ready(server.url) == 503, 5, "/ready answers 503")
        time.sleep(max(0.0, 10 - (time.monotonic() - stopped)))
        own_cluster.start()
        wait_until(lambda: ready(server.url) == 200, 10, "/ready answers 200 again")
        accepted = post_spans(server.url, 4, 0.1)
        records = server.wait_done(running + queued + accepted, timeout=30)
        assert server.stop() == 0
    assert {record["status"] for record in records.values()} == {"done"}
    found = runs(tmp_path)
    assert {len(found[task_id]) for task_id in running + queued + accepted} == {1}
    assert "Traceback" not in server.log()


def test_dropped_sessions_are_survived(own_cluster: Cluster, tmp_path: Path) -> None:
    store = own_cluster.url("outage")
    with instances(2, tmp_path, store) as [first, second]:
        before = post_spans(first.url, 20, 0.2)
        ended = own_cluster.terminate("outage")
        assert ended, "no session of the service was found to end"
        after: list[str] = []
        deadline = time.monotonic() + 10
        while len(after) < 20 and time.monotonic() < deadline:
            response = httpx.post(f"{second.url}/task?type=span", json=0.05, timeout=10)
            if response.status_code == 202:
                after.append(response.json()["id"])
            time.sleep(0.05)
        records = first.wait_done(before + after, timeout=30)
        # The listener came back: an idle instance hears of new work without waiting a poll.
        assert {record["status"] for record in records.values()} == {"done"}
        assert first.stop() == 0 and second.stop() == 0
    assert {len(each) for each in runs(tmp_path).values()} == {1}
