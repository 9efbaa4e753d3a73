"""The benchmark harness runs end to end at tiny sizes (no timing is asserted).

Only the in-process drain runs here: it needs nothing beyond the project itself, unlike the
HTTP groups (wrk, gunicorn) and the peer comparison (Redis, SAQ, arq).
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import time
from collections import Counter
from functools import partial
from pathlib import Path
from types import SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import versus  # noqa: E402
from bench.asgi_path import measure  # noqa: E402
from bench.batches import run_batches  # noqa: E402
from bench.drain import run_drain, store_url  # noqa: E402
from bench.profile import by_package  # noqa: E402
from bench.report import Row, ratio_row, table  # noqa: E402
from bench.servers import StopLine  # noqa: E402
from bench.timeline import summarize  # noqa: E402
from bench.timeline_probe import Event, Mark, marked, timed  # noqa: E402
from bench.versus import OTHER, THIS, Round, cpu_seconds, summary  # noqa: E402
from service import Settings, create_app  # noqa: E402
from service.store.sqlite.connector import Connector  # noqa: E402

TASKS = 200


@pytest.mark.parametrize("store", ["memory", "sqlite"])
@pytest.mark.parametrize("gated", [True, False])
async def test_drain_finishes_every_task(store: str, gated: bool, tmp_path: Path) -> None:
    result = await run_drain(store_url(store, tmp_path, "smoke"), TASKS, batch=50, gated=gated)

    assert result.tasks == TASKS
    assert result.done == TASKS
    assert result.intake_rate > 0
    assert result.drain_rate > 0


async def test_the_asgi_path_times_requests_the_app_accepted() -> None:
    figures = await measure(requests=50, rounds=2)  # exits if any answer was not 202

    assert len(figures) == 2 and all(figure > 0 for figure in figures)


async def test_the_asgi_path_times_delayed_tasks_without_waiting_for_them(tmp_path: Path) -> None:
    url = store_url("sqlite", tmp_path, "delayed")
    figures = await asyncio.wait_for(measure(requests=64, rounds=2, store_url=url, delay=3600), 30)

    assert len(figures) == 2 and all(figure > 0 for figure in figures)


@pytest.mark.parametrize("size", [1, 100])
async def test_batch_throughput_drains_every_task(size: int, tmp_path: Path) -> None:
    assert await run_batches(tmp_path / "batches.db", size, TASKS) > 0


def test_table_shows_ratios_and_verdicts() -> None:
    rows = [
        Row("group", "plain", "1/s"),
        ratio_row("group", "a / b", [2.0, 4.0], [1.0, 2.0], at_least=1.5),
        ratio_row("group", "b / a", [1.0, 2.0], [2.0, 4.0], at_least=1.0),
    ]

    lines = table(rows).splitlines()

    assert lines[0].startswith("| Group | Measure |")
    assert "| 2.00x |" in lines[3] and lines[3].endswith("| >= 1.5x | met |")
    assert "| 0.50x |" in lines[4] and lines[4].endswith("| **missed** |")


def test_the_profile_sums_self_time_by_package() -> None:
    self_time = Counter(
        {
            "handle (hypercorn/protocol/h11.py)": 3,
            "send (hypercorn/asyncio/tcp_server.py)": 2,
            "submit (service/core.py)": 4,
            "run (asyncio/runners.py:118)": 1,
        }
    )

    assert by_package(self_time) == {"hypercorn": 5, "service": 4, "asyncio": 1}


@pytest.mark.parametrize("store", ["memory", "sqlite"])
async def test_the_service_stop_line_is_read_on_every_store(
    store: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The shutdown and sustained groups read the drain's outcome from this line."""
    caplog.set_level(logging.INFO, "service")
    app = create_app(Settings(store=store_url(store, tmp_path, "stop"), concurrency=2))
    async with app.test_app():
        response = await app.test_client().post("/tasks?type=dummy", json=[1, 2, 3])
        assert response.status_code == 202
    stop = StopLine.find(caplog.text)
    assert stop is not None, caplog.text
    assert stop.done + stop.abandoned + stop.released == 3


