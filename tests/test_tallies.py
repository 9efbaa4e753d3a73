"""Tallies count in plain numbers and hand prometheus_client the same values its own calls
would have made."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from service.tallies import BulkHistogram, counts, levels, observations

AMOUNTS = [0.0, 0.004, 0.005, 0.0051, 0.3, 2.5, 99.0, 1e9]
BUCKETS = (0.005, 0.1, 1.0, 10.0)


def exposition(registry: CollectorRegistry, renamed: str) -> str:
    return generate_latest(registry).decode().replace(renamed, "metric")


def test_observations_flush_to_the_buckets_observe_would_fill() -> None:
    plain, bulk = CollectorRegistry(), CollectorRegistry()
    reference = Histogram("reference", "h", ["type"], buckets=BUCKETS, registry=plain)
    tallies = observations(BulkHistogram("tallied", "h", ["type"], buckets=BUCKETS, registry=bulk))
    for amount in AMOUNTS:
        reference.labels("a").observe(amount)
        tallies("a").observe(amount)
    assert bulk.get_sample_value("tallied_count", {"type": "a"}) == 0  # nothing before a flush
    tallies.flush()
    tallies.flush()  # a second flush adds nothing
    reference.labels("a").observe(0.05)
    tallies("a").observe(0.05)
    tallies.flush()
    without_created = [
        line for line in exposition(bulk, "tallied").splitlines() if "_created" not in line
    ]
    expected = [
        line for line in exposition(plain, "reference").splitlines() if "_created" not in line
    ]
    assert without_created == expected
    assert 'metric_bucket{le="0.005",type="a"} 3.0' in expected


def test_counts_and_levels_flush_what_changed_since_the_last_flush() -> None:
    registry = CollectorRegistry()
    counted = counts(Counter("counted", "c", ["outcome"], registry=registry))
    level = levels(Gauge("level", "g", ["type"], registry=registry))
    counted("accepted").value += 3
    level("a").value += 2
    counted.flush()
    level.flush()
    counted("accepted").value += 1
    level("a").value -= 1
    counted.flush()
    level.flush()
    assert registry.get_sample_value("counted_total", {"outcome": "accepted"}) == 4
    assert registry.get_sample_value("level", {"type": "a"}) == 1
    assert counted("accepted").value == 0  # handed over
