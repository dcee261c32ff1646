"""The permission each Member-authorizable method needs when a session header is passed.

Methods marked † in Stytch's reference accept `X-Stytch-Member-Session` /
`X-Stytch-Member-SessionJWT`; with one, the request runs with that Member's permissions:
it goes ahead only if the Member belongs to the organization and holds every permission
the request's fields need, and otherwise fails (403) before anything is written. Without a
header these checks do nothing: the project secret alone may do anything.

The actions per field are the ones the SDK docstrings name (PY `organizations.update`,
`organizations.members.update`); fields for which Stytch documents no action need the
wildcard `*` on the resource. `trusted_metadata` cannot be written as a Member at all.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core.context import Context
from keystile.members import repository as members_repo
from keystile.organizations import repository as orgs_repo
from keystile.rbac.policy import WILDCARD
from keystile.rbac.service import Actor, acting_member, check_role_ids, require
from keystile.sessions import service as sessions

ORGANIZATION = "stytch.organization"
MEMBER = "stytch.member"
SELF = "stytch.self"

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
# Member fields: (action on stytch.member, action on stytch.self when the Member updates itself).
MEMBER_FIELD_ACTIONS: dict[str, tuple[str, str | None]] = {
    "name": ("update.info.name", "update.info.name"),
    "untrusted_metadata": (
        "update.info.untrusted-metadata",
        "update.info.untrusted-metadata",
    ),
    "mfa_phone_number": ("update.info.mfa-phone", "update.info.mfa-phone"),
    "mfa_enrolled": ("update.settings.mfa-enrolled", "update.settings.mfa-enrolled"),
    "default_mfa_method": (
        "update.settings.default-mfa-method",
        "update.settings.default-mfa-method",
    ),
    "is_breakglass": ("update.settings.is-breakglass", None),
    "roles": ("update.settings.roles", None),
    "email_address": ("update.info.email", None),
    "external_id": (WILDCARD, None),
}
# Fields that only steer the request, never a permission.
IGNORED_FIELDS = frozenset({"organization_id", "member_id", "preserve_existing_sessions", "unlink_email"})


def given(body: BaseModel) -> set[str]:
    """The fields a request sets to a value."""
    return {name for name in body.model_fields_set if getattr(body, name) is not None} - IGNORED_FIELDS


def _no_trusted_metadata(fields: set[str]) -> None:
    if "trusted_metadata" in fields:
        raise errors.CannotUpdateTrustedMetadata()


async def organization_update(ctx: Context, organization: Row[Any], body: BaseModel) -> None:
    actor = await acting_member(ctx)
    if actor is None:
        return
    fields = given(body)
    _no_trusted_metadata(fields)
    needs = sorted({(ORGANIZATION, ORGANIZATION_FIELD_ACTIONS.get(f, WILDCARD)) for f in fields})
    require(actor, organization.organization_id, needs)


async def organization_delete(ctx: Context, organization: Row[Any]) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(actor, organization.organization_id, [(ORGANIZATION, "delete")])


async def member_create(ctx: Context, organization: Row[Any], body: BaseModel) -> None:
    """Creating (or inviting) a Member is `create` on stytch.member; giving it roles also
    needs `update.settings.roles`, so `create` alone cannot mint admins."""
    actor = await acting_member(ctx)
    if actor is None:
        return
    fields = given(body)
    _no_trusted_metadata(fields)
    needs = [(MEMBER, "create")]
    if getattr(body, "roles", None):
        needs.append((MEMBER, "update.settings.roles"))
    if getattr(body, "external_id", None) is not None:
        needs.append((MEMBER, WILDCARD))
    require(actor, organization.organization_id, needs)


async def invite(ctx: Context, organization_ref: str, body: BaseModel) -> None:
    """As `member_create`; also checks that the roles to assign exist."""
    actor = await acting_member(ctx)
    roles = getattr(body, "roles", None)
    if actor is None and not roles:
        return
    organization = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    if actor is not None:
        _no_trusted_metadata(given(body))
        needs = [(MEMBER, "create")]
        if roles:
            needs.append((MEMBER, "update.settings.roles"))
        require(actor, organization.organization_id, needs)
    await check_role_ids(ctx, organization, roles)


def _self_or_member(actor: Actor, member_id: str, member_action: str, self_action: str | None) -> list[tuple[str, str]]:
    """Acting on oneself, the stytch.self action suffices where Stytch allows it."""
    if self_action is not None and actor.member_id == member_id and actor.may(SELF, self_action):
        return []
    return [(MEMBER, member_action)]


async def member_update(ctx: Context, organization: Row[Any], member: Row[Any], body: BaseModel) -> None:
    actor = await acting_member(ctx)
    if actor is None:
        return
    fields = given(body)
    _no_trusted_metadata(fields)
    needs: list[tuple[str, str]] = []
    for field in sorted(fields):
        member_action, self_action = MEMBER_FIELD_ACTIONS.get(field, (WILDCARD, None))
        needs += _self_or_member(actor, member.member_id, member_action, self_action)
    require(actor, organization.organization_id, needs)


async def member_delete(ctx: Context, organization: Row[Any], member: Row[Any]) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(
            actor,
            organization.organization_id,
            _self_or_member(actor, member.member_id, "delete", "delete"),
        )


async def member_search(ctx: Context, organization_ids: list[str] | None) -> None:
    """A Member may search only its own organization."""
    actor = await acting_member(ctx)
    if actor is None:
        return
    for ref in organization_ids or []:
        found = await orgs_repo.find(ctx.conn, ctx.project_id, ref)
        require(actor, found.organization_id if found else ref, [])
    require(actor, actor.organization_id, [(MEMBER, "search")])


async def _session_owner(ctx: Context, body: Any) -> tuple[str, str] | None:
    """(member_id, organization_id) of the session(s) a revoke names, or None if unknown."""
    if body.member_id:
        member = await members_repo.find_by_id(ctx.conn, ctx.project_id, body.member_id)
        return (member.member_id, member.organization_id) if member is not None else None
    # The first of them the request names, as the revoke itself would refuse several.
    if body.member_session_id:
        named = {"session_id": body.member_session_id}
    elif body.session_token:
        named = {"token": body.session_token}
    elif body.session_jwt:
        named = {"session_jwt": body.session_jwt}
    else:
        return None
    try:
        session = await sessions.find(ctx, "b2b", **named)
    except errors.SessionNotFound:
        return None
    return (session.member_id or "", session.organization_id or "")


async def session_revoke(ctx: Context, body: Any) -> None:
    """Revoking one's own sessions is `revoke-sessions` on stytch.self; anyone else's, on stytch.member."""
    actor = await acting_member(ctx)
    if actor is None:
        return
    owner = await _session_owner(ctx, body)
    if owner is None:
        return  # the revoke itself reports the unknown session or member
    member_id, organization_id = owner
    require(
        actor,
        organization_id,
        _self_or_member(actor, member_id, "revoke-sessions", "revoke-sessions"),
    )
