"""Shared test helpers that speak the API: fresh names, reading SDK errors, whole login flows
through the official SDK, and the RBAC policy most tests use. One definition each; a test
module adds only what is its own. (tests/support.py holds the machinery: servers, projects,
the inbox, plain-HTTP calls and their error envelopes.)"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from keystile.core import policy_store as rbac_repository
from keystile.core.policy import Policy
from keystile.oauth import registrations
from tests.support import Inbox, keystile_in_process

# --- fresh names ------------------------------------------------------------------------
# The dev inbox and a server's database are shared by every test on that server: every
# address, slug and external id a test makes is new.


def new_email(name: str = "ada", domain: str = "acme.test") -> str:
    """A fresh address, e.g. `ada-1f2e3d4c5b@acme.test`."""
    return f"{name}-{uuid.uuid4().hex[:10]}@{domain}"


def new_slug(prefix: str = "acme") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_external_id(prefix: str = "ext") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_org(b2b: Any, name: str = "Acme") -> Any:
    """An organization made by the SDK with a fresh slug from its name (`acme-1f2e3d4c`)."""
    return b2b.organizations.create(organization_name=name, organization_slug=new_slug(name.lower())).organization


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of a PKCE verifier (RFC 7636 §4.2)."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


def pkce_pair() -> tuple[str, str]:
    """A fresh PKCE verifier and its S256 challenge."""
    verifier = secrets.token_urlsafe(48)
    return verifier, pkce_challenge(verifier)


# --- SDK errors ---------------------------------------------------------------------------


def error_type(caught: pytest.ExceptionInfo[StytchError]) -> str:
    """The `error_type` of an SDK error caught with `pytest.raises(StytchError)`."""
    return caught.value.details.error_type


def error_of(call: Callable[[], Any]) -> Any:
    """Run an SDK call that must fail; its error details (status_code, error_type, …)."""
    with pytest.raises(StytchError) as caught:
        call()
    return caught.value.details


# --- JWTs ---------------------------------------------------------------------------------


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A JWT's header and claims, decoded without checking anything, and its signature."""
    header, payload, signature = token.split(".")
    return _unpadded_json(header), _unpadded_json(payload), signature


def jwt_of(header: dict[str, Any], claims: dict[str, Any], signature: str) -> str:
    """A JWT put together again from parts, as a forger would: the signature is not redone."""
    return ".".join([_padless(header), _padless(claims), signature])


def _unpadded_json(segment: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _padless(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


# --- B2B flows ----------------------------------------------------------------------------


def discover(b2b: Any, inbox: Inbox, email: str) -> Any:
    """Send a discovery link and authenticate it; the discovery authenticate response."""
    b2b.magic_links.email.discovery.send(email_address=email)
    return b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(email))


def discovery_signup(b2b: Any, inbox: Inbox, email: str, organization_name: str | None = None, **create: Any) -> Any:
    """Discovery magic link → authenticate → create an organization; returns the create response."""
    ist = discover(b2b, inbox, email).intermediate_session_token
    return b2b.discovery.organizations.create(
        intermediate_session_token=ist,
        organization_name=organization_name or f"Org {uuid.uuid4().hex[:6]}",
        **create,
    )


def make_org(b2b: Any, inbox: Inbox, *, founder_domain: str = "acme.test", **settings: Any) -> Any:
    """An organization named Acme, created through discovery by a fresh (verified) founder."""
    return discovery_signup(b2b, inbox, new_email("founder", founder_domain), "Acme", **settings).organization


def jit_org(b2b: Any, inbox: Inbox, domain: str = "acme.test", *, founder_domain: str | None = None) -> Any:
    """An organization that provisions members of `domain` just in time (RESTRICTED)."""
    return make_org(
        b2b,
        inbox,
        founder_domain=founder_domain or domain,
        email_allowed_domains=[domain],
        email_jit_provisioning="RESTRICTED",
    )


def login(b2b: Any, inbox: Inbox, organization_id: str, email: str) -> Any:
    """An existing Member logs in with an email magic link; returns the authenticate response."""
    b2b.magic_links.email.login_or_signup(organization_id=organization_id, email_address=email)
    return b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(email))


