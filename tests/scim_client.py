"""A SCIM client for the tests: what an identity provider sends to a keystile SCIM connection,
as plain HTTP with its bearer token (the requests of Okta's and Entra's public SCIM docs)."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from tests.flows import new_email, new_slug
from tests.support import call, make_project

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
# email-validator refuses the special-use `.test` names as SCIM emails: `.example` is fine.
DOMAIN = "acme.example"


def scim_email(name: str = "ada") -> str:
    return new_email(name, DOMAIN)


def http_connection(server: Any) -> dict[str, Any]:
    """A SCIM connection of a new organization in a new project, made over plain HTTP: the
    answer's `connection`, its bearer token included."""
    project = make_project(server)
    org = call(
        project, "POST", "v1/b2b/organizations", json={"organization_name": "Acme", "organization_slug": new_slug()}
    ).json()["organization"]
    return call(project, "POST", f"v1/b2b/scim/{org['organization_id']}/connection", json={}).json()["connection"]


class ScimClient:
    """Requests to one connection's SCIM base URL with its bearer token."""

    def __init__(self, base_url: str, token: str) -> None:
        self.base_url = base_url.split("?")[0].rstrip("/")
        self.token = token

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/scim+json"}
        if body is not None:
            headers["Content-Type"] = "application/scim+json"
        return requests.request(
            method, f"{self.base_url}{path}", json=body, params=params or None, headers=headers, timeout=30
        )

    def ok(self, method: str, path: str, body: Any = None, status: int = 200, **params: Any) -> Any:
        resp = self.call(method, path, body, **params)
        assert resp.status_code == status, f"{method} {path}: {resp.status_code} {resp.text}"
        return resp.json() if resp.content else None

    def patch(self, path: str, *operations: dict[str, Any]) -> Any:
        return self.ok("PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)})


def okta_user(email: str, **extra: Any) -> dict[str, Any]:
    """The body Okta POSTs to /Users when a person is assigned to the app (Okta's SCIM 2.0 guide)."""
    return {
        "schemas": [CORE_USER],
        "userName": email,
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": email, "type": "work"}],
        "displayName": "Ada Lovelace",
        "locale": "en-US",
        "externalId": f"00u{uuid.uuid4().hex[:17]}",
        "groups": [],
        "password": "1mz050nq",
        "active": True,
        **extra,
    }


def entra_user(email: str, **extra: Any) -> dict[str, Any]:
    """The body Microsoft Entra POSTs to /Users (Entra's SCIM endpoint documentation)."""
    return {
        "schemas": [CORE_USER, ENTERPRISE_USER],
        "externalId": email.split("@")[0],
        "userName": email,
        "active": True,
        "displayName": "Grace Hopper",
        "emails": [{"primary": True, "type": "work", "value": email}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Grace Hopper", "familyName": "Hopper", "givenName": "Grace"},
        "roles": [],
        ENTERPRISE_USER: {"department": "Research", "employeeNumber": "1729"},
        **extra,
    }
