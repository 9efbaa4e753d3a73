"""Tasks put in and read back through the HTTP API, beside what the browser sees."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.e2e.server import Server


class Api:
    def __init__(self, server: Server, token: str | None = None) -> None:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        self.client = httpx.Client(base_url=server.url, headers=headers, timeout=10)

    def submit(self, kind: str, payloads: list[Any], query: str = "") -> list[str]:
        response = self.client.post(f"/tasks?type={kind}{query}", json=payloads)
        assert response.status_code == 202, response.text
        ids: list[str] = response.json()["ids"]
        return ids

    def task(self, task_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.client.get(f"/task/{task_id}").json()
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
