"""A scrape of `GET /metrics`, parsed by prometheus_client's own parser."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

COUNTER_SUFFIXES = ("_total", "_count", "_sum", "_bucket")


class Scrape:
    def __init__(self, text: str) -> None:
        families = list(text_string_to_metric_families(text))
        self.names = {family.name for family in families}
        self.samples = [
            (sample.name, sample.labels, sample.value)
            for family in families
            for sample in family.samples
        ]

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels`."""
        return sum(
            value
            for sample, found, value in self.samples
            if sample == name and labels.items() <= found.items()
        )

    def counters(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        """Every sample that may only grow: counters and histograms' parts."""
        return {
            (name, frozenset(labels.items())): value
            for name, labels, value in self.samples
            if name.endswith(COUNTER_SUFFIXES)
        }
