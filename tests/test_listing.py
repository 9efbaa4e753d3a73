"""`GET /tasks`: newest first, filters that combine, keyset pages."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Running, Starter


async def page(running: Running, query: str) -> dict[str, Any]:
    response = await running.client.get(f"/tasks?{query}")
    assert response.status_code == 200, await response.get_data()
    body: dict[str, Any] = await response.get_json()
    return body


async def test_pages_walk_every_task_newest_first(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/tasks?type=echo&delay=60", list(range(25)))
        ids = (await response.get_json())["ids"]
        seen: list[str] = []
        after = ""
        while True:
            body = await page(running, f"limit=10{after}")
            seen += [task["id"] for task in body["tasks"]]
            if body["next"] is None:
                break
            after = f"&after={body['next']}"
        assert seen == sorted(ids, reverse=True)
        first = await page(running, "")
        assert len(first["tasks"]) == 25 and first["next"] is None


async def test_filters_combine(start: Starter) -> None:
    async with start() as running:
        await running.post("/tasks?type=echo&delay=60", [1, 2])
        failed = await running.post("/task?type=boom", 3)
        failed_id = (await failed.get_json())["id"]
        await running.wait_finished(failed_id)
        done = await running.post("/task?type=echo", 4)
        await running.wait_finished((await done.get_json())["id"])

        def summary(body: dict[str, Any]) -> list[tuple[str, str]]:
            return [(task["type"], task["status"]) for task in body["tasks"]]

        assert summary(await page(running, "status=failed")) == [("boom", "failed")]
        assert summary(await page(running, "type=echo&status=queued")) == [("echo", "queued")] * 2
        assert summary(await page(running, "type=echo&status=done")) == [("echo", "done")]
        assert summary(await page(running, "type=boom&status=queued")) == []
        assert (await page(running, "status=failed"))["tasks"][0]["id"] == failed_id


@pytest.mark.parametrize(
    "query", ["limit=0", "limit=1001", "limit=ten", "status=lost", "colour=red", "limit=1&limit=2"]
)
async def test_a_bad_query_is_refused(start: Starter, query: str) -> None:
    async with start() as running:
        response = await running.client.get(f"/tasks?{query}")
        assert response.status_code == 422
        assert (await response.get_json())["error"] == "invalid_parameter"
