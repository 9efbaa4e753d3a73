"""Scale-out: ours on PostgreSQL with one and two instances, beside SQLite and pgqueuer.

One PostgreSQL cluster with the server's durable defaults (fsync, synchronous_commit on)
serves the whole group; every measurement gets a fresh database (or SQLite file) and fresh
instances (bench/instances.py). Each round runs every measurement once, in the same order:

- HTTP intake, `POST /task`, and bulk intake, `POST /tasks` (batches of `bulk_sizes`), under
  wrk; with two instances, one wrk per instance at once (bench/scaleout_http.py);
- the in-process drain, N no-op tasks submitted without HTTP while the workers run, until
  the store holds no unfinished task (bench/scaleout_drain.py);
- pgqueuer's own benchmark on the same server (bench/pgqueuer_peer.py);
- idle accept-to-start latency, from just before the POST to the handler's start;
- recovery from kill -9 of one of two instances (bench/recovery.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from service.settings import Settings

from . import pgqueuer_peer, pgserver, recovery, scaleout_drain, scaleout_http
from .config import Config
from .instances import SETUPS, Setup, Stores
from .report import Row, median, percentile, rate, rates, ratio_row
from .rounds import alternate, note
from .scaleout_drain import Drained
from .scaleout_http import Load

GROUP = "Scale-out"
PG1, PG2, SQLITE = (setup.label for setup in SETUPS)
PGQUEUER = "pgqueuer tools/benchmark.py"
BULK_TARGET = 30_000
RECOVERY_SLACK = 2.0


def run(config: Config, workdir: Path) -> list[Row]:
    with pgserver.cluster() as databases:
        stores = Stores(databases, workdir)
        server = databases.settings()
        note(f"scaleout: PostgreSQL {server['server_version']} on {databases.cluster.port}")
        script, missing = _pgqueuer_script()
        measures = contenders(config, stores, script)
        results = alternate(config.rounds, measures, show)
    return [_server_row(server), *rows(config, results, missing)]


def _pgqueuer_script() -> tuple[Path | None, str]:
    try:
        return pgqueuer_peer.benchmark_script(), ""
    except Exception as error:  # no network, no sdist: our rows still count
        return None, f"could not fetch pgqueuer's {pgqueuer_peer.SCRIPT}: {error}"[:200]


def contenders(config: Config, stores: Stores, script: Path | None) -> dict[str, Callable[[], Any]]:
    counter = itertools.count()

    def name(kind: str, setup: Setup) -> str:
        return f"scaleout-{kind.replace(' ', '')}-{setup.slug}-{next(counter)}"

    def each(kind: str, measure: Callable[[Setup, str], Any]) -> dict[str, Callable[[], Any]]:
        return {f"{kind}, {s.label}": (lambda s=s: measure(s, name(kind, s))) for s in SETUPS}

    measures = each("intake", partial(scaleout_http.intake, config, stores))
    for size in config.bulk_sizes:
        bulk = partial(scaleout_http.bulk, config, stores, size=size)
        measures |= each(f"bulk x{size}", bulk)
    measures |= each("drain", partial(scaleout_drain.measure, config, stores))
    if script is not None:
        seconds, workdir = config.pgqueuer_seconds, stores.workdir
        measures[f"drain, {PGQUEUER}"] = partial(
            pgqueuer_peer.measure, stores.databases, script, seconds, workdir
        )
    measures |= each("latency", partial(scaleout_http.latency, config, stores))
    measures["recovery"] = lambda: recovery.measure(
        config, stores, f"scaleout-kill-{next(counter)}"
    )
    return measures


def show(result: Any) -> str:
    if isinstance(result, Load):
        return rate(result.rate) + (f" ({result.failures} failed)" if result.failures else "")
    if isinstance(result, Drained | pgqueuer_peer.PgqResult):
        return rate(result.rate)
    if isinstance(result, recovery.Recovered):
        return f"{result.seconds:.2f} s"
    return f"p50 {percentile(result, 50):.2f} ms, p99 {percentile(result, 99):.2f} ms"


def _server_row(server: dict[str, str]) -> Row:
    detail = ", ".join(f"{key} {value}" for key, value in server.items() if key != "server_version")
    version = server["server_version"].split()[0]
    return Row(GROUP, "PostgreSQL server (one cluster, a fresh database per run)", version, detail)


def rows(config: Config, results: dict[str, list[Any]], missing: str) -> list[Row]:
    return [
        *_intake_rows(results),
        *_bulk_rows(config, results),
        *_drain_rows(config, results, missing),
        *_latency_rows(results),
        *_recovery_rows(results),
        _failures_row(results),
    ]


def _intake_rows(results: dict[str, list[Any]]) -> list[Row]:
    group = f"{GROUP}: HTTP intake, POST /task"
    rps = {
        label: [each.rate for each in results[f"intake, {label}"]] for label in (PG1, PG2, SQLITE)
    }
    table = []
    for label, values in rps.items():
        p99 = median([each.p99_ms for each in results[f"intake, {label}"]])
        detail = f"{rates(values)}; p99 {p99:.1f} ms"
        table.append(Row(group, f"req/s, {label}", rate(median(values)), detail))
    table += [
        ratio_row(group, f"{PG1} / {SQLITE}", rps[PG1], rps[SQLITE], 0.8),
        ratio_row(group, f"{PG2} / {SQLITE}", rps[PG2], rps[SQLITE], 0.8),
        ratio_row(group, f"{PG2} / {PG1}", rps[PG2], rps[PG1]),
    ]
    return table


def _bulk_rows(config: Config, results: dict[str, list[Any]]) -> list[Row]:
    group = f"{GROUP}: bulk intake, POST /tasks"
    table = []
    for size in config.bulk_sizes:
        tps = {
            label: [each.rate for each in results[f"bulk x{size}, {label}"]]
            for label in (PG1, PG2, SQLITE)
        }
        for label, values in tps.items():
            measure, value = f"tasks/s, {label}, batches of {size}", median(values)
            if label == SQLITE:
                table.append(Row(group, measure, rate(value), rates(values)))
                continue
            target = f">= {BULK_TARGET:,}/s"
            table.append(
                Row(group, measure, rate(value), rates(values), target, value >= BULK_TARGET)
            )
        table.append(ratio_row(group, f"{PG2} / {PG1}, batches of {size}", tps[PG2], tps[PG1]))
    return table


def _drain_rows(config: Config, results: dict[str, list[Any]], missing: str) -> list[Row]:
    group = f"{GROUP}: in-process enqueue to done (N={config.scaleout_tasks:,})"
    tps = {}
    table = []
    for label in (PG1, PG2, SQLITE):
        runs: list[Drained] = results[f"drain, {label}"]
        tps[label] = [each.rate for each in runs]
        submit = median([each.tasks / each.submit_seconds for each in runs if each.submit_seconds])
        detail = f"{rates(tps[label])}; submit {rate(submit)}"
        if runs[0].commits is not None:
            commits = median([each.commits or 0 for each in runs])
            detail += f"; {_per_commit(config.scaleout_tasks, commits)} tasks per commit"
        table.append(Row(group, f"tasks/s, {label}", rate(median(tps[label])), detail))
    peer = results.get(f"drain, {PGQUEUER}")
    if peer is None:
        for label in (PG1, PG2):
            table.append(Row(group, f"{label} / pgqueuer", "n/a", missing, ">= 2x", False))
        return table
    jobs = [each.rate for each in peer]
    detail = (
        f"{rates(jobs)}; pgqueuer {pgqueuer_peer.version()}, -d apg -t {config.pgqueuer_seconds:g}"
        f", {median([each.jobs for each in peer]):,.0f} jobs run, "
        f"{median([each.queued for each in peer]):,.0f} left queued"
    )
    table.append(Row(group, f"jobs/s, {PGQUEUER}", rate(median(jobs)), detail))
    table += [
        ratio_row(group, f"{label} / pgqueuer", tps[label], jobs, 2.0) for label in (PG1, PG2)
    ]
    return table


def _per_commit(tasks: int, commits: float) -> str:
    return f"{tasks / commits:,.0f}" if commits else "?"


def _latency_rows(results: dict[str, list[Any]]) -> list[Row]:
    group = f"{GROUP}: idle accept to start (POST to handler start)"
    table = []
    for label in (PG1, PG2, SQLITE):
        samples = [value for run in results[f"latency, {label}"] for value in run]
        p50s = [percentile(run, 50) for run in results[f"latency, {label}"]]
        p99s = [percentile(run, 99) for run in results[f"latency, {label}"]]
        detail = f"{len(samples)} tasks; max {max(samples):.2f} ms"
        table.append(Row(group, f"p50, {label}", f"{median(p50s):.2f} ms", detail))
        table.append(Row(group, f"p99, {label}", f"{median(p99s):.2f} ms", ""))
    return table


def _recovery_rows(results: dict[str, list[Any]]) -> list[Row]:
    runs: list[recovery.Recovered] = results["recovery"]
    lease = Settings().lease_timeout
    limit = lease + RECOVERY_SLACK
    seconds = [each.seconds for each in runs]
    value = median(seconds)
    detail = (
        f"rounds: {', '.join(f'{each:.2f}' for each in seconds)}; {runs[0].tasks} tasks held by A; "
        f"lease {lease:g} s; B ran attempt {max(each.attempts for each in runs)}"
    )
    return [
        Row(
            f"{GROUP}: kill -9 recovery, {PG2}",
            "seconds from kill -9 of A to all its tasks done on B",
            f"{value:.2f} s",
            detail,
            f"<= {limit:g} s",
            value <= limit,
        )
    ]


def _failures_row(results: dict[str, list[Any]]) -> Row:
    loads = [each for runs in results.values() for each in runs if isinstance(each, Load)]
    failures = sum(each.failures for each in loads)
    return Row(
        f"{GROUP}: HTTP",
        "non-2xx + socket errors, all wrk runs",
        str(failures),
        f"{len(loads)} runs",
        "= 0",
        failures == 0,
    )
