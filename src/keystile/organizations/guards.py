"""The permission each Member-authorizable organization method needs when a session header is passed.

Methods marked † in Stytch's reference accept `X-Stytch-Member-Session` /
`X-Stytch-Member-SessionJWT`; with one, the request runs with that Member's permissions:
it goes ahead only if the Member belongs to the organization and holds every permission
the request's fields need, and otherwise fails (403) before anything is written. Without a
header these checks do nothing: the project secret alone may do anything (core/authz.py).

The actions per field are the ones the SDK docstrings name (PY `organizations.update`);
fields for which Stytch documents no action need the wildcard `*` on the resource.
`trusted_metadata` cannot be written as a Member at all.
"""

from __future__ import annotations

from pydantic import BaseModel

from keystile.core.authz import ORGANIZATION, acting_member, given, no_trusted_metadata, require
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.core.policy import WILDCARD

ORGANIZATION_FIELD_ACTIONS: dict[str, str] = {
    "organization_name": "update.info.name",
    "organization_slug": "update.info.slug",
    "organization_logo_url": "update.info.logo-url",
    "sso_default_connection_id": "update.settings.default-sso-connection",
    "sso_jit_provisioning": "update.settings.sso-jit-provisioning",
    "sso_jit_provisioning_allowed_connections": "update.settings.sso-jit-provisioning",
    "email_allowed_domains": "update.settings.allowed-domains",
    "email_jit_provisioning": "update.settings.email-jit-provisioning",
    "email_invites": "update.settings.email-invites",
    "auth_methods": "update.settings.allowed-auth-methods",
    "allowed_auth_methods": "update.settings.allowed-auth-methods",
    "mfa_policy": "update.settings.mfa-policy",
    "rbac_email_implicit_role_assignments": "update.settings.implicit-roles",
    "mfa_methods": "update.settings.allowed-mfa-methods",
    "allowed_mfa_methods": "update.settings.allowed-mfa-methods",
    "oauth_tenant_jit_provisioning": "update.settings.oauth-tenant-jit-provisioning",
    "allowed_oauth_tenants": "update.settings.allowed-oauth-tenants",
}


async def organization_update(ctx: Context, organization: Record, body: BaseModel) -> None:
    actor = await acting_member(ctx)
    if actor is None:
        return
    fields = given(body)
    no_trusted_metadata(fields)
    needs = sorted({(ORGANIZATION, ORGANIZATION_FIELD_ACTIONS.get(f, WILDCARD)) for f in fields})
    require(actor, organization.organization_id, needs)


async def organization_delete(ctx: Context, organization: Record) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization.organization_id, [(ORGANIZATION, "delete")])
