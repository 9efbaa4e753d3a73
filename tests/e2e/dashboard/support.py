"""Tasks put in and read back through the HTTP API, beside what the browser sees."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.e2e.server import Server


class Api:
    def __init__(self, server: Server, token: str | None = None) -> None:
        self.url = server.url
        self.headers = {} if token is None else {"Authorization": f"Bearer {token}"}

    def submit(self, kind: str, payloads: list[Any], query: str = "") -> list[str]:
        url = f"{self.url}/tasks?type={kind}{query}"
        response = httpx.post(url, json=payloads, headers=self.headers, timeout=10)
        assert response.status_code == 202, response.text
        ids: list[str] = response.json()["ids"]
        return ids

    def task(self, task_id: str) -> dict[str, Any]:
        url = f"{self.url}/task/{task_id}"
        found: dict[str, Any] = httpx.get(url, headers=self.headers, timeout=10).json()
        return found

    def finished(self, ids: list[str], timeout: float = 20) -> dict[str, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        records: dict[str, dict[str, Any]] = {}
        for task_id in ids:
            while True:
                record = self.task(task_id)
                if record["status"] in ("done", "failed", "cancelled"):
                    records[task_id] = record
                    break
                assert time.monotonic() < deadline, f"still {record['status']}: {record}"
                time.sleep(0.05)
        return records

    def refinished(self, before: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Wait until each task has finished again, after the finish recorded in `before`."""
        deadline = time.monotonic() + 20
        again: dict[str, dict[str, Any]] = {}
        for task_id, old in before.items():
            while True:
                record = self.task(task_id)
                ended = record["finished_at"]
                if ended is not None and ended > old["finished_at"]:
                    again[task_id] = record
                    break
                assert time.monotonic() < deadline, f"not run again: {record}"
                time.sleep(0.05)
        return again
