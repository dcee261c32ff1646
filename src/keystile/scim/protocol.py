"""The SCIM 2.0 service of each connection (RFC 7644), under keystile's public URL at
`/scim/v2/{connection_id}`: a bearer token instead of the project's HTTP Basic credentials,
`application/scim+json` bodies, and SCIM error bodies (`schemas`, `status`, `scimType`,
`detail`) for every failure, those of the app's own checks included (`error_body`).

Each request runs in one transaction, scoped to the connection's organization: the token
names the connection, the connection the organization (scim/provisioning.py)."""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from pydantic import ValidationError
from scim2_models import Context as ScimContext
from scim2_models import (
    Error,
    Group,
    InvalidFilterException,
    InvalidSyntaxException,
    InvalidValueException,
    ListResponse,
    NotFoundException,
    ResourceType,
    Schema,
    SCIMException,
    SearchRequest,
    UnauthorizedException,
)
from starlette.responses import Response

from keystile import errors
from keystile.core import crypto
from keystile.core.context import Context, LazyConnection, Project, close_context
from keystile.core.schemas import MAX_STRING, unstorable_reason
from keystile.scim import repository, resources, service
from keystile.scim.provisioning import Service
from keystile.scim.resources import ScimUser

log = logging.getLogger("keystile.scim")
router = APIRouter(include_in_schema=False)
PREFIX = f"/{service.SERVICE_PATH}/"
BASE = PREFIX + "{connection_id}"
MEDIA_TYPE = "application/scim+json"


class ScimJSON(Response):
    media_type = MEDIA_TYPE

    def render(self, content: Any) -> bytes:
        return json.dumps(content, ensure_ascii=False).encode()


def _error(status: int, detail: str, scim_type: str | None = None) -> ScimJSON:
    body = Error(status=status, scim_type=scim_type, detail=detail).model_dump(
        scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE
    )
    headers = {"WWW-Authenticate": 'Bearer realm="keystile SCIM"'} if status == 401 else None
    return ScimJSON(body, status_code=status, headers=headers)


def _scim_error(exc: SCIMException) -> ScimJSON:
    error = exc.to_error()
    return _error(int(error.status or 400), error.detail or "", error.scim_type)


def error_body(request_id: str, exc: errors.StytchError) -> Response:
    """A failure found before the SCIM service ran (a hostile path value, an unknown route, a
    body too large), in SCIM's shape."""
    scim_type = "invalidValue" if exc.status_code == 400 else None
    return _error(exc.status_code, exc.message, scim_type)


def _resource(model: Any, status: int = 200, request: Request | None = None) -> ScimJSON:
    """One resource; with the request, its `attributes` / `excludedAttributes` apply."""
    headers = None
    location = getattr(getattr(model, "meta", None), "location", None)
    if status == 201 and location:
        headers = {"Location": str(location)}
    params = _search(request) if request is not None else None
    body = model.model_dump(scim_ctx=ScimContext.RESOURCE_QUERY_RESPONSE, response_parameters=params)
    return ScimJSON(body, status_code=status, headers=headers)


def _listed(model: Any, found: list[Any]) -> ScimJSON:
    listed = ListResponse[model](total_results=len(found), start_index=1, items_per_page=len(found), resources=found)
    return ScimJSON(listed.model_dump(scim_ctx=ScimContext.SEARCH_RESPONSE))


def _bearer(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or len(token) > MAX_STRING:
        raise UnauthorizedException(detail="A bearer token is required.")
    return token


def _check_strings(value: Any, where: str = "body") -> None:
    """Strings the database cannot keep (NUL, lone surrogates) or past keystile's length limit
    are refused before anything runs, at any depth."""
    if isinstance(value, str):
        reason = unstorable_reason(value)
        if reason is not None:
            raise InvalidValueException(detail=f"{where}: {reason}")
        if len(value) > MAX_STRING:
            raise InvalidValueException(detail=f"{where}: longer than {MAX_STRING} characters.")
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_strings(key, where)
            _check_strings(item, f"{where}.{key}" if unstorable_reason(str(key)) is None else where)
    elif isinstance(value, list):
        for item in value:
            _check_strings(item, where)


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidSyntaxException(detail="The body is not JSON.") from None
    if not isinstance(body, dict):
        raise InvalidSyntaxException(detail="The body is not a JSON object.")
    _check_strings(body)
    return body


def _validate(model: Any, body: dict[str, Any], scim_ctx: ScimContext) -> Any:
    try:
        return model.model_validate(body, scim_ctx=scim_ctx)
    except ValidationError as exc:
        detail = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}" for err in exc.errors(include_url=False)
        )
        raise InvalidValueException(detail=detail) from None


