"""Clients that declare a body and stall, on real Hypercorn: a 408 in time, and the socket freed."""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import httpx
import pytest

from tests.e2e.server import Server

BODY_TIMEOUT = 1.0
SLACK = 2.0
ENV = {"SERVICE_STORE": "memory", "SERVICE_BODY_TIMEOUT": str(BODY_TIMEOUT)}
HEAD = (
    b"POST /task?type=journal HTTP/1.1\r\nHost: test\r\n"
    b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
)


def stalled(server: Server, part: bytes = b"") -> socket.socket:
    """A connection that declares 100 bytes of body, sends `part` of them, then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(HEAD + part)
    return sock


def read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    """Everything the server sends until it closes the connection; fails if it does not."""
    deadline = time.monotonic() + timeout
    received = b""
    while True:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            raise AssertionError(f"still open after {timeout} s, got {received!r}") from None
        if not chunk:
            return received
        received += chunk


def parse(raw: bytes) -> tuple[int, dict[str, str], Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines)
    return int(status_line.split()[1]), headers, json.loads(body)


def assert_timed_out(raw: bytes) -> None:
    status, headers, body = parse(raw)
    assert status == 408, raw
    assert headers["connection"] == "close"
    assert body["error"] == "request_timeout" and set(body) == {"error", "message"}


@pytest.mark.parametrize("part", [b"", b"[1, 2"], ids=["no-body", "stalls-midway"])
def test_http1_stalled_body_gets_408_and_the_socket_closes(tmp_path: Path, part: bytes) -> None:
    with Server(tmp_path, ENV) as server:
        began = time.monotonic()
        with stalled(server, part) as sock:
            raw = read_until_closed(sock, BODY_TIMEOUT + SLACK)
        elapsed = time.monotonic() - began
        assert_timed_out(raw)
        assert BODY_TIMEOUT * 0.9 <= elapsed < BODY_TIMEOUT + SLACK
        assert server.stop() == 0
    assert server.journal() == []
    assert "Traceback" not in server.log()


def h2_stalled_request(port: int, part: bytes) -> tuple[socket.socket, h2.connection.H2Connection]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    connection = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    connection.initiate_connection()
    headers = [
        (":method", "POST"),
        (":path", "/task?type=journal"),
        (":scheme", "http"),
        (":authority", "test"),
        ("content-type", "application/json"),
        ("content-length", "100"),
    ]
    connection.send_headers(1, headers)
    connection.send_data(1, part)
    sock.sendall(connection.data_to_send())
    return sock, connection


def test_http2_stalled_body_gets_408_and_the_connection_is_freed(tmp_path: Path) -> None:
    keep_alive = 1
    with Server(tmp_path, ENV, "--keep-alive", str(keep_alive)) as server:
        sock, connection = h2_stalled_request(server.port, b"[1, 2")
        status, body, ended, closed = 0, b"", False, False
        deadline = time.monotonic() + BODY_TIMEOUT + keep_alive + 2 * SLACK
        with sock:
            while not closed and time.monotonic() < deadline:
                sock.settimeout(deadline - time.monotonic())
                data = sock.recv(65536)
                closed = not data
                for event in connection.receive_data(data):
                    if isinstance(event, h2.events.ResponseReceived):
                        status = int(dict(event.headers)[b":status"])
                    elif isinstance(event, h2.events.DataReceived):
                        body += event.data
                    elif isinstance(event, h2.events.StreamEnded):
                        ended = True
                    elif isinstance(event, h2.events.ConnectionTerminated):
                        closed = True
                sock.sendall(connection.data_to_send())
        assert status == 408 and ended, (status, body)
        assert json.loads(body)["error"] == "request_timeout"
        assert closed, "the server kept the HTTP/2 connection open"
        assert server.stop() == 0
    assert "Traceback" not in server.log()


def open_files(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.skipif(not Path("/proc/self/fd").exists(), reason="counts open files in /proc")
def test_hundreds_of_stalled_clients_neither_block_others_nor_keep_sockets(
    tmp_path: Path,
) -> None:
    with Server(tmp_path, ENV) as server:
        assert server.process is not None
        pid = server.process.pid
        baseline = open_files(pid)
        sockets = [stalled(server) for _ in range(300)]
        try:
            with httpx.Client(base_url=server.url, timeout=5) as client:
                codes = [client.post("/task?type=journal", json=n).status_code for n in range(20)]
            assert codes == [202] * 20
            assert open_files(pid) >= baseline + 250, "the stalled connections were not held"
            answers = [read_until_closed(sock, BODY_TIMEOUT + SLACK) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
        for raw in answers:
            assert_timed_out(raw)
        deadline = time.monotonic() + SLACK
        while open_files(pid) > baseline + 5 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert open_files(pid) <= baseline + 5, "the server kept the stalled sockets"
        assert server.stop() == 0
    assert len(server.journal()) == 20
    assert "Traceback" not in server.log()
