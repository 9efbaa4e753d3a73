"""The dashboard in process: who may see and change what, cross-site POSTs, the OpenAPI
document, hidden payloads and the list's filter. The browser tests are in tests/e2e/dashboard."""

from __future__ import annotations

from typing import Any

import pytest

from service import Settings, create_app
from service.dashboard.blueprint import COOKIE
from tests.conftest import Starter

WRITE, READ = "write-token", "read-token"


def settings(**overrides: Any) -> Settings:
    return Settings(store="memory", handlers=("tests.sample_handlers",), **overrides)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def queued(client: Any, headers: dict[str, str] | None = None) -> str:
    response = await client.post("/task?type=echo&delay=3600", json={"secret": 1}, headers=headers)
    task_id: str = (await response.get_json())["id"]
    return task_id


async def test_with_tokens_a_browser_is_sent_to_the_login_form_and_kept_by_a_cookie() -> None:
    app = create_app(settings(write_tokens=(WRITE,), read_tokens=(READ,)))
    async with app.test_app():
        client = app.test_client()
        response = await client.get("/dashboard/tasks?status=failed")
        assert response.status_code == 302
        assert (
            response.headers["Location"] == "/dashboard/login?next=/dashboard/tasks?status%3Dfailed"
        )
        assert (await client.get("/dashboard/login")).status_code == 200
        refused = await client.post("/dashboard/login", form={"token": "wrong", "next": "/"})
        assert "That token is not valid." in await refused.get_data(as_text=True)
        assert COOKIE not in refused.headers.get("Set-Cookie", "")
        response = await client.post(
            "/dashboard/login", form={"token": READ, "next": "https://elsewhere.example/"}
        )
        assert (response.status_code, response.headers["Location"]) == (303, "/dashboard")
        cookie = response.headers["Set-Cookie"]
        assert f"{COOKIE}={READ}" in cookie and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie and "Path=/dashboard" in cookie
        page = await client.get("/dashboard")  # the test client keeps the cookie
        assert page.status_code == 200 and "read access" in await page.get_data(as_text=True)
        assert "Content-Security-Policy" in page.headers
        # The cookie is the dashboard's only: the API still wants its header.
        assert (await client.get("/tasks")).status_code == 401


async def test_a_read_token_changes_nothing_and_a_write_token_does() -> None:
    app = create_app(settings(write_tokens=(WRITE,), read_tokens=(READ,)))
    async with app.test_app():
        client = app.test_client()
        task_id = await queued(client, bearer(WRITE))
        cancel = f"/dashboard/task/{task_id}/cancel"
        assert (await client.post(cancel)).status_code == 401
        assert (await client.post(cancel, headers=bearer(READ))).status_code == 403
        page = await client.get(f"/dashboard/task/{task_id}", headers=bearer(READ))
        assert 'id="cancel"' not in await page.get_data(as_text=True)
        response = await client.post(cancel, headers=bearer(WRITE))
        assert response.status_code == 303
        assert response.headers["Location"] == f"/dashboard/task/{task_id}?notice=cancelled"
        task = await client.get(f"/task/{task_id}", headers=bearer(READ))
        assert (await task.get_json())["status"] == "cancelled"


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},
        {"Origin": "http://evil.example"},
    ],
)
async def test_a_post_from_another_site_is_refused_even_with_no_tokens(
    headers: dict[str, str],
) -> None:
    app = create_app(settings())
    async with app.test_app():
        client = app.test_client()
        task_id = await queued(client)
        response = await client.post(f"/dashboard/task/{task_id}/cancel", headers=headers)
        assert response.status_code == 403
        assert (await (await client.get(f"/task/{task_id}")).get_json())["status"] == "queued"
        same = {"Sec-Fetch-Site": "same-origin", "Origin": "http://localhost"}
        response = await client.post(f"/dashboard/task/{task_id}/cancel", headers=same)
        assert response.status_code == 303


async def test_dashboard_pages_are_not_in_the_api_document() -> None:
    app = create_app(settings())
    async with app.test_app():
        spec = await (await app.test_client().get("/openapi.json")).get_json()
        assert not [path for path in spec["paths"] if path.startswith("/dashboard")]


@pytest.mark.parametrize("shown", ["show", "hide"])
async def test_payloads_can_be_hidden(shown: str) -> None:
    app = create_app(settings(dashboard_payloads=shown))
    async with app.test_app():
        client = app.test_client()
        task_id = await queued(client)
        page = await (await client.get(f"/dashboard/task/{task_id}")).get_data(as_text=True)
        assert ("&#34;secret&#34;: 1" in page) == (shown == "show")
        assert ("SERVICE_DASHBOARD_PAYLOADS" in page) == (shown == "hide")


async def test_the_list_refuses_a_filter_that_matches_nothing_by_construction() -> None:
    app = create_app(settings())
    async with app.test_app():
        client = app.test_client()
        for query in ("status=lost", "prefix=xyz", "after=not-hex"):
            assert (await client.get(f"/dashboard/tasks?{query}")).status_code == 400
        partial = await client.get("/dashboard/tasks", headers={"HX-Request": "true"})
        text = await partial.get_data(as_text=True)
        assert partial.status_code == 200 and "<html" not in text and 'id="tasks"' in text


async def test_the_overview_counts_what_was_posted_on_every_store(start: Starter) -> None:
    async with start() as running:
        client = running.client
        done = await (await running.post("/tasks?type=echo", [1, 2])).get_json()
        failed = await (await running.post("/task?type=boom", 3)).get_json()
        for task_id in [*done["ids"], failed["id"]]:
            await running.wait_finished(task_id)
        await running.service.store.flush()
        page = await (await client.get("/dashboard")).get_data(as_text=True)
        assert 'data-count="done">2<' in page and 'data-count="failed">1<' in page
        assert "2 done and 1 failed in the last hour" in page
        assert page.count('<tr data-type="') == 2
        listed = await client.get("/dashboard/tasks?status=failed")
        assert failed["id"] in await listed.get_data(as_text=True)
