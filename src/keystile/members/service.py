"""Members: creation and the status changes every login flow shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, func, insert, or_, select, true, update
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import emails, ids, search
from keystile.core.context import Context
from keystile.core.search import FilterKind, Operand
from keystile.members import repository
from keystile.organizations import repository as orgs_repo
from keystile.organizations.service import contains_ci, json_array_has, merge_metadata, validate_external_id
from keystile.sessions import service as sessions_service
from keystile.models.organizations import members


async def create_member(
    ctx: Context,
    organization: Row[Any],
    *,
    email: str,
    status: str,
    name: str | None = None,
    email_verified: bool = False,
    roles: list[str] | None = None,
    external_id: str | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    is_breakglass: bool = False,
) -> Row[Any]:
    """Add a Member to an Organization; one per email address per organization."""
    email = emails.validate(email)
    if await repository.find_by_email(ctx.conn, ctx.project_id, organization.organization_id, email):
        raise errors.DuplicateMemberEmail()
    if external_id is not None and await repository.find(
        ctx.conn, ctx.project_id, organization.organization_id, external_id
    ):
        raise errors.DuplicateMemberExternalId()
    now = ctx.clock.now()
    # A savepoint: the loser of two concurrent creates gets a clean 400, and the
    # request's transaction stays usable (PostgreSQL aborts it on a constraint error).
    try:
        async with ctx.conn.begin_nested():
            return (
                await ctx.conn.execute(
                    insert(members)
                    .values(
                        member_id=ids.member_id(ctx.live),
                        project_id=ctx.project_id,
                        organization_id=organization.organization_id,
                        email=email,
                        email_normalized=emails.normalize(email),
                        email_id=ids.email_id(ctx.live),
                        status=status,
                        name=name or "",
                        external_id=external_id,
                        email_address_verified=email_verified,
                        is_breakglass=is_breakglass,
                        roles=list(dict.fromkeys(roles or [])),
                        trusted_metadata=trusted_metadata or {},
                        untrusted_metadata=untrusted_metadata or {},
                        created_at=now,
                        updated_at=now,
                    )
                    .returning(members)
                )
            ).one()
    except IntegrityError:
        raise errors.DuplicateMemberEmail() from None


async def activate(ctx: Context, member: Row[Any]) -> Row[Any]:
    """First authentication: pending/invited → active, and the email is now verified."""
    if member.status == "active" and member.email_address_verified:
        return member
    return (
        await ctx.conn.execute(
            update(members)
            .where(members.c.member_id == member.member_id, members.c.project_id == ctx.project_id)
            .values(status="active", email_address_verified=True, updated_at=ctx.clock.now())
            .returning(members)
        )
    ).one()


async def get_existing(ctx: Context, organization_id: str, ref: str) -> Row[Any]:
    """A Member by id or external id that has not been deleted, else `member_not_found`."""
    row = await repository.find(ctx.conn, ctx.project_id, organization_id, ref)
    if row is None or row.status == "deleted":
        raise errors.MemberNotFound()
    return row


async def get_existing_by_email(ctx: Context, organization_id: str, email: str) -> Row[Any]:
    row = await repository.find_by_email(ctx.conn, ctx.project_id, organization_id, email)
    if row is None or row.status == "deleted":
        raise errors.MemberNotFound()
    return row


def direct_roles(roles: list[str]) -> list[str]:
    """Explicitly assigned role ids, deduplicated; `stytch_member` is everyone's implicitly."""
    for role in roles:
        if not role.strip():
            raise errors.InvalidArgument("roles must be non-empty role ids.")
    return [r for r in dict.fromkeys(roles) if r != "stytch_member"]


def reject_unsupported_mfa(
    *, mfa_phone_number: str | None, mfa_enrolled: bool | None, default_mfa_method: str | None = None
) -> None:
    """keystile has no MFA yet: refuse to store MFA settings rather than silently drop them."""
    if mfa_phone_number or mfa_enrolled or default_mfa_method:
        raise errors.BadRequest(
            "keystile does not support MFA yet: mfa_phone_number, mfa_enrolled=true and "
            "default_mfa_method cannot be set."
        )


