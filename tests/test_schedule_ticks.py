"""When ticks fall due and which run after a pause, at a fixed, simulated clock."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

import pytest

from service.schedules.ticks import MAX_CATCH_UP, CatchUp, Cron, Every, to_run

PARIS = ZoneInfo("Europe/Paris")


def at(text: str, zone: tzinfo = UTC) -> float:
    """Seconds since the epoch of an ISO time, read in `zone` (UTC if none)."""
    return datetime.fromisoformat(text).replace(tzinfo=zone).timestamp()


def local(timestamp: float, zone: ZoneInfo = PARIS) -> str:
    return datetime.fromtimestamp(timestamp, zone).strftime("%m-%d %H:%M %Z")


def forward(cron: Cron, start: float, end: float) -> list[float]:
    ticks, moment = [], start
    while (moment := cron.next_after(moment)) <= end:
        ticks.append(moment)
    return ticks


def test_every_falls_on_multiples_of_its_period() -> None:
    every = Every(1.5)
    assert every.next_after(10.0) == 10.5 and every.next_after(10.5) == 12.0
    assert every.recent(now=13.9, after=9.0, limit=10) == [10.5, 12.0, 13.5]
    assert every.recent(now=13.9, after=10.5, limit=1) == [13.5]


def test_a_new_schedule_starts_with_the_first_tick_after_the_start() -> None:
    every = Every(10)
    for mode in ("latest", "none", "all"):
        assert to_run(every, mode, None, None, started=105, now=105) == []
        assert to_run(every, mode, None, None, started=105, now=111) == [110]


def test_on_time_every_mode_runs_the_tick_due() -> None:
    for mode in ("latest", "none", "all"):
        assert to_run(Every(10), mode, None, last=100, started=50, now=110.2) == [110]
        assert to_run(Every(10), mode, None, last=110, started=50, now=119.9) == []


def test_after_a_pause_latest_runs_the_most_recent_missed_tick() -> None:
    # Stopped after the tick of 100, started again at 155: 110 to 150 were missed.
    assert to_run(Every(10), "latest", None, last=100, started=155, now=155) == [150]
    # max_delay: a missed tick older than that is not run; the next one runs on time.
    assert to_run(Every(10), "latest", 3.0, last=100, started=155, now=155) == []
    assert to_run(Every(10), "latest", 3.0, last=100, started=155, now=160.5) == [160]


def test_after_a_pause_none_runs_only_ticks_due_since_the_start() -> None:
    assert to_run(Every(10), "none", None, last=100, started=155, now=155) == []
    assert to_run(Every(10), "none", None, last=100, started=155, now=160.1) == [160]


def test_after_a_pause_all_runs_every_missed_tick_up_to_a_hundred() -> None:
    assert to_run(Every(10), "all", None, last=100, started=155, now=155) == [
        110,
        120,
        130,
        140,
        150,
    ]
    many = to_run(Every(1), "all", None, last=0, started=1000.5, now=1000.5)
    assert len(many) == MAX_CATCH_UP and many[0] == 901 and many[-1] == 1000


def test_cron_runs_in_its_time_zone() -> None:
    cron = Cron("0 3 * * *", PARIS)
    winter, summer = (
        cron.next_after(at("2026-01-10T12:00")),
        cron.next_after(at("2026-07-10T12:00")),
    )
    assert local(winter) == "01-11 03:00 CET" and local(summer) == "07-11 03:00 CEST"
    assert winter == at("2026-01-11T02:00") and summer == at("2026-07-11T01:00")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # 02:30 does not exist on 29 March 2026 in Paris: it runs at 03:00, once.
        ("30 2 * * *", ["03-28 02:30 CET", "03-29 03:00 CEST", "03-30 02:30 CEST"]),
        ("0 3 * * *", ["03-28 03:00 CET", "03-29 03:00 CEST", "03-30 03:00 CEST"]),
        # A time of every hour has no tick in the hour that is skipped.
        ("30 * * * *", ["03-29 00:30 CET", "03-29 01:30 CET", "03-29 03:30 CEST"]),
    ],
)
def test_spring_forward(expression: str, expected: list[str]) -> None:
    cron = Cron(expression, PARIS)
    if expression.startswith("30 *"):
        start, end = at("2026-03-29T00:00", PARIS), at("2026-03-29T04:00", PARIS)
    else:
        start, end = at("2026-03-28T00:00", PARIS), at("2026-03-30T23:00", PARIS)
    ticks = forward(cron, start, end)
    assert [local(tick) for tick in ticks] == expected
    assert_reverse_agrees(cron, ticks, start, end)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        # 02:30 occurs twice on 25 October 2026 in Paris: it runs once, at the first.
        ("30 2 * * *", ["10-24 02:30 CEST", "10-25 02:30 CEST", "10-26 02:30 CET"]),
        # A time of every hour runs in both passes of the repeated hour: an hour apart.
        (
            "30 * * * *",
            ["10-25 00:30 CEST", "10-25 01:30 CEST", "10-25 02:30 CEST", "10-25 02:30 CET"],
        ),
    ],
)
def test_fall_back(expression: str, expected: list[str]) -> None:
    cron = Cron(expression, PARIS)
    if expression.startswith("30 *"):
        start, end = at("2026-10-25T00:00", PARIS), at("2026-10-25T02:00", UTC)
    else:
        start, end = at("2026-10-24T00:00", PARIS), at("2026-10-26T23:00", PARIS)
    ticks = forward(cron, start, end)
    assert [local(tick) for tick in ticks] == expected
    assert len(set(ticks)) == len(ticks)
    assert_reverse_agrees(cron, ticks, start, end)


def test_a_scheduler_looking_through_the_repeated_hour_runs_each_tick_once() -> None:
    """Look every minute through the fall-back night, as the loop does: 02:30 runs once."""
    ran = look_every_minute(Cron("30 2 * * *", PARIS), "latest", at("2026-10-24T22:00", UTC))
    assert [local(due) for due in ran] == ["10-25 02:30 CEST"]


def test_a_scheduler_looking_through_the_skipped_hour_runs_the_moved_tick_once() -> None:
    ran = look_every_minute(Cron("30 2 * * *", PARIS), "all", at("2026-03-28T22:00", UTC))
    assert [local(due) for due in ran] == ["03-29 03:00 CEST"]


def look_every_minute(cron: Cron, catch_up: CatchUp, started: float) -> list[float]:
    """The ticks a scheduler runs looking once a minute for six hours from `started`."""
    last, ran = None, []
    for minute in range(0, 6 * 60):
        now = started + 60 * minute + 0.25
        for due in to_run(cron, catch_up, None, last, started, now):
            ran.append(due)
            last = due
    return ran


def assert_reverse_agrees(cron: Cron, ticks: list[float], start: float, end: float) -> None:
    """The ticks a look finds (newest first, from `now`) are the ones counted forward."""
    assert cron.recent(end, start, limit=len(ticks) + 5) == ticks
    for tick in ticks:
        assert cron.recent(tick, start, limit=1) == [tick]
        assert cron.recent(tick + 0.5, start, limit=1) == [tick]
        assert cron.recent(tick + 59, tick, limit=1) == []