def _search_request(data: dict[str, Any], scim_ctx: ScimContext = ScimContext.DEFAULT) -> SearchRequest:
    """A search from the query string or a POSTed body; a bad filter is `invalidFilter`."""
    try:
        return SearchRequest.model_validate(data, scim_ctx=scim_ctx)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["loc"][:1] == ("filter",):
            raise InvalidFilterException(detail=f"filter: {first['msg']}") from None
        raise InvalidValueException(detail=f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}") from None


def _search(request: Request) -> SearchRequest:
    params = dict(request.query_params)
    for name, value in params.items():
        _check_strings(value, name)
    return _search_request(
        {k: v for k, v in params.items() if k in ("filter", "startIndex", "count", "attributes", "excludedAttributes")}
    )


async def _serve(request: Request, connection_id: str, work: Callable[[Service], Awaitable[Response]]) -> Response:
    """Authenticate the bearer token against the connection in the URL (both tokens during a
    rotation, compared in constant time), run `work` in one transaction, answer SCIM."""
    state = request.app.state.keystile
    conn = LazyConnection(state.db)
    ctx: Context | None = None
    try:
        token_hash = crypto.hash_token(_bearer(request))
        row = await repository.connection_for_service(conn, connection_id)
        valid = False
        if row is not None:
            valid |= hmac.compare_digest(token_hash, row.token_hash)
            valid |= hmac.compare_digest(token_hash, row.next_token_hash or "")
        if row is None or not valid or row.status != "active":
            raise UnauthorizedException(detail="The bearer token is not valid for this SCIM connection.")
        project = Project(
            row.project_id,
            row.project_name,
            row.live,
            row.public_token,
            timedelta(seconds=row.clock_offset_seconds or 0),
        )
        ctx = Context(
            state=state, conn=conn, project=project, request_id=request.state.request_id, headers=request.headers
        )
        base = f"{state.settings.base_url}{service.SERVICE_PATH}/{row.connection_id}"
        response = await work(Service(ctx, row, base))
    except SCIMException as exc:
        await conn.end(exc)
        return _scim_error(exc)
    except errors.StytchError as exc:
        await conn.end(exc)
        if exc.error_type.startswith("duplicate_"):  # a concurrent create took the address first
            return _error(409, exc.message, "uniqueness")
        scim_type = "invalidValue" if exc.status_code == 400 else None
        return _error(exc.status_code, exc.message, scim_type)
    except Exception as exc:
        await conn.end(exc)
        log.exception("SCIM request failed: %s %s", request.method, request.url.path)
        return _error(500, "An internal error occurred.")
    if ctx is not None:
        await close_context(ctx, None)
    else:
        await conn.end(None)
    return response


# --- discovery (RFC 7644 §4) ---


@router.get(BASE + "/ServiceProviderConfig")
async def service_provider_config(connection_id: str, request: Request) -> Response:
    async def work(svc: Service) -> Response:
        return _resource(resources.service_provider_config(svc.base_url))

    return await _serve(request, connection_id, work)


