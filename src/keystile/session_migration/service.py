"""sessions.migrate (stytch.com/docs/api/migrate-session, stytch.com/docs/b2b/api/migrate-session):
a session of another OIDC provider becomes a keystile session.

keystile asks the project's userinfo endpoint (`session_migration_url`, the operator's setting)
about the token it was given; the email address in the answer names an existing User, or an
existing Member of the organization, who gets a session with one `imported` factor. Nobody is
created here, as Stytch documents: import them first (`keystile import`, users.create,
organizations.members.create). An answer whose `email_verified` is false names nobody: the
other provider did not vouch for the address.
"""

from __future__ import annotations

from typing import Any

from keystile import errors as shared
from keystile.core import emails
from keystile.core.context import Context
from keystile.members import service as members
from keystile.organizations import service as organizations
from keystile.projects import repository as projects
from keystile.session_migration import errors, factors, userinfo
from keystile.sessions import logins
from keystile.sessions import service as sessions
from keystile.users import service as users


async def _verified_email(ctx: Context, token: str) -> str:
    url = await projects.session_migration_url(ctx.conn, ctx.project_id)
    if not url:
        raise errors.SessionMigrationNotConfigured()
    found = await userinfo.claims(url, token)
    address = found.get("email")
    if not isinstance(address, str) or found.get("email_verified") is False:
        raise shared.InvalidEmail("The userinfo endpoint's answer has no verified email address.")
    try:
        return emails.validate(address)
    except shared.InvalidEmail:
        raise shared.InvalidEmail("The userinfo endpoint's answer has no valid email address.") from None


async def migrate_member(
    ctx: Context,
    organization_ref: str,
    token: str,
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """B2B: the Member of the organization with the address the userinfo endpoint gives."""
    sessions.check_duration(minutes)
    organization = await organizations.get(ctx, organization_ref)
    address = await _verified_email(ctx, token)
    member = await members.get_existing_by_email(ctx, organization.organization_id, address)
    factor = factors.IMPORTED.build(
        ctx.clock.now(), email_factor={"email_id": member.email_id, "email_address": member.email}
    )
    done = await logins.complete_imported(
        ctx, organization, member, factor=factor, minutes=minutes, custom_claims=custom_claims
    )
    fields = ("member_id", "session_token", "session_jwt", "member", "organization", "member_session")
    return {name: done[name] for name in fields}


async def migrate_user(
    ctx: Context, token: str, *, minutes: int | None, custom_claims: dict[str, Any] | None
) -> dict[str, Any]:
    """Consumer: the User with the address the userinfo endpoint gives; a session only when
    `session_duration_minutes` is given, as Stytch documents."""
    sessions.check_duration(minutes)
    address = await _verified_email(ctx, token)
    email = await users.find_email(ctx, address)
    if email is None:
        raise shared.UserNotFound("No user has the email address the userinfo endpoint gives.")
    await users.verify_email(ctx, email.email_id)
    user = await users.activate(ctx, await users.load(ctx, email.user_id))
    session, session_token, jwt = None, "", ""
    if minutes is not None:
        factor = factors.IMPORTED.build(
            ctx.clock.now(), email_factor={"email_id": email.email_id, "email_address": email.email}
        )
        session, session_token = await sessions.start(
            ctx, "consumer", factor=factor, minutes=minutes, user_id=user.user_id, custom_claims=custom_claims
        )
        jwt = await sessions.user_jwt(ctx, session, [])
    return {
        "user_id": user.user_id,
        "session_token": session_token,
        "session_jwt": jwt,
        "user": await users.user_body(ctx, user),
        "session": sessions.user_session_json(session, []) if session else None,
        "user_device": None,
    }
