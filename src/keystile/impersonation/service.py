"""Mint and redeem impersonation tokens (stytch.com/docs/b2b/api/authenticate-impersonation-token,
stytch.com/docs/api/authenticate-impersonation-token).

What Stytch documents, kept here: a token lives 5 minutes and is redeemed once; the session
it starts lasts 60 minutes, is never extended, and holds exactly one factor, of type
`impersonated` and delivery method `impersonation`, naming the impersonator
(`impersonated_factor`); no MFA, no intermediate session. sessions/service.py refuses to
extend, change or add to such a session (`session_not_mutable_impersonated`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Row

from keystile.core import ratelimit, tokens
from keystile.core.context import Context
from keystile.impersonation import errors
from keystile.impersonation.factors import IMPERSONATED_FACTOR
from keystile.members import repository as members_repo
from keystile.members.serializers import member_json, role_ids
from keystile.organizations import repository as orgs_repo
from keystile.organizations.serializers import organization_json
from keystile.sessions import service as sessions
from keystile.users import repository as users_repo
from keystile.users.serializers import user_json

# `tokens.kind` of the two kinds of token, named as Stytch's links name them (`stytch_token_type`).
MEMBER_TOKEN_KIND = "multi_tenant_impersonation"
USER_TOKEN_KIND = "impersonation"
TOKEN_MINUTES = 5
SESSION_MINUTES = 60
MAX_REASON_LENGTH = 1000


class CannotImpersonate(ValueError):
    """The subject cannot be impersonated (unknown, deleted); the message says which and why."""


def impersonator_id(email: str) -> str:
    """A stable id for an impersonator known by email alone: Stytch gives its dashboard
    member's id, keystile (which has no dashboard) a name-based UUID of the address."""
    return f"impersonator-{uuid.uuid5(uuid.NAMESPACE_URL, 'mailto:' + email.strip().lower())}"


def _impersonator(email: str, given_id: str | None, reason: str | None) -> dict[str, Any]:
    email = email.strip()
    if "@" not in email or len(email) > 320:
        raise CannotImpersonate(f"{email!r} is not an email address; --impersonator-email names who impersonates.")
    if reason is not None and len(reason) > MAX_REASON_LENGTH:
        raise CannotImpersonate(f"The reason is longer than {MAX_REASON_LENGTH} characters.")
    return {
        "impersonator_id": given_id or impersonator_id(email),
        "impersonator_email_address": email,
        "reason": reason or "",
    }


@dataclass
class Minted:
    token: str
    expires_at: datetime
    subject: dict[str, str]  # what the token names (organization and member, or user)
    impersonator: dict[str, Any]


async def mint_for_member(
    ctx: Context,
    organization_ref: str,
    member_ref: str,
    *,
    impersonator_email: str,
    impersonator_id: str | None = None,
    reason: str | None = None,
) -> Minted:
    """A B2B impersonation token for one Member (not deleted) of one Organization."""
    impersonator = _impersonator(impersonator_email, impersonator_id, reason)
    organization = await orgs_repo.find(ctx.conn, ctx.project_id, organization_ref)
    if organization is None:
        raise CannotImpersonate(f"No organization {organization_ref!r} in project {ctx.project_id}.")
    member = await members_repo.find(ctx.conn, ctx.project_id, organization.organization_id, member_ref)
    if member is None:
        raise CannotImpersonate(f"No member {member_ref!r} in organization {organization.organization_id}.")
    if member.status == "deleted":
        raise CannotImpersonate(f"Member {member.member_id} is deleted; reactivate it to impersonate it.")
    token, row = await tokens.issue(
        ctx,
        MEMBER_TOKEN_KIND,
        minutes=TOKEN_MINUTES,
        organization_id=organization.organization_id,
        member_id=member.member_id,
        data=impersonator,
    )
    return Minted(
        token,
        row.expires_at,
        {"organization_id": organization.organization_id, "member_id": member.member_id},
        impersonator,
    )


