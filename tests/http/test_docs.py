"""/docs works without internet: its HTML names only keystile's own assets, each of which
keystile serves; and the OpenAPI document lists every route keystile serves, the thin
routes included."""

from __future__ import annotations

import re

import requests

from keystile.core import stytch_api


def served_routes(app) -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, but the docs' own."""
    return {(m, p) for m, p in stytch_api.served(app.routes) if p not in ("/docs", "/openapi.json")}


class TestDocsPage:
    def test_the_page_loads_nothing_from_outside(self, server):
        resp = requests.get(f"{server.base_url}docs", timeout=10)
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/html")
        assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", resp.text), resp.text
        assets = re.findall(r'(?:src|href)="([^"]+)"', resp.text)
        assert sorted(assets) == [
            "/docs/assets/favicon.png",
            "/docs/assets/swagger-ui-bundle.js",
            "/docs/assets/swagger-ui.css",
        ]
        for asset in assets:
            got = requests.get(f"{server.base_url}{asset.lstrip('/')}", timeout=10)
            assert got.status_code == 200 and len(got.content) > 1000, asset
        assert "'/openapi.json'" in resp.text

    def test_the_assets_are_swagger_ui(self, server):
        script = requests.get(f"{server.base_url}docs/assets/swagger-ui-bundle.js", timeout=10)
        assert "javascript" in script.headers["content-type"] and "SwaggerUIBundle" in script.text
        css = requests.get(f"{server.base_url}docs/assets/swagger-ui.css", timeout=10)
        assert css.headers["content-type"].startswith("text/css") and ".swagger-ui" in css.text


class TestOpenAPIDocument:
    def test_every_served_route_is_listed(self, server):
        schema = requests.get(f"{server.base_url}openapi.json", timeout=10).json()
        # HEAD aside, as `served` leaves it (Starlette answers it for every GET).
        listed = {(m.upper(), path) for path, ops in schema["paths"].items() for m in ops if m != "head"}
        served = served_routes(server.app)
        assert served, "no routes found"
        assert served - listed == set()
        assert listed <= served  # nothing listed that is not served
        assert {("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/dev/inbox/messages")} <= listed
        assert schema["paths"]["/dev/inbox/messages"]["get"]["tags"] == ["keystile: dev inbox"]
        assert schema["paths"]["/readyz"]["get"]["security"] == []

    def test_thin_routes_are_listed_with_their_body(self, server):
        schema = requests.get(f"{server.base_url}openapi.json", timeout=10).json()
        thin = [r for r in server.app.routes if getattr(r, "body_model", None) is not None]
        assert {r.path for r in thin} >= {"/v1/b2b/sessions/authenticate", "/v1/sessions/authenticate"}
        for route in thin:
            operation = schema["paths"][route.path]["post"]
            ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]
            body = schema["components"]["schemas"][ref.rsplit("/", 1)[1]]
            assert set(route.body_model.model_fields) == set(body["properties"])

    def test_operations_are_grouped_by_stytch_area_and_take_basic_auth(self, server):
        schema = requests.get(f"{server.base_url}openapi.json", timeout=10).json()
        assert schema["paths"]["/v1/b2b/sessions/authenticate"]["post"]["tags"] == ["B2B Sessions"]
        assert schema["paths"]["/v1/b2b/organizations/search"]["post"]["tags"] == ["B2B Organizations"]
        assert schema["components"]["securitySchemes"]["project"] == {
            "type": "http",
            "scheme": "basic",
            "description": "project_id as the user name, the project's secret as the password.",
        }


class TestInboxPage:
    def test_a_filter_that_matches_nothing_says_so_and_offers_to_clear_it(self, server):
        page = requests.get(f"{server.base_url}dev/inbox", params={"to": "nobody@nowhere.test"}, timeout=10).text
        assert "No message to <strong>nobody@nowhere.test</strong>: the filter matched nothing." in page
        assert '<a href="?">Clear the filter</a>' in page
        assert "No message yet" not in page
