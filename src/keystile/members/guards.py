"""The permission each Member-authorizable member method needs when a session header is passed.

Methods marked † in Stytch's reference accept `X-Stytch-Member-Session` /
`X-Stytch-Member-SessionJWT`; with one, the request runs with that Member's permissions:
it goes ahead only if the Member belongs to the organization and holds every permission
the request's fields need, and otherwise fails (403) before anything is written. Without a
header these checks do nothing: the project secret alone may do anything (core/authz.py).

The actions per field are the ones the SDK docstrings name (PY `organizations.members.update`);
fields for which Stytch documents no action need the wildcard `*` on the resource.
`trusted_metadata` cannot be written as a Member at all.
"""

from __future__ import annotations

from pydantic import BaseModel

from keystile.core.authz import (
    MEMBER,
    acting_member,
    check_role_ids,
    given,
    no_trusted_metadata,
    require,
    self_or_member,
)
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.core.policy import WILDCARD
from keystile.organizations import repository as orgs_repo

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


async def member_create(ctx: Context, organization: Record, body: BaseModel) -> None:
    """Creating (or inviting) a Member is `create` on stytch.member; giving it roles also
    needs `update.settings.roles`, so `create` alone cannot mint admins."""
    actor = await acting_member(ctx)
    if actor is None:
        return
    fields = given(body)
    no_trusted_metadata(fields)
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
        no_trusted_metadata(given(body))
        needs = [(MEMBER, "create")]
        if roles:
            needs.append((MEMBER, "update.settings.roles"))
        require(actor, organization.organization_id, needs)
    await check_role_ids(ctx, organization, roles)


async def member_update(ctx: Context, organization: Record, member: Record, body: BaseModel) -> None:
    actor = await acting_member(ctx)
    if actor is None:
        return
    fields = given(body)
    no_trusted_metadata(fields)
    needs: list[tuple[str, str]] = []
    for field in sorted(fields):
        member_action, self_action = MEMBER_FIELD_ACTIONS.get(field, (WILDCARD, None))
        needs += self_or_member(actor, member.member_id, member_action, self_action)
    require(actor, organization.organization_id, needs)


async def member_delete(ctx: Context, organization: Record, member: Record) -> None:
    actor = await acting_member(ctx)
    if actor is not None:
        require(
            actor,
            organization.organization_id,
            self_or_member(actor, member.member_id, "delete", "delete"),
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
