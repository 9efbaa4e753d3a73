"""Tokens: a matrix of every route in the API's own document against every kind of token."""

from __future__ import annotations

from typing import Any

import pytest
from quart.typing import TestClientProtocol as Client

from service import Settings, create_app
from service.auth import Tokens, matches

WRITE, OLD_WRITE, READ = "write-token", "write-token-being-rotated-out", "read-token"
LIST_EXAMPLE = {"/task/{task_id}": "/task/{id}", "/task/{task_id}/retry": "/task/{id}/retry"}


@pytest.fixture
def secured(tmp_path: Any) -> Settings:
    return Settings(
        store="memory",
        handlers=("tests.sample_handlers",),
        write_tokens=(WRITE, OLD_WRITE),
        read_tokens=(READ,),
    )


async def routes(client: Client) -> list[tuple[str, str]]:
    """(method, path) of every operation the service documents."""
    response = await client.get("/openapi.json", headers=bearer(READ))
    spec = await response.get_json()
    return [(method.upper(), path) for path, ops in spec["paths"].items() for method in ops]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def call(
    client: Client, method: str, path: str, task_id: str, headers: dict[str, str]
) -> Any:
    url = LIST_EXAMPLE.get(path, path).format(id=task_id)
    if method == "POST" and "retry" not in path:
        return await client.open(url, method=method, headers=headers, json="payload")
    return await client.open(url, method=method, headers=headers, data=b"")  # type: ignore[call-arg]


async def test_every_route_but_health_and_ready_needs_a_token(secured: Settings) -> None:
    app = create_app(secured)
    async with app.test_app():
        client = app.test_client()
        answer = await client.post("/task?type=echo", json=1, headers=bearer(WRITE))
        task_id = (await answer.get_json())["id"]
        operations = await routes(client)
        assert ("POST", "/task") in operations and ("GET", "/tasks") in operations
        for method, path in operations:
            writes = method != "GET"
            for headers, expected in [
                ({}, 401),
                (bearer("not-a-token"), 401),
                ({"Authorization": f"Basic {READ}"}, 401),
                (bearer(READ), 403 if writes else None),
                (bearer(WRITE), None),
                (bearer(OLD_WRITE), None),
            ]:
                response = await call(client, method, path, task_id, headers)
                where = f"{method} {path} with {headers}"
                if path in ("/health", "/ready"):
                    assert response.status_code == 200, where
                elif expected is None:
                    assert response.status_code not in (401, 403), where
                else:
                    assert response.status_code == expected, where
                    body = await response.get_json()
                    assert body["error"] == ("unauthorized" if expected == 401 else "forbidden")
                    assert response.headers["WWW-Authenticate"].startswith("Bearer"), where


async def test_a_refused_submission_stores_nothing(secured: Settings) -> None:
    app = create_app(secured)
    async with app.test_app():
        client = app.test_client()
        refused = await client.post("/task?type=echo", json=1, headers=bearer(READ))
        assert refused.status_code == 403
        listed = await client.get("/tasks", headers=bearer(READ))
        assert (await listed.get_json())["tasks"] == []


async def test_no_tokens_is_open_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(Settings(store="memory", handlers=("tests.sample_handlers",)))
    async with app.test_app():
        client = app.test_client()
        assert (await client.post("/task?type=echo", json=1)).status_code == 202
        assert (await client.get("/tasks")).status_code == 200
        spec = await (await client.get("/openapi.json")).get_json()
    warnings = [r.getMessage() for r in caplog.records if "SERVICE_WRITE_TOKENS" in r.getMessage()]
    assert len(warnings) == 1 and "anyone" in warnings[0]
    assert spec["security"] == []


def test_tokens_are_read_from_the_environment() -> None:
    env = {"SERVICE_WRITE_TOKENS": " a , b,", "SERVICE_READ_TOKENS": "c"}
    tokens = Tokens.from_settings(Settings.from_env(env))
    assert tokens.write == [b"a", b"b"] and tokens.read == [b"c"]
    assert not Tokens.from_settings(Settings.from_env({})).required


def test_matching_looks_at_every_token() -> None:
    known = [b"first", b"second"]
    assert matches(b"second", known) and matches(b"first", known)
    assert not matches(b"secon", known) and not matches(b"", known)
