"""HTTP intake: `POST /task` with a small JSON body under wrk, five servers alternated.

The seed on gunicorn's threaded worker, a bare ASGI callable and a minimal Quart route on
Hypercorn (the floor and the framework's share), and the service with either store.
"""

from __future__ import annotations

from contextlib import ExitStack
from functools import partial
from pathlib import Path

from . import servers, wrk
from .config import Config
from .report import Row, median, rate, rates, ratio_row
from .rounds import alternate, note
from .servers import Server

GROUP = "HTTP intake, POST /task"
BODY = '{"foo":"bar"}'
SEED = "seed (Flask, gunicorn gthread)"
BARE = "bare ASGI (Hypercorn)"
QUART = "Quart minimal (Hypercorn)"
MEMORY = "ours, memory"
SQLITE = "ours, SQLite"


def contenders(config: Config, workdir: Path) -> dict[str, tuple[Server, str]]:
    """Each contender's server and the path it takes tasks on."""

    def ours(store: str) -> tuple[Server, str]:
        server = servers.service(
            f"intake-{store}",
            store,
            workdir,
            config.concurrency,
            queue_maxsize=config.queue_maxsize,
        )
        return server, "/task?type=dummy"

    return {
        SEED: (servers.seed(workdir, config.gunicorn_threads), "/task"),
        BARE: (servers.hypercorn("bare-asgi", "bench.bare_asgi:app", workdir), "/task"),
        QUART: (servers.hypercorn("quart-minimal", "bench.quart_minimal:app", workdir), "/task"),
        MEMORY: ours("memory"),
        SQLITE: ours("sqlite"),
    }


def run(config: Config, workdir: Path) -> list[Row]:
    script = wrk.post_script(workdir, "intake", BODY)
    with ExitStack() as stack:
        targets = {}
        for name, (server, path) in contenders(config, workdir).items():
            stack.enter_context(servers.running(server))
            targets[name] = server.url + path
            note(f"intake: {name} listening on {server.url}")

        def load(url: str, seconds: float) -> wrk.WrkResult:
            return wrk.run(url, script, seconds, config.connections, config.wrk_threads)

        for url in targets.values():
            load(url, config.warmup)
        measures = {name: partial(load, url, config.duration) for name, url in targets.items()}
        results = alternate(config.rounds, measures, lambda each: rate(each.rate, " req/s"))
    return rows(results)


def rows(results: dict[str, list[wrk.WrkResult]]) -> list[Row]:
    rps = {name: [each.rate for each in runs] for name, runs in results.items()}
    table = []
    for name, runs in results.items():
        errors = sum(each.non_2xx for each in runs)
        sockets = sum(each.socket_errors for each in runs)
        p99 = median([each.p99_ms for each in runs])
        detail = f"{rates(rps[name])}; non-2xx {errors}; socket errors {sockets}; p99 {p99:.1f} ms"
        table.append(Row(GROUP, f"req/s, {name}", rate(median(rps[name])), detail))
    table += [
        ratio_row(GROUP, "ours memory / seed", rps[MEMORY], rps[SEED], 1.5),
        ratio_row(GROUP, "ours memory / bare ASGI", rps[MEMORY], rps[BARE], 0.6),
        ratio_row(GROUP, "Quart minimal / bare ASGI", rps[QUART], rps[BARE]),
        ratio_row(GROUP, "ours SQLite / ours memory", rps[SQLITE], rps[MEMORY], 0.9),
    ]
    failures = sum(each.non_2xx + each.socket_errors for runs in results.values() for each in runs)
    table.append(
        Row(GROUP, "non-2xx + socket errors, all runs", str(failures), "", "= 0", failures == 0)
    )
    return table
