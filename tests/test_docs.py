"""`/openapi.json` and `/docs`: every route described, built once, no asset from elsewhere."""

from __future__ import annotations

import re
from typing import Any

from service import Settings, create_app
from service.docs import ApiDocs
from tests.conftest import Starter


async def spec_of(running: Any) -> dict[str, Any]:
    response = await running.client.get("/openapi.json")
    assert response.status_code == 200
    assert response.content_type == "application/json"
    body: dict[str, Any] = await response.get_json()
    return body


async def test_every_route_is_described(start: Starter) -> None:
    async with start() as running:
        spec = await spec_of(running)
        described = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
        served = {
            (method, re.sub(r"<(?:[^:>]*:)?([^>]+)>", r"{\1}", rule.rule))
            for rule in running.app.url_map.iter_rules()
            if rule.endpoint != "static"
            for method in rule.methods or ()
            if method not in ("HEAD", "OPTIONS")
        }
        pages = {route for route in served if route[1].startswith("/dashboard")}
        assert ("GET", "/dashboard") in pages  # HTML for people, left out of the API's document
        assert served - pages == described
        assert {("POST", "/task"), ("POST", "/tasks"), ("GET", "/tasks")} <= described
        assert spec["openapi"].startswith("3.1")
        error = spec["components"]["schemas"]["ErrorBody"]
        assert set(error["required"]) == {"error", "message"}
        post = spec["paths"]["/task"]["post"]
        assert {"202", "200", "413", "415", "422", "503"} <= set(post["responses"])
        assert "Location" in post["responses"]["202"]["headers"]
        assert "Retry-After" in post["responses"]["503"]["headers"]
        assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


async def test_types_are_the_registered_handlers(start: Starter) -> None:
    async with start() as running:
        spec = await spec_of(running)
        for path in ("/task", "/tasks"):
            [type_] = [p for p in spec["paths"][path]["post"]["parameters"] if p["name"] == "type"]
            assert type_["schema"]["enum"] == running.service.registry.names


async def test_the_document_is_built_once(settings: Settings) -> None:
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        first = await (await client.get("/openapi.json")).get_data()
        docs: ApiDocs = app.extensions["api_docs"]

        def fail() -> dict[str, Any]:
            raise AssertionError("the document is built again")

        docs.schema.openapi_provider.schema = fail  # type: ignore[method-assign]
        again = await (await client.get("/openapi.json")).get_data()
        assert again == first


async def test_the_docs_page_needs_nothing_from_elsewhere(start: Starter) -> None:
    async with start() as running:
        response = await running.client.get("/docs")
        assert response.status_code == 200
        page = (await response.get_data()).decode()
        assert "http://" not in page and "https://" not in page and "//" not in page
        assets = re.findall(r'(?:src|href)="([^"]+)"', page)
        assert len(assets) >= 3
        for asset in assets:
            loaded = await running.client.get(asset)
            assert loaded.status_code == 200, asset
            assert len(await loaded.get_data()) > 100, asset
        init = await (await running.client.get("/static/swagger-ui/init.js")).get_data()
        assert b'"/openapi.json"' in init
        assert b"validatorUrl: null" in init, "the page would ask an online validator"
