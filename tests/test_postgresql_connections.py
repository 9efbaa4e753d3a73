"""The PostgreSQL store and its connections: a server that stops (fast or immediate),
drops our sessions, or stalls; and PgBouncer in transaction mode, in poll-only mode.

These run on a server of this module's own, durable (fsync on), which they stop and start.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from service import Settings, Task
from service.errors import StoreError
from service.store.postgresql import PostgreSQLStore, connection
from tests.postgres import SERVICE_ROLE, Cluster, StopMode, free_port
from tests.stores import opening

Opener = Callable[..., Awaitable[PostgreSQLStore]]


def tasks(count: int) -> list[Task]:
    return [Task(type="echo", payload=n) for n in range(count)]


async def until(check: Callable[[], object], timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    """Durable, as a commit acknowledged before an immediate stop must be there after it."""
    with Cluster(max_connections=40) as started:
        yield started


@pytest.fixture
async def url(cluster: Cluster) -> AsyncIterator[str]:
    name = f"db_{time.monotonic_ns()}"
    cluster.start()
    cluster.create_database(name)
    yield cluster.url(name)
    cluster.start()  # if a failed test left it stopped
    cluster.drop_database(name)


@pytest.fixture
async def opener(url: str) -> AsyncIterator[Opener]:
    def make(store_url: str = url, **overrides: Any) -> PostgreSQLStore:
        return PostgreSQLStore(replace(Settings(store=store_url), **overrides))

    async with opening(make) as open_one:
        yield open_one


@pytest.mark.parametrize("mode", ["fast", "immediate"])
async def test_a_stopped_server_fails_calls_keeps_states_and_recovers(
    cluster: Cluster, opener: Opener, mode: StopMode, caplog: pytest.LogCaptureFixture
) -> None:
    store = await opener()
    wakes: list[float] = []
    store.listen(lambda: wakes.append(time.monotonic()))
    listener = store.listener
    assert listener is not None
    await until(listener.listening.is_set)
    await store.add(tasks(3))
    held = (await store.claim(3)).tasks

    await asyncio.to_thread(cluster.stop, mode)
    with pytest.raises(StoreError):
        await store.add(tasks(1))
    with pytest.raises(StoreError):
        await store.get("unknown")
    for task in held:
        task.status, task.finished_at, task.result = "done", time.time(), task.payload
        store.record(task)
    with pytest.raises(StoreError):
        await store.flush()
    assert not store.available
    assert (await store.get(held[0].id)) is held[0]  # the live task, while its state waits
    await until(lambda: not listener.listening.is_set())

    wakes.clear()
    await asyncio.to_thread(cluster.start)
    await store.flush()
    assert store.available and store.fenced == 0
    found = await store.get(held[1].id)
    assert found is not None and found is not held[1] and found.status == "done"
    await until(listener.listening.is_set)
    assert listener.reconnections == 1 and wakes  # a wake for what it missed
    wakes.clear()
    await store.add(tasks(1))
    await until(lambda: wakes)  # listening again
    assert await store.count_unfinished() == 1
    assert f":{SERVICE_ROLE}@" not in caplog.text  # no password in the logs


async def test_terminated_sessions_are_replaced(cluster: Cluster, opener: Opener, url: str) -> None:
    store, other = await opener(), await opener()
    store.listen(lambda: None)
    listener = store.listener
    assert listener is not None
    await until(listener.listening.is_set)
    await store.add(tasks(2))
    assert await store.count_unfinished() == 2
    killed = await asyncio.to_thread(cluster.terminate, url.rsplit("/", 1)[1])
    assert len(killed) == 4  # two writers, the listener, a reader
    await until(lambda: listener.reconnections == 1)
    assert await store.count_unfinished() == 2  # a lost pooled connection is replaced
    await asyncio.sleep(0.05)
    await other.add(tasks(1))  # so is the writer
    assert len((await store.claim(5)).tasks) == 3


async def test_a_stalled_server_times_out(
    cluster: Cluster, opener: Opener, url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connection, "COMMAND_TIMEOUT", 0.5)
    store = await opener()
    await store.add(tasks(1))
    [pid] = cluster.admin_sql(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'service writer' "
        f"AND datname = '{url.rsplit('/', 1)[1]}'"
    ).split()
    try:
        os.kill(int(pid), signal.SIGSTOP)
    except PermissionError:
        pytest.skip("cannot stop the server's process")
    try:
        began = time.monotonic()
        with pytest.raises(StoreError, match="no answer within 0.5 s"):
            await store.add(tasks(1))
        assert time.monotonic() - began < 3
    finally:
        os.kill(int(pid), signal.SIGCONT)
    await store.add(tasks(1))  # on a new connection
    assert await store.count_unfinished() == 2


@contextmanager
def pgbouncer(cluster: Cluster) -> Iterator[int]:
    """PgBouncer in transaction mode before `cluster`, two server connections per pool."""
    binary = shutil.which("pgbouncer") or shutil.which("/usr/sbin/pgbouncer")
    if binary is None:
        pytest.skip("pgbouncer is not installed")
    as_root = os.geteuid() == 0
    directory = Path(tempfile.mkdtemp(prefix="pgbouncer-", dir="/tmp" if as_root else None))
    port = free_port()
    (directory / "users.txt").write_text(f'"{SERVICE_ROLE}" "{SERVICE_ROLE}"\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n* = host=127.0.0.1 port={cluster.port}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n"
        f"auth_type = plain\nauth_file = {directory / 'users.txt'}\n"
        "pool_mode = transaction\ndefault_pool_size = 2\nunix_socket_dir =\n"
    )
    user = "postgres" if as_root else None  # it refuses to run as root
    if user is not None:
        shutil.chown(directory, user)
        for entry in directory.iterdir():
            shutil.chown(entry, user)
    process = subprocess.Popen(
        [binary, str(directory / "pgbouncer.ini")],
        user=user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not _accepts(port):
            assert time.monotonic() < deadline and process.poll() is None, "pgbouncer failed"
            time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(directory, ignore_errors=True)


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


async def test_poll_only_mode_works_through_pgbouncer_in_transaction_mode(
    cluster: Cluster, opener: Opener, url: str
) -> None:
    with pgbouncer(cluster) as port:
        bounced = url.replace(f":{cluster.port}/", f":{port}/")
        stores = [await opener(bounced, listen=False) for _ in range(3)]
        done: list[str] = []

        async def work(store: PostgreSQLStore) -> None:
            await store.add(tasks(200))
            while found := (await store.claim(7)).tasks:
                for task in found:
                    task.status, task.finished_at = "done", time.time()
                    store.record(task)
                    done.append(task.id)
                assert not (await store.heartbeat()).lapsed
                await store.take_over()
                assert await store.get(found[0].id) is not None

        await asyncio.gather(*(work(store) for store in stores))
        for store in stores:
            await store.flush()
        assert len(done) == len(set(done)) == 600
        assert await stores[0].count_unfinished() == 0
        for store in stores:
            await store.close()