def add_member(
    b2b: Any, inbox: Inbox, organization_id: str, *, roles: list[str] | None = None, domain: str = "acme.test"
) -> Any:
    """A further Member of the organization, logged in; returns the authenticate response."""
    email = new_email("bob", domain)
    b2b.organizations.members.create(organization_id=organization_id, email_address=email, roles=roles)
    return login(b2b, inbox, organization_id, email)


def acting(options: type, member: Any, *, jwt: bool = False) -> Any:
    """Request options that send the member's session token (or JWT) as the session header."""
    if jwt:
        return options(authorization=Authorization(session_jwt=member.session_jwt))
    return options(authorization=Authorization(session_token=member.session_token))


# --- RBAC ---------------------------------------------------------------------------------

DOCUMENTS_POLICY: dict[str, Any] = {
    "resources": [
        {
            "resource_id": "documents",
            "description": "Shared documents",
            "actions": ["read", "write", "delete"],
        },
        {
            "resource_id": "invoices",
            "description": "Invoices",
            "actions": ["read", "pay"],
        },
    ],
    "roles": [
        {
            "role_id": "editor",
            "description": "Reads and writes documents",
            "permissions": [{"resource_id": "documents", "actions": ["read", "write"]}],
        },
        {
            "role_id": "inviter",
            "description": "May add Members, nothing else",
            "permissions": [{"resource_id": "stytch.member", "actions": ["create"]}],
        },
        {
            "role_id": "stytch_admin",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["*"]}],
        },
    ],
    "scopes": [
        {
            "scope": "read:documents",
            "description": "",
            "permissions": [{"resource_id": "documents", "actions": ["read"]}],
        }
    ],
}


def set_policy(project: Any, policy: dict[str, Any]) -> None:
    """Declare the project's RBAC policy, as `keystile rbac set` or keystile.toml would."""
    server = project.server

    async def work() -> None:
        async with server.state.transaction() as conn:
            await rbac_repository.save(conn, project.project_id, Policy.model_validate(policy), server.clock.now())

    server.run(work())


def set_oauth_client(project: Any, provider: str, client_id: str, client_secret: str, settings: dict[str, Any]) -> None:
    """Configure the project's OAuth client at `provider`, as `keystile oauth set` would."""
    server = project.server

    async def work() -> None:
        async with server.state.transaction() as conn:
            await registrations.configure(
                conn,
                server.state.keyring.master,
                server.state.clock.now(),
                project.project_id,
                provider,
                client_id=client_id,
                client_secret=client_secret,
                settings=settings,
            )

    server.run(work())


# --- consumer flows -----------------------------------------------------------------------


def consumer_login(consumer: Any, inbox: Inbox, *, minutes: int = 60, email: str | None = None, **kwargs: Any) -> Any:
    """login_or_create → inbox → magic_links.authenticate with a session."""
    email = email or new_email("user")
    consumer.magic_links.email.login_or_create(email=email)
    return consumer.magic_links.authenticate(
        token=inbox.latest_token(email), session_duration_minutes=minutes, **kwargs
    )


# --- impersonation -----------------------------------------------------------------------


def impersonate(project: Any, *args: str) -> dict[str, Any]:
    """`keystile impersonate --project P --json …` on the project's server database; its JSON."""
    server = project.server
    settings = {
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
        "KEYSTILE_DATABASE_URL": server.settings.database_url,
    }
    done = keystile_in_process(
        settings,
        "impersonate",
        "--project",
        project.project_id,
        "--impersonator-email",
        "support@keystile.test",
        "--json",
        *args,
    )
    assert done.returncode == 0, f"keystile impersonate failed: {done.stderr}{done.stdout}"
    return json.loads(done.stdout)