async def update_member(
    ctx: Context,
    member: Row[Any],
    *,
    name: str | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    is_breakglass: bool | None = None,
    roles: list[str] | None = None,
    external_id: str | None = None,
    email_address: str | None = None,
) -> Row[Any]:
    """Update a Member (stytch.com/docs/b2b/api/update-member): absent fields stay unchanged,
    metadata merges at the top level, `roles` replaces the direct roles."""
    values: dict[str, Any] = {}
    if name is not None:
        values["name"] = name
    if trusted_metadata is not None:
        values["trusted_metadata"] = merge_metadata(member.trusted_metadata, trusted_metadata)
    if untrusted_metadata is not None:
        values["untrusted_metadata"] = merge_metadata(member.untrusted_metadata, untrusted_metadata)
    if is_breakglass is not None:
        values["is_breakglass"] = is_breakglass
    if roles is not None:
        values["roles"] = direct_roles(roles)
    if external_id is not None and external_id != member.external_id:
        validate_external_id(external_id, "external_id")
        other = await repository.find(ctx.conn, ctx.project_id, member.organization_id, external_id)
        if other is not None and other.member_id != member.member_id:
            raise errors.DuplicateMemberExternalId()
        values["external_id"] = external_id
    if email_address is not None:
        email = emails.validate(email_address)
        if emails.normalize(email) != member.email_normalized:
            if await repository.find_by_email(ctx.conn, ctx.project_id, member.organization_id, email):
                raise errors.DuplicateMemberEmail()
            # A new address must be proven again (PY `members.update` docstring).
            values.update(
                email_normalized=emails.normalize(email),
                email_id=ids.email_id(ctx.live),
                email_address_verified=False,
            )
        values["email"] = email
    values["updated_at"] = ctx.clock.now()
    return (
        await ctx.conn.execute(
            update(members)
            .where(members.c.member_id == member.member_id, members.c.project_id == ctx.project_id)
            .values(**values)
            .returning(members)
        )
    ).one()


async def delete_member(ctx: Context, member: Row[Any]) -> None:
    """Delete a Member (stytch.com/docs/b2b/api/delete-member): its status becomes `deleted`
    (so `reactivate` can restore it) and its sessions are revoked."""
    await ctx.conn.execute(
        update(members)
        .where(members.c.member_id == member.member_id, members.c.project_id == ctx.project_id)
        .values(status="deleted", updated_at=ctx.clock.now())
    )
    await sessions_service.revoke_for(ctx, member_id=member.member_id)


# --- Search (stytch.com/docs/b2b/api/search-members; reference §7) ---

MEMBER_FILTERS: dict[str, FilterKind] = {
    "member_ids": FilterKind.STRINGS,
    "member_emails": FilterKind.STRINGS,
    "member_email_fuzzy": FilterKind.FUZZY,
    "member_is_breakglass": FilterKind.BOOLEAN,
    "statuses": FilterKind.STRINGS,
    "member_roles": FilterKind.STRINGS,
    "member_phone_numbers": FilterKind.STRINGS,
    "member_phone_number_fuzzy": FilterKind.FUZZY,
}
SEARCH_PREFIX = "member_search"


def _member_condition(dialect: str, operand: Operand) -> ColumnElement[bool]:
    name, value = operand.name, operand.value
    if name == "member_ids":
        return or_(members.c.member_id.in_(value), members.c.external_id.in_(value))
    if name == "member_emails":
        return members.c.email_normalized.in_([emails.normalize(v) for v in value])
    if name == "member_email_fuzzy":
        return contains_ci(members.c.email_normalized, value)
    if name == "member_is_breakglass":
        return members.c.is_breakglass.is_(value)
    if name == "statuses":
        return members.c.status.in_([v.strip().lower() for v in value])
    if name == "member_roles":
        if "stytch_member" in value:
            return true()  # every Member holds it implicitly
        return json_array_has(dialect, members.c.roles, None, lambda e: e.in_(value))
    # keystile stores no phone numbers yet: nothing matches.
    return false()


async def search_members(
    ctx: Context, *, organization_ids: list[str] | None, cursor: str | None, limit: int | None, query: Any
) -> tuple[list[Row[Any]], int, str | None, dict[str, Row[Any]]]:
    """One page of Members of the given Organizations, the total, the next cursor, and the
    Organizations of the page's Members. Deleted Members only when `statuses` is filtered on."""
    if not organization_ids:
        raise errors.MemberSearchOrganizationIdsEmpty()
    parsed = search.parse_query(query, MEMBER_FILTERS, SEARCH_PREFIX)
    page_size = search.check_limit(limit, SEARCH_PREFIX)
    orgs = {}
    for ref in dict.fromkeys(organization_ids):
        org = await orgs_repo.get(ctx.conn, ctx.project_id, ref)
        orgs[org.organization_id] = org
    dialect = ctx.conn.dialect.name
    where = [members.c.project_id == ctx.project_id, members.c.organization_id.in_(list(orgs))]
    if not any(op.name == "statuses" for op in parsed.operands):
        where.append(members.c.status != "deleted")
    combined = parsed.combine([_member_condition(dialect, op) for op in parsed.operands])
    if combined is not None:
        where.append(combined)
    total = (await ctx.conn.execute(select(func.count()).select_from(members).where(*where))).scalar_one()
    page_query = search.paginate(
        select(members).where(*where),
        members.c.created_at,
        members.c.member_id,
        limit=page_size,
        cursor=cursor,
        prefix=SEARCH_PREFIX,
    )
    rows = list(await ctx.conn.execute(page_query))
    page, next_cursor = search.page_results(rows, page_size, "created_at", "member_id")
    return page, total, next_cursor, {row.organization_id: orgs[row.organization_id] for row in page}