def _add_catalogue(endpoint: str, model: Any, items: Callable[[str], list[Any]], id_param: str, noun: str) -> None:
    """A read-only catalogue (`/ResourceTypes`, `/Schemas`): all of it, or one by its id."""

    async def listed(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            return _listed(model, items(svc.base_url))

        return await _serve(request, connection_id, work)

    async def one(connection_id: str, request: Request) -> Response:
        wanted = request.path_params[id_param]

        async def work(svc: Service) -> Response:
            for found in items(svc.base_url):
                if found.id == wanted:
                    return _resource(found)
            raise NotFoundException(detail=f"No {noun} {wanted}.")

        return await _serve(request, connection_id, work)

    router.add_api_route(BASE + endpoint, listed, methods=["GET"])
    router.add_api_route(f"{BASE}{endpoint}/{{{id_param}}}", one, methods=["GET"])


_add_catalogue("/ResourceTypes", ResourceType, resources.resource_types, "name", "resource type")
_add_catalogue("/Schemas", Schema, resources.schemas, "schema_id", "schema")


# --- searches by POST (RFC 7644 §3.4.3) ---


def _search_body(body: dict[str, Any]) -> SearchRequest:
    return _search_request(body, ScimContext.SEARCH_REQUEST)


def _listed_search(listed: Any, search: SearchRequest) -> ScimJSON:
    return ScimJSON(listed.model_dump(scim_ctx=ScimContext.SEARCH_RESPONSE, response_parameters=search))


@router.post(BASE + "/.search")
async def search_all(connection_id: str, request: Request) -> Response:
    async def work(svc: Service) -> Response:
        search = _search_body(await _body(request))
        return _listed_search(await svc.search_all(search), search)

    return await _serve(request, connection_id, work)


# --- Users and Groups (RFC 7644 §3): the same routes for each resource type ---


@dataclass(frozen=True)
class _Kind:
    """A resource type's endpoint (`/Users`), the path parameter naming one resource (named
    in errors about a hostile value), and the Service methods that serve it."""

    endpoint: str
    model: Any
    id_param: str
    list: Callable[[Service, SearchRequest], Awaitable[Any]]
    create: Callable[[Service, Any], Awaitable[Any]]
    get: Callable[[Service, str], Awaitable[Any]]
    replace: Callable[[Service, str, Any], Awaitable[Any]]
    patch: Callable[[Service, str, dict[str, Any]], Awaitable[Any]]
    delete: Callable[[Service, str], Awaitable[None]]


def _add_routes(kind: _Kind) -> None:
    """List, create, get, replace, patch and delete, and the search by POST (§3.4.3)."""
    collection = BASE + kind.endpoint
    one = f"{collection}/{{{kind.id_param}}}"

    async def list_(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            search = _search(request)
            return _listed_search(await kind.list(svc, search), search)

        return await _serve(request, connection_id, work)

    async def search(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            search = _search_body(await _body(request))
            return _listed_search(await kind.list(svc, search), search)

        return await _serve(request, connection_id, work)

    async def create(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            resource = _validate(kind.model, await _body(request), ScimContext.RESOURCE_CREATION_REQUEST)
            return _resource(await kind.create(svc, resource), 201, request)

        return await _serve(request, connection_id, work)

    async def get(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            return _resource(await kind.get(svc, request.path_params[kind.id_param]), request=request)

        return await _serve(request, connection_id, work)

    async def replace(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            resource = _validate(kind.model, await _body(request), ScimContext.RESOURCE_REPLACEMENT_REQUEST)
            return _resource(await kind.replace(svc, request.path_params[kind.id_param], resource), request=request)

        return await _serve(request, connection_id, work)

    async def patch(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            body = await _body(request)
            return _resource(await kind.patch(svc, request.path_params[kind.id_param], body), request=request)

        return await _serve(request, connection_id, work)

    async def delete(connection_id: str, request: Request) -> Response:
        async def work(svc: Service) -> Response:
            await kind.delete(svc, request.path_params[kind.id_param])
            return Response(status_code=204)

        return await _serve(request, connection_id, work)

    router.add_api_route(collection, list_, methods=["GET"])
    router.add_api_route(collection, create, methods=["POST"])
    router.add_api_route(collection + "/.search", search, methods=["POST"])
    router.add_api_route(one, get, methods=["GET"])
    router.add_api_route(one, replace, methods=["PUT"])
    router.add_api_route(one, patch, methods=["PATCH"])
    router.add_api_route(one, delete, methods=["DELETE"])


_add_routes(
    _Kind(
        "/Users",
        ScimUser,
        "member_id",
        Service.list_users,
        Service.create_user,
        Service.get_user,
        Service.replace_user,
        Service.patch_user,
        Service.delete_user,
    )
)
_add_routes(
    _Kind(
        "/Groups",
        Group,
        "group_id",
        Service.list_groups,
        Service.create_group,
        Service.get_group,
        Service.replace_group,
        Service.patch_group,
        Service.delete_group,
    )
)
