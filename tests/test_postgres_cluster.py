"""The throwaway PostgreSQL cluster and its fixtures, checked through psql."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest

from tests.postgres import Cluster, ClusterError

seen_databases: list[str] = []


def psql(url: str, sql: str) -> str:
    done = subprocess.run(
        ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", url, "-c", sql],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def small_cluster() -> Iterator[Cluster]:
    with Cluster(fast=True, max_connections=20) as cluster:
        yield cluster


def test_each_test_gets_an_empty_database_owned_by_service(postgres_url: str) -> None:
    dbname = urlsplit(postgres_url).path.lstrip("/")
    row = psql(
        postgres_url,
        "SELECT current_user, current_database(), NOT rolsuper FROM pg_roles"
        " WHERE rolname = current_user",
    )
    assert row == f"service|{dbname}|t"
    owner = psql(
        postgres_url,
        "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = current_database()",
    )
    assert owner == "service"
    tables = psql(
        postgres_url,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')",
    )
    assert tables == "0"
    psql(postgres_url, "CREATE TABLE scratch (id int)")
    seen_databases.append(dbname)


def test_another_test_gets_another_database(postgres_url: str, postgres_cluster: Cluster) -> None:
    dbname = urlsplit(postgres_url).path.lstrip("/")
    seen_databases.append(dbname)
    assert len(set(seen_databases)) == len(seen_databases)
    assert psql(postgres_url, "SELECT count(*) FROM pg_tables WHERE tablename = 'scratch'") == "0"
    existing = postgres_cluster.admin_sql("SELECT datname FROM pg_database").splitlines()
    assert [name for name in seen_databases if name in existing] == [dbname]


def test_the_cluster_settings(postgres_cluster: Cluster) -> None:
    settings = postgres_cluster.admin_sql(
        "SELECT name || '=' || setting FROM pg_settings WHERE name IN"
        " ('fsync', 'synchronous_commit', 'full_page_writes', 'max_connections',"
        " 'listen_addresses') ORDER BY name"
    )
    assert settings.splitlines() == [
        "fsync=off",
        "full_page_writes=off",
        "listen_addresses=127.0.0.1",
        "max_connections=200",
        "synchronous_commit=off",
    ]


def test_wrong_password_is_refused(postgres_url: str) -> None:
    wrong = postgres_url.replace("service:service@", "service:wrong@")
    done = subprocess.run(["psql", "-X", "-d", wrong, "-c", "SELECT 1"], capture_output=True)
    assert done.returncode != 0


def test_stop_and_start_keep_the_data(small_cluster: Cluster) -> None:
    small_cluster.create_database("kept")
    url = small_cluster.url("kept")
    psql(url, "CREATE TABLE t (v int); INSERT INTO t VALUES (7)")
    assert small_cluster.admin_sql("SHOW fsync") == "off"

    small_cluster.stop()
    done = subprocess.run(["psql", "-X", "-d", url, "-c", "SELECT 1"], capture_output=True)
    assert done.returncode != 0
    small_cluster.start()
    assert psql(url, "SELECT v FROM t") == "7"

    small_cluster.stop("immediate")
    small_cluster.restart()
    assert psql(url, "SELECT v FROM t") == "7"


def test_terminate_ends_the_matching_backends(postgres_url: str, postgres_cluster: Cluster) -> None:
    dbname = urlsplit(postgres_url).path.lstrip("/")
    listening = (
        f"SELECT count(*) FROM pg_stat_activity WHERE datname = '{dbname}' AND query LIKE 'LISTEN%'"
    )
    command = ["psql", "-X", "-q", "-d", postgres_url]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL) as listener:
        try:
            assert listener.stdin is not None
            listener.stdin.write(b"LISTEN wake;\n")
            listener.stdin.flush()
            deadline = time.monotonic() + 10
            while postgres_cluster.admin_sql(listening) != "1":
                assert time.monotonic() < deadline
                time.sleep(0.01)

            assert postgres_cluster.terminate(dbname, query_like="SELECT%") == []
            pids = postgres_cluster.terminate(dbname, query_like="LISTEN%")
            assert len(pids) == 1
            gone = f"SELECT count(*) FROM pg_stat_activity WHERE pid = {pids[0]}"
            assert postgres_cluster.admin_sql(gone) == "0"
        finally:
            listener.kill()


def test_a_failing_query_raises_with_the_server_message(postgres_cluster: Cluster) -> None:
    with pytest.raises(ClusterError, match="no_such_table"):
        postgres_cluster.admin_sql("SELECT * FROM no_such_table")
