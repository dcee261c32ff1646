"""Hostile input at every served route: strings that cannot be stored (lone surrogates,
NUL), strings too long for any field, wrong JSON types, bodies that are not UTF-8 or not
objects, and NUL, overlong or undecodable path and query values.

The routes come from the running app's route table (thin routes included), so a route
added later is attacked too, and a body route whose model is not a `RequestModel` fails
here. Every answer must be a 4xx in Stytch's envelope, a `bad_request` naming the field
where there is one, on the same keep-alive connection, with no row written. One server per
backend and one connection: the whole table takes a few seconds.
"""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, ValidationError
from sqlalchemy import func, inspect, select, table

from keystile.core.schemas import MAX_JWT, MAX_PARAM, MAX_STRING, RequestModel
from keystile.core.thin import ThinRoute
from tests.support import ENVELOPE, ProjectInfo, Server, make_project

# Routes that take no body although their method could carry one (Stytch's own shape).
BODYLESS = {
    ("PUT", "/v1/b2b/organizations/{organization_id}/members/{member_id}/reactivate"),
    ("POST", "/dev/clock/reset"),
}
# Routes a browser posts an HTML form to (form-encoded, not JSON); their own tests send them
# hostile fields (tests/http/test_email_link_redirect.py).
FORM_BODIES = {
    ("POST", "/v1/magic_links/redirect"),
    # An SSO connection's callback: a SAML IdP posts its answer there (the SAML tests).
    ("POST", "/v1/b2b/sso/callback/{connection_id}"),
    # Providers that post the code back (Apple's form_post); tests/sdk/test_oauth_consumer.py.
    ("POST", "/v1/oauth/callback/{public_token}"),
}
# The SCIM service (scim/protocol.py) reads SCIM resources with scim2-models, not a
# RequestModel, and answers SCIM error bodies (RFC 7644 §3.12) rather than Stytch's envelope;
# tests/http/test_scim_http.py sends its bodies hostile input.
SCIM_PREFIX = "/scim/v2/"
SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PLACEHOLDER = "hostile-input-placeholder"
TOO_LONG = "a" * (MAX_JWT * 4)  # past every field's limit, well under the body cap


@dataclass
class Endpoint:
    method: str
    path: str
    body_model: type[BaseModel] | None
    path_params: list[str]
    query_params: list[str]


@dataclass
class Probe:
    """One hostile request and what its answer must say: a 400 `bad_request`, naming the
    field or parameter when there is one."""

    what: str
    method: str
    target: str
    body: bytes | None = None
    names: str | None = None  # the field or parameter the error message must name
    headers: dict[str, str] = field(default_factory=dict)


def _dependants(dependant: Any) -> Iterator[Any]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)


def served_endpoints(app: Any) -> list[Endpoint]:
    """Every method and path template the app serves, with its body model and parameters."""
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        for method in sorted((context.methods or set()) - {"HEAD", "OPTIONS"}):
            if isinstance(route, APIRoute):
                dependants = list(_dependants(route.dependant))
                body = route.body_field.field_info.annotation if route.body_field is not None else None
                found.append(
                    Endpoint(
                        method,
                        context.path,
                        body,
                        [p.alias for d in dependants for p in d.path_params],
                        [q.alias for d in dependants for q in d.query_params],
                    )
                )
            else:
                found.append(Endpoint(method, context.path, getattr(route, "body_model", None), [], []))
    return found


def _fill(path: str, params: list[str], **values: str) -> str:
    for name in params:
        path = path.replace(f"{{{name}}}", values.get(name, PLACEHOLDER))
    return path


def _accepts(model: type[BaseModel], name: str, value: Any) -> bool:
    """Whether the field takes this value (other fields' errors aside)."""
    try:
        model.model_validate({name: value})
    except ValidationError as exc:
        return not any(err["loc"][:1] == (name,) for err in exc.errors())
    return True


