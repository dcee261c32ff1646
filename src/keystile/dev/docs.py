"""The API docs at /docs, served whole by keystile: Swagger UI's script and stylesheet come
from the `fastapi-offline` package, not from a CDN, so the page works on a machine without
internet. The OpenAPI document lists every route keystile serves, the thin routes that
FastAPI does not see included (core/thin.py)."""

from __future__ import annotations

import copy
import inspect
from importlib import resources
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles

from keystile.core import stytch_api

DOCS_URL = "/docs"
ASSETS_URL = "/docs/assets"
OPENAPI_URL = "/openapi.json"

DESCRIPTION = (
    "keystile speaks Stytch's v1 API: point the official `stytch` SDKs at this server. "
    "Every API route takes HTTP Basic auth with `project_id:secret` (Authorize, above). "
    "Endpoints of Stytch's API that keystile does not serve yet answer 501 `endpoint_not_implemented`; "
    "`keystile endpoints` lists them."
)


def assets_dir() -> str:
    """Swagger UI's files as the fastapi-offline package ships them."""
    return str(resources.files("fastapi_offline") / "static")


def install(app: FastAPI) -> None:
    """Serve /docs, its assets and /openapi.json (create the app with docs_url and openapi_url None)."""
    app.mount(ASSETS_URL, StaticFiles(directory=assets_dir()), name="docs-assets")

    @app.get(DOCS_URL, include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=OPENAPI_URL,
            title="keystile API",
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
            # No request to Swagger's online validator (a badge it would load from the internet).
            swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
        )

    @app.get(OPENAPI_URL, include_in_schema=False)
    async def openapi_document() -> dict[str, Any]:
        return openapi(app)


def openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document of `app`, thin routes included, with its HTTP Basic auth."""
    if app.openapi_schema is None:
        schema = get_openapi(
            title="keystile",
            version=app.version,
            description=DESCRIPTION,
            routes=[*_thin_routes_for_schema(app), *app.routes, *_hidden_routes_for_schema(app)],
        )
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["project"] = {
            "type": "http",
            "scheme": "basic",
            "description": "project_id as the user name, the project's secret as the password.",
        }
        schema["security"] = [{"project": []}]
        _tag_by_area(schema)
        app.openapi_schema = schema
    return app.openapi_schema


def _tag_by_area(schema: dict[str, Any]) -> None:
    """Group operations as Stytch's docs do, by product area (B2B Sessions, Consumer Users, …);
    keystile's own routes under "keystile: dev inbox" and "keystile: operations"."""
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if operation.get("tags"):
                continue
            endpoint = stytch_api.find(method.upper(), path)
            if endpoint is not None:
                operation["tags"] = [endpoint.area]
                operation.setdefault("description", f"Stytch SDK: `{endpoint.sdk_method}`.")
            else:
                operation["tags"] = ["keystile: dev inbox" if path.startswith("/dev/") else "keystile: operations"]
                operation["security"] = []  # keystile's own routes take no project credentials


def _hidden_routes_for_schema(app: FastAPI) -> list[APIRoute]:
    """keystile's own routes (probes, metrics, the dev inbox) are kept out of FastAPI's schema
    where they are declared; the document lists them all the same, as copies. The docs' own
    routes stay out."""
    listed = []
    for route in stytch_api._flatten(app.routes):
        original = getattr(route, "original_route", route)  # an included router's route
        if not isinstance(original, APIRoute) or original.include_in_schema:
            continue
        if original.path in (DOCS_URL, OPENAPI_URL):
            continue
        shown = copy.copy(original)
        shown.include_in_schema = True
        listed.append(shown)
    return listed


def _thin_routes_for_schema(app: FastAPI) -> list[APIRoute]:
    """A FastAPI route per thin route, for the document only: same path, method, body model and
    docstring (its handler takes `(body, ctx)`; FastAPI is shown only the body)."""
    described = []
    for route in app.routes:
        model = getattr(route, "body_model", None)  # core/thin.py ThinRoute
        if model is None:
            continue
        name = route.name  # type: ignore[attr-defined]

        async def endpoint(body: Any) -> None:  # never called
            raise NotImplementedError

        endpoint.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter("body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=model)]
        )
        described.append(
            APIRoute(
                route.path,  # type: ignore[attr-defined]
                endpoint,
                methods=sorted(route.methods - {"HEAD"}),  # type: ignore[attr-defined]
                name=name,
                operation_id=f"{name}_{route.path.strip('/').replace('/', '_')}",  # type: ignore[attr-defined]
            )
        )
    return described