async def mint_for_user(
    ctx: Context,
    user_id: str,
    *,
    impersonator_email: str,
    impersonator_id: str | None = None,
    reason: str | None = None,
) -> Minted:
    """A consumer impersonation token for one User."""
    impersonator = _impersonator(impersonator_email, impersonator_id, reason)
    user = await users_repo.find_user(ctx.conn, ctx.project_id, user_id)
    if user is None:
        raise CannotImpersonate(f"No user {user_id!r} in project {ctx.project_id}.")
    token, row = await tokens.issue(
        ctx, USER_TOKEN_KIND, minutes=TOKEN_MINUTES, user_id=user.user_id, data=impersonator
    )
    return Minted(token, row.expires_at, {"user_id": user.user_id}, impersonator)


def impersonated_factor(now: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The session's one factor, naming the impersonator the token was minted for."""
    return IMPERSONATED_FACTOR.build(
        now,
        impersonated_factor={
            "impersonator_id": data["impersonator_id"],
            "impersonator_email_address": data["impersonator_email_address"],
        },
    )


async def _redeem(ctx: Context, token: str, kind: str) -> Row[Any]:
    async with ratelimit.attempts(ctx, token):
        return await tokens.redeem(
            ctx,
            token,
            (kind,),
            used=errors.UnableToAuthImpersonationToken,
            unknown=errors.ImpersonationTokenNotFound,
        )


async def authenticate_member(ctx: Context, token: str) -> dict[str, Any]:
    """B2B impersonation.authenticate: redeem the token and start the Member's impersonated
    session. A Member deleted since the token was minted cannot be impersonated."""
    row = await _redeem(ctx, token, MEMBER_TOKEN_KIND)
    organization = await orgs_repo.find(ctx.conn, ctx.project_id, row.organization_id)
    member = None
    if organization is not None:
        member = await members_repo.find(ctx.conn, ctx.project_id, organization.organization_id, row.member_id)
    if organization is None or member is None or member.status == "deleted":
        raise errors.UnableToAuthImpersonationToken()
    session, session_token = await sessions.start(
        ctx,
        "b2b",
        factor=impersonated_factor(ctx.clock.now(), row.data),
        minutes=SESSION_MINUTES,
        member_id=member.member_id,
        organization_id=organization.organization_id,
    )
    roles = role_ids(member, organization)
    retired = await members_repo.retired_emails(ctx.conn, ctx.project_id, [member.member_id])
    return {
        "member_id": member.member_id,
        "organization_id": organization.organization_id,
        "member": member_json(member, organization, retired[member.member_id]),
        "organization": organization_json(organization),
        "session_token": session_token,
        "session_jwt": await sessions.member_jwt(ctx, session, roles, organization.slug),
        "member_session": sessions.member_session_json(session, roles, organization.slug),
        "intermediate_session_token": "",
        "member_authenticated": True,
        "mfa_required": None,
    }


async def authenticate_user(ctx: Context, token: str) -> dict[str, Any]:
    """Consumer impersonation.authenticate: redeem the token and start the User's impersonated session."""
    row = await _redeem(ctx, token, USER_TOKEN_KIND)
    user = await users_repo.find_user(ctx.conn, ctx.project_id, row.user_id)
    if user is None:
        raise errors.UnableToAuthImpersonationToken()
    session, session_token = await sessions.start(
        ctx,
        "consumer",
        factor=impersonated_factor(ctx.clock.now(), row.data),
        minutes=SESSION_MINUTES,
        user_id=user.user_id,
    )
    emails = await users_repo.emails_of(ctx.conn, ctx.project_id, [user.user_id])
    totps = await users_repo.totps_of(ctx.conn, ctx.project_id, [user.user_id], ctx.clock.now())
    phones = await users_repo.phones_of(ctx.conn, ctx.project_id, [user.user_id])
    return {
        "user_id": user.user_id,
        "user": user_json(user, emails[user.user_id], totps[user.user_id], phones[user.user_id]),
        "session_token": session_token,
        "session_jwt": await sessions.user_jwt(ctx, session, []),
        "session": sessions.user_session_json(session, []),
    }