def body_probes(endpoint: Endpoint) -> Iterator[Probe]:
    model = endpoint.body_model
    assert model is not None
    target = _fill(endpoint.path, endpoint.path_params)

    def probe(what: str, body: bytes, names: str | None = None) -> Probe:
        return Probe(what, endpoint.method, target, body, names, headers={"content-type": "application/json"})

    for what, body in (
        ("an array body", b"[]"),
        ("a string body", b'"text"'),
        ("a number body", b"1"),
        ("a null body", b"null"),
        ("a key with NUL", b'{"a\\u0000b": 1}'),
        ("a key with a lone surrogate", b'{"a\\ud800": 1}'),
        ("a key that is not UTF-8", b'{"a\xffb": 1}'),
        ("JSON nested too deeply", b"[" * 100_000 + b"]" * 100_000),
    ):
        yield probe(what, body)
    for name, info in model.model_fields.items():
        if _accepts(model, name, "text") and not _accepts(model, name, 12345):  # a string field
            yield probe(f"{name}: lone surrogate", b'{"%s": "a\\ud800b"}' % name.encode(), name)
            yield probe(f"{name}: NUL", b'{"%s": "a\\u0000b"}' % name.encode(), name)
            yield probe(f"{name}: invalid UTF-8", b'{"%s": "a\xff\xfeb"}' % name.encode(), name)
            yield probe(f"{name}: too long", json.dumps({name: TOO_LONG}).encode(), name)
            yield probe(f"{name}: a number", json.dumps({name: 12345}).encode(), name)
            yield probe(f"{name}: an object", json.dumps({name: {"a": "b"}}).encode(), name)
            yield probe(f"{name}: an array", json.dumps({name: ["a"]}).encode(), name)
        elif _accepts(model, name, ["text"]):
            yield probe(f"{name}: lone surrogate in an array", b'{"%s": ["a\\ud800b"]}' % name.encode(), name)
            yield probe(f"{name}: NUL in an array", b'{"%s": ["a\\u0000b"]}' % name.encode(), name)
        elif _accepts(model, name, {"k": "text"}):
            yield probe(f"{name}: lone surrogate in an object", b'{"%s": {"k": "a\\ud800b"}}' % name.encode(), name)
            yield probe(f"{name}: NUL in an object", b'{"%s": {"k": "a\\u0000b"}}' % name.encode(), name)
            yield probe(f"{name}: NUL in a key", b'{"%s": {"a\\u0000b": 1}}' % name.encode(), name)
        if info.is_required():
            yield probe(f"{name}: null where required", json.dumps({name: None}).encode(), name)


def param_probes(endpoint: Endpoint) -> Iterator[Probe]:
    body = b"{}" if endpoint.body_model is not None else None
    headers = {"content-type": "application/json"} if body is not None else {}
    hostile = (
        ("NUL", "a%00b"),
        ("too long", "a" * (MAX_PARAM + 1)),
        ("invalid UTF-8", "a%FF%FEb"),
        ("an encoded surrogate", "a%ED%A0%80b"),
    )
    for name in endpoint.path_params:
        for what, value in hostile:
            target = _fill(endpoint.path, endpoint.path_params, **{name: value})
            yield Probe(f"path {name}: {what}", endpoint.method, target, body, name, headers)
    for name in endpoint.query_params:
        for what, value in hostile:
            target = f"{_fill(endpoint.path, endpoint.path_params)}?{quote(name)}={value}"
            yield Probe(f"query {name}: {what}", endpoint.method, target, body, name, headers)


async def _row_counts(server: Server) -> dict[str, int]:
    async with server.state.transaction() as conn:
        names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        counts = await conn.execute(
            select(*(select(func.count()).select_from(table(n)).scalar_subquery() for n in names))
        )
        return dict(zip(names, counts.one(), strict=True))


class Client:
    """One keep-alive HTTP connection; every request must leave it open."""

    def __init__(self, server: Server, project: ProjectInfo) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", server.settings.port, timeout=30)
        self.conn.connect()
        self.sock = self.conn.sock
        credentials = base64.b64encode(f"{project.project_id}:{project.secret}".encode()).decode()
        self.auth = {"authorization": f"Basic {credentials}"}

    def send(self, method: str, target: str, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes, bool]:
        """(status, body, whether the connection is still the same one); status 0 when the
        server dropped the connection without an answer."""
        try:
            self.conn.request(method, target, body=body, headers={**self.auth, **headers})
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            return 0, repr(exc).encode(), False
        return resp.status, data, not resp.will_close and self.conn.sock is self.sock

    def close(self) -> None:
        self.conn.close()


def check(probe: Probe, status: int, data: bytes, kept: bool) -> str | None:
    """What is wrong with this answer, or None."""
    if not kept:
        return f"closed the connection ({status})"
    if not 400 <= status < 500:
        return f"answered {status}: {data[:200]!r}"
    try:
        envelope = json.loads(data)
    except ValueError:
        return f"answered {status} without a JSON envelope: {data[:200]!r}"
    if probe.target.startswith(SCIM_PREFIX):
        return check_scim(probe, status, envelope)
    if set(envelope) != ENVELOPE:
        return f"envelope {envelope}"
    if envelope["status_code"] != status or not envelope["error_type"]:
        return f"envelope {envelope}"
    if envelope["error_type"] != "bad_request":
        return f"{envelope['error_type']}: {envelope['error_message']}"
    if probe.names and probe.names not in envelope["error_message"]:
        return f"message does not name {probe.names}: {envelope['error_message']}"
    return None


def check_scim(probe: Probe, status: int, body: dict[str, Any]) -> str | None:
    """A SCIM error body: the Error schema, the status as a string, an invalid value or syntax."""
    if body.get("schemas") != [SCIM_ERROR] or body.get("status") != str(status):
        return f"SCIM error body {body}"
    if body.get("scimType") not in ("invalidValue", "invalidSyntax"):
        return f"scimType {body.get('scimType')}: {body.get('detail')}"
    if probe.names and probe.names not in str(body.get("detail")):
        return f"detail does not name {probe.names}: {body.get('detail')}"
    return None


