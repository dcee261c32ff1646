"""The B2B sandbox (core/sandbox.py): each test project's sandbox organization and its active
member sandbox@stytch.com. They are real rows, made on first use, so an app's flow goes on
from a sandbox value as from any login: the session authenticates, the organization is
discovered, the intermediate session exchanges.

Organization ids are unique across projects in keystile, so the sandbox organization has an
id of its own in each project; the documented id (`sandbox.ORGANIZATION_ID`) names it on the
endpoints whose sandbox values carry it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import sandbox
from keystile.core.context import Context
from keystile.members import repository
from keystile.members import service as members
from keystile.organizations import repository as orgs_repo
from keystile.organizations import service as orgs

# The sandbox organization is the project's organization with this external id.
EXTERNAL_ID = "stytch-sandbox"
NAME = "Stytch Sandbox"


async def organization(ctx: Context) -> Row[Any]:
    found = await orgs_repo.find_by_external_id(ctx.conn, ctx.project_id, EXTERNAL_ID)
    if found is not None:
        return found
    try:
        async with ctx.conn.begin_nested():
            return await orgs.create_organization(ctx, name=NAME, external_id=EXTERNAL_ID, derive_slug_from=EXTERNAL_ID)
    except (IntegrityError, errors.DuplicateOrganizationExternalId):  # a concurrent request made it first
        made = await orgs_repo.find_by_external_id(ctx.conn, ctx.project_id, EXTERNAL_ID)
        if made is None:
            raise errors.OrganizationNotFound() from None
        return made


async def member(ctx: Context) -> tuple[Row[Any], Row[Any]]:
    """The sandbox organization and its member sandbox@stytch.com, active and verified (made
    again if the app deleted it)."""
    org = await organization(ctx)
    found = await repository.find_by_email(ctx.conn, ctx.project_id, org.organization_id, sandbox.EMAIL)
    if found is None:
        try:
            found = await members.create_member(ctx, org, email=sandbox.EMAIL, status="active", email_verified=True)
        except errors.DuplicateMemberEmail:  # a concurrent request made it first
            found = await repository.find_by_email(ctx.conn, ctx.project_id, org.organization_id, sandbox.EMAIL)
            if found is None:
                raise errors.MemberNotFound() from None
    return org, await members.activate(ctx, found)