def test_versus_sums_up_per_round_ratios_and_reads_cpu_per_thread() -> None:
    rounds = {
        THIS: [Round(3000, 250, 0), Round(3300, 240, 0), Round(2000, 300, 10)],
        OTHER: [Round(2500, 260, 0), Round(3000, 270, 0), Round(2600, 320, 10)],
    }
    lines = summary(rounds)
    assert lines[0] == (
        "this checkout: median 3,000 req/s; CPU per request 250 µs main thread, 0 µs other threads"
        "; main thread busy 75%; all threads 0.75 cores"
    )
    assert summary({THIS: [Round(2000, 300, 100)], OTHER: [Round(1, 1, 1)]})[0].endswith(
        "main thread busy 60%; all threads 0.80 cores"
    )
    # The median of the per-round ratios, not the ratio of the medians (3000 / 2600 = 1.154).
    assert lines[-1] == "this checkout / other checkout: 1.100 (per round: 1.20 1.10 0.77)"
    main, other = cpu_seconds(os.getpid())
    assert main > 0 and other >= 0


def test_versus_waits_for_a_busy_server_before_a_round(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`settle` returns at once when the servers are idle, and waits while one uses a core
    (here until its limit, shortened for the test)."""
    monkeypatch.setattr(versus, "SETTLE_LIMIT", 1.5)
    idle = subprocess.Popen(["sleep", "30"])
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        began = time.monotonic()
        versus.settle([idle.pid])
        assert time.monotonic() - began < 1.0
        assert capsys.readouterr().err == ""
        began = time.monotonic()
        versus.settle([idle.pid, busy.pid])
        assert time.monotonic() - began >= 1.5
        assert "still busy after 1.5 s" in capsys.readouterr().err
    finally:
        for process in (idle, busy):
            process.kill()
            process.wait()


async def test_the_timeline_probe_times_each_transaction_and_its_commit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[Event] = []
    mark: Mark = []
    monkeypatch.setattr(Connector, "_transaction", timed(Connector._transaction, events, mark))
    monkeypatch.setattr(Connector, "_check_file", marked(Connector._check_file, mark))
    database = Connector(tmp_path / "timeline.db")
    await database.open(lambda connection: None)
    events.clear()

    def write(connection: object, works: list[object], ends: list[object]) -> None:
        return None

    work = SimpleNamespace(new=["a", "b", "c"], operation=None)
    await database.run(partial(write, works=[work], ends=["x"]))
    await database.close(lambda connection: None)

    start, commit_at, end, body_cpu, commit_cpu, new, ends = events[0]
    assert start <= commit_at <= end and body_cpu >= 0 and commit_cpu >= 0
    assert (new, ends) == (3, 1)
    assert len(events) == 2  # and the closing transaction


def test_the_timeline_sums_up_the_window_and_the_stalled_commits() -> None:
    events: list[Event] = [
        (0.5, 0.6, 0.7, 0.01, 0.01, 10, 0),  # before the window
        (1.0, 1.003, 1.004, 0.001, 0.0005, 20, 2),
        (2.0, 2.002, 2.102, 0.001, 0.0005, 0, 8),  # a COMMIT of 100 ms
        (3.0, 3.004, 3.030, 0.002, 0.001, 30, 0),  # one of 26 ms
    ]

    found = summarize(events, 1.0, 5.0)

    assert (found.commits, found.with_new, found.new_per_commit) == (3, 2, 25.0)
    assert found.busy == pytest.approx((0.004 + 0.102 + 0.030) / 4)
    assert found.cpu == pytest.approx(0.006 / 4)
    assert found.waiting == pytest.approx(0.009 / 0.004)
    assert (found.stalls, found.stalls_with_new) == (2, 1)
    assert found.stalled == pytest.approx(0.126) and found.longest == pytest.approx(0.1)