@pytest.fixture(scope="module")
def hostile_project(server: Server) -> ProjectInfo:
    return make_project(server)


class TestEveryRoute:
    def test_every_body_route_validates_with_a_request_model(self, server: Server):
        missing = []
        for endpoint in served_endpoints(server.app):
            takes_body = endpoint.method in ("POST", "PUT", "PATCH")
            if endpoint.body_model is None:
                scim = endpoint.path.startswith(SCIM_PREFIX)
                if takes_body and not scim and (endpoint.method, endpoint.path) not in BODYLESS | FORM_BODIES:
                    missing.append(f"{endpoint.method} {endpoint.path}: no request model")
            elif not issubclass(endpoint.body_model, RequestModel):
                missing.append(f"{endpoint.method} {endpoint.path}: {endpoint.body_model.__name__} is no RequestModel")
        assert missing == []

    def test_the_route_table_includes_the_thin_routes(self, server: Server):
        thin = [c.path for c in iter_route_contexts(server.app.routes) if isinstance(c.original_route, ThinRoute)]
        served = {(e.method, e.path) for e in served_endpoints(server.app)}
        assert thin and all(("POST", path) in served for path in thin)

    def test_hostile_input_is_a_4xx_naming_the_field_on_one_connection_and_writes_nothing(
        self, server: Server, hostile_project: ProjectInfo
    ):
        client = Client(server, hostile_project)
        failures: list[str] = []
        sent = 0
        try:
            for endpoint in served_endpoints(server.app):
                probes = list(param_probes(endpoint))
                if endpoint.body_model is not None:
                    probes += body_probes(endpoint)
                if not probes:
                    continue
                before = server.run(_row_counts(server))
                for probe in probes:
                    status, data, kept = client.send(probe.method, probe.target, probe.body, probe.headers)
                    sent += 1
                    problem = check(probe, status, data, kept)
                    if problem is None:  # the same connection still serves a normal request
                        status, data, kept = client.send("GET", "/healthz", None, {})
                        if status != 200 or not kept:
                            problem = f"the next request on the connection got {status}"
                    if problem is not None:
                        failures.append(f"{endpoint.method} {endpoint.path} [{probe.what}]: {problem}")
                        if not kept:
                            client.close()
                            client = Client(server, hostile_project)
                after = server.run(_row_counts(server))
                if after != before:
                    changed = {n: (before.get(n), after.get(n)) for n in after if before.get(n) != after[n]}
                    failures.append(f"{endpoint.method} {endpoint.path}: rows changed {changed}")
        finally:
            client.close()
        assert sent > 500  # the table was found and attacked
        assert not failures, "\n".join(failures)


class TestLimits:
    """The default length limit and the ones a field's type raises it to."""

    def test_a_string_past_the_default_limit_is_refused(self, server: Server, hostile_project: ProjectInfo):
        client = Client(server, hostile_project)
        try:
            body = json.dumps({"session_token": "a" * (MAX_STRING + 1)}).encode()
            status, data, kept = client.send(
                "POST", "/v1/b2b/sessions/authenticate", body, {"content-type": "application/json"}
            )
        finally:
            client.close()
        assert (status, kept) == (400, True)
        assert (
            json.loads(data)["error_message"] == f"session_token: String should have at most {MAX_STRING} characters."
        )

    def test_a_session_jwt_may_be_longer_than_the_default(self, server: Server, hostile_project: ProjectInfo):
        client = Client(server, hostile_project)
        try:
            body = json.dumps({"session_jwt": "a" * (MAX_STRING + 1)}).encode()
            status, data, kept = client.send(
                "POST", "/v1/b2b/sessions/authenticate", body, {"content-type": "application/json"}
            )
        finally:
            client.close()
        assert kept and (status, json.loads(data)["error_type"]) != (400, "bad_request")  # read as a JWT, not refused


class TestCredentials:
    """Every authenticated route reads its credentials through one function (core/context.py)."""

    @pytest.mark.parametrize(
        "credentials", [b"project-test-a\x00b:secret", b"project-test-ab:sec\x00ret", b"\xff\xfe:secret"]
    )
    @pytest.mark.parametrize("path", ["/v1/b2b/sessions/authenticate", "/v1/b2b/organizations/search"])
    def test_hostile_basic_credentials_are_unauthorized(
        self, server: Server, hostile_project: ProjectInfo, path: str, credentials: bytes
    ):
        client = Client(server, hostile_project)
        client.auth = {"authorization": f"Basic {base64.b64encode(credentials).decode()}"}
        try:
            status, data, kept = client.send("POST", path, b"{}", {"content-type": "application/json"})
        finally:
            client.close()
        assert (status, json.loads(data)["error_type"], kept) == (401, "unauthorized_credentials", True)
