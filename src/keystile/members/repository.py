"""Member queries. Each takes the connection and the project first."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    bindparam,
    exists,
    false,
    func,
    insert,
    literal,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import db, emails
from keystile.core import search as searching
from keystile.core.db import Connection, Query, Record
from keystile.core.search import Operand, contains_ci, json_array_has
from keystile.models.organizations import member_retired_emails, members, organizations
from keystile.organizations import repository as orgs_repo

_RETIRED_ORDER = (member_retired_emails.c.created_at, member_retired_emails.c.email_id)
# One Member's retired addresses on the read path (sessions.authenticate, core/db.py).
RETIRED_OF_MEMBER = Query(
    select(member_retired_emails)
    .where(
        member_retired_emails.c.project_id == bindparam("project_id"),
        member_retired_emails.c.member_id == bindparam("member_id"),
    )
    .order_by(*_RETIRED_ORDER)
)


def retired_json(row: Record) -> dict[str, str]:
    """One entry of `Member.retired_email_addresses`."""
    return {"email_id": row.email_id, "email_address": row.email}


async def find(conn: Connection, project_id: str, organization_id: str, ref: str) -> Row[Any] | None:
    """By `member_id` or the Member's `external_id`, within one organization."""
    return (
        await conn.execute(
            select(members).where(
                members.c.project_id == project_id,
                members.c.organization_id == organization_id,
                or_(members.c.member_id == ref, members.c.external_id == ref),
            )
        )
    ).first()


async def get(conn: Connection, project_id: str, organization_id: str, ref: str) -> Row[Any]:
    row = await find(conn, project_id, organization_id, ref)
    if row is None:
        raise errors.MemberNotFound()
    return row


async def find_by_email(conn: Connection, project_id: str, organization_id: str, email: str) -> Row[Any] | None:
    """The live (not deleted) membership of an email address in one organization."""
    return (
        await conn.execute(
            select(members).where(
                members.c.project_id == project_id,
                members.c.organization_id == organization_id,
                members.c.email_normalized == emails.normalize(email),
                members.c.status != "deleted",
            )
        )
    ).first()


async def all_by_email(conn: Connection, project_id: str, email: str) -> list[Row[Any]]:
    """Every membership of one email address across the project's organizations."""
    rows = await conn.execute(
        select(members).where(members.c.project_id == project_id, members.c.email_normalized == emails.normalize(email))
    )
    return list(rows)


async def find_by_id(conn: Connection, project_id: str, member_id: str) -> Row[Any] | None:
    """By `member_id` alone, in any organization of the project (`dangerously_get`)."""
    return (
        await conn.execute(select(members).where(members.c.project_id == project_id, members.c.member_id == member_id))
    ).first()


async def retired_emails(conn: Connection, project_id: str, member_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Each Member's retired addresses as `Member.retired_email_addresses` lists them, oldest first."""
    found: dict[str, list[dict[str, str]]] = {member_id: [] for member_id in member_ids}
    if not member_ids:
        return found
    rows = await conn.execute(
        select(member_retired_emails)
        .where(
            member_retired_emails.c.project_id == project_id,
            member_retired_emails.c.member_id.in_(list(dict.fromkeys(member_ids))),
        )
        .order_by(*_RETIRED_ORDER)
    )
    for row in rows:
        found[row.member_id].append(retired_json(row))
    return found


async def find_retired(conn: Connection, project_id: str, organization_id: str, email: str) -> Row[Any] | None:
    """The retired-address record holding this email in one organization, if any. A deleted
    Member's addresses, retired ones included, are free again (PY `members.update` docstring)."""
    return (
        await conn.execute(
            select(member_retired_emails)
            .join(members, members.c.member_id == member_retired_emails.c.member_id)
            .where(
                member_retired_emails.c.project_id == project_id,
                member_retired_emails.c.organization_id == organization_id,
                member_retired_emails.c.email_normalized == emails.normalize(email),
                members.c.status != "deleted",
            )
        )
    ).first()


async def create(conn: Connection, **values: Any) -> Row[Any]:
    """Insert a member (`values`: its columns, project_id included). A unique-constraint
    error (a concurrent create of the same email) is the caller's to turn into its answer."""
    return (await conn.execute(insert(members).values(**values).returning(members))).one()


async def update(conn: Connection, project_id: str, member_id: str, **values: Any) -> Row[Any]:
    """Set some of a member's columns; the updated row."""
    return (
        await conn.execute(
            sa_update(members)
            .where(members.c.member_id == member_id, members.c.project_id == project_id)
            .values(**values)
            .returning(members)
        )
    ).one()


async def replace_granted_roles(
    conn: Connection,
    project_id: str,
    member_id: str,
    source_types: Collection[str],
    entries: list[dict[str, Any]],
    *,
    details: dict[str, Any] | None = None,
    **values: Any,
) -> Row[Any]:
    """Replace the member's implicitly granted roles of these source types (`sso_connection`,
    `sso_connection_group`, `scim_connection_group`) by `entries` (`{"role_id", "source":
    {"type", "details"}}`), keeping every other area's. With `details`, only the entries
    whose source details hold all of these values are replaced (one connection's, say).
    `values`: other columns to set in the same statement. The updated row.

    The row is read under a row lock (FOR UPDATE on PostgreSQL; SQLite transactions are
    exclusive) so that two areas writing at once do not drop each other's entries."""
    current = (
        await conn.execute(
            select(members.c.granted_roles)
            .where(members.c.member_id == member_id, members.c.project_id == project_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if current is None:
        raise errors.MemberNotFound()
    types = set(source_types)
    for entry in entries:
        if entry["source"]["type"] not in types:
            raise ValueError(f"a granted role of source {entry['source']['type']!r} is not among {sorted(types)}")

    def replaced(entry: dict[str, Any]) -> bool:
        source = entry.get("source") or {}
        if source.get("type") not in types:
            return False
        held = source.get("details") or {}
        return all(held.get(k) == v for k, v in (details or {}).items())

    kept = [entry for entry in current or [] if not replaced(entry)]
    merged: list[dict[str, Any]] = []
    for entry in [*kept, *entries]:
        if entry not in merged:
            merged.append(entry)
    return await update(conn, project_id, member_id, granted_roles=merged, **values)


async def put_oauth_registration(
    conn: Connection, project_id: str, member_id: str, entry: dict[str, Any], **values: Any
) -> Row[Any]:
    """Add or replace the Member's OAuth registration of one provider and subject (the oauth
    area's entry, kept on the row so that serializing a Member costs no other query).
    `values`: other columns to set in the same statement. The updated row.

    Read under a row lock, like `replace_granted_roles`, so that two logins at once with two
    providers keep both."""
    current = (
        await conn.execute(
            select(members.c.oauth_registrations)
            .where(members.c.member_id == member_id, members.c.project_id == project_id)
            .with_for_update()
        )
    ).scalar_one_or_none()
    if current is None:
        raise errors.MemberNotFound()
    key = (entry["provider_type"], entry["provider_subject"])
    kept = [e for e in current or [] if (e.get("provider_type"), e.get("provider_subject")) != key]
    return await update(conn, project_id, member_id, oauth_registrations=[*kept, entry], **values)


async def set_password_id(conn: Connection, project_id: str, member_id: str, password_id: str | None) -> None:
    """Keep Member.member_password_id on the member row (the passwords area holds the hash)."""
    await conn.execute(
        sa_update(members)
        .where(members.c.member_id == member_id, members.c.project_id == project_id)
        .values(member_password_id=password_id)
    )


async def set_sso_registrations(
    conn: Connection, project_id: str, member_id: str, registrations: list[dict[str, Any]], now: datetime
) -> Row[Any]:
    """The sso area's write: the Member's `sso_registrations` (connection_id, external_id,
    registration_id, sso_attributes), kept on the row so serializing costs no query."""
    return await update(conn, project_id, member_id, sso_registrations=registrations, updated_at=now)


# --- SCIM (the scim area keeps a member's registration on its row: `scim_registration`) ---


def _scim_connection_is(connection_id: str) -> ColumnElement[bool]:
    return members.c.scim_registration["connection_id"].as_string() == connection_id


async def scim_members(
    conn: Connection, project_id: str, organization_id: str, connection_id: str, *, user_name: str | None = None
) -> list[Row[Any]]:
    """The members a SCIM connection provisioned (deactivated ones included), oldest first;
    with `user_name`, only the one of that userName (kept casefolded as `user_name_key`)."""
    where = [
        members.c.project_id == project_id,
        members.c.organization_id == organization_id,
        _scim_connection_is(connection_id),
    ]
    if user_name is not None:
        where.append(members.c.scim_registration["user_name_key"].as_string() == user_name.casefold())
    rows = await conn.execute(select(members).where(*where).order_by(members.c.created_at, members.c.member_id))
    return list(rows)


async def scim_member(
    conn: Connection, project_id: str, organization_id: str, connection_id: str, member_id: str
) -> Row[Any] | None:
    """One member the connection provisioned, by id."""
    return (
        await conn.execute(
            select(members).where(
                members.c.project_id == project_id,
                members.c.organization_id == organization_id,
                members.c.member_id == member_id,
                _scim_connection_is(connection_id),
            )
        )
    ).first()


async def set_scim_registration(
    conn: Connection, project_id: str, member_id: str, registration: dict[str, Any] | None, **values: Any
) -> Row[Any]:
    """Keep the member's SCIM registration on its row (and set `values` with it)."""
    return await update(conn, project_id, member_id, scim_registration=registration, **values)


async def forget_scim_connection(conn: Connection, project_id: str, organization_id: str, connection_id: str) -> None:
    """A deleted connection's members keep their membership but no longer its registration."""
    await conn.execute(
        sa_update(members)
        .where(
            members.c.project_id == project_id,
            members.c.organization_id == organization_id,
            _scim_connection_is(connection_id),
        )
        .values(scim_registration=None)
    )


async def retire_email(conn: Connection, project_id: str, member: Row[Any], now: datetime) -> None:
    """Keep the member's current address as retired: others in the organization cannot use it."""
    await conn.execute(
        insert(member_retired_emails).values(
            email_id=member.email_id,
            project_id=project_id,
            member_id=member.member_id,
            organization_id=member.organization_id,
            email=member.email,
            email_normalized=member.email_normalized,
            created_at=now,
        )
    )


async def forget_retired(conn: Connection, project_id: str, email_id: str, *, member_id: str | None = None) -> None:
    """Forget one retired address (of `member_id`, when given)."""
    scope = [member_retired_emails.c.email_id == email_id, member_retired_emails.c.project_id == project_id]
    if member_id is not None:
        scope.append(member_retired_emails.c.member_id == member_id)
    await conn.execute(sa_delete(member_retired_emails).where(*scope))


async def organizations_vouching(
    conn: Connection, project_id: str, organization_ids: list[str], domain: str
) -> set[str]:
    """Of these organizations, those with a verified, not deleted member at `domain`."""
    rows = await conn.execute(
        select(members.c.organization_id)
        .where(
            members.c.project_id == project_id,
            members.c.organization_id.in_(organization_ids),
            members.c.email_address_verified.is_(True),
            members.c.status != "deleted",
            members.c.email_normalized.endswith(f"@{domain}", autoescape=True),
        )
        .distinct()
    )
    return {row.organization_id for row in rows}


# --- Search (stytch.com/docs/b2b/api/search-members) ---

SEARCH_PREFIX = "member_search"


async def search(
    conn: Connection,
    project_id: str,
    parsed: searching.Query,
    orgs: dict[str, Row[Any]],
    *,
    cursor: str | None,
    limit: int,
) -> tuple[list[Row[Any]], int, str | None]:
    """One page of the members of `orgs` matching a parsed search, the total, the next cursor.
    Deleted members only when `statuses` is filtered on."""
    dialect = conn.dialect.name
    where = [members.c.project_id == project_id, members.c.organization_id.in_(list(orgs))]
    if not any(op.name == "statuses" for op in parsed.operands):
        where.append(members.c.status != "deleted")
    combined = parsed.combine([_member_condition(dialect, op, orgs) for op in parsed.operands])
    if combined is not None:
        where.append(combined)
    total = (await conn.execute(select(func.count()).select_from(members).where(*where))).scalar_one()
    page_query = searching.paginate(
        select(members).where(*where),
        members.c.created_at,
        members.c.member_id,
        limit=limit,
        cursor=cursor,
        prefix=SEARCH_PREFIX,
    )
    rows = list(await conn.execute(page_query))
    page, next_cursor = searching.page_results(rows, limit, "created_at", "member_id")
    return page, total, next_cursor


def _granted(dialect: str, role_ids: list[str]) -> ColumnElement[bool]:
    """The member holds one of these roles by an SSO or SCIM grant (`granted_roles`)."""
    if dialect == "postgresql":
        granted = type_coerce(members.c.granted_roles, JSONB)
        return or_(*[granted.contains([{"role_id": r}]) for r in role_ids])
    entries = func.json_each(members.c.granted_roles).table_valued("value")
    return exists(
        select(literal(1)).select_from(entries).where(func.json_extract(entries.c.value, "$.role_id").in_(role_ids))
    )


def _member_condition(dialect: str, operand: Operand, orgs: dict[str, Row[Any]]) -> ColumnElement[bool]:
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
        held = [json_array_has(dialect, members.c.roles, None, lambda e: e.in_(value)), _granted(dialect, value)]
        # Roles an organization grants by email domain (`rbac_email_implicit_role_assignments`).
        for org_id, org in orgs.items():
            assignments = orgs_repo.settings_of(org)["rbac_email_implicit_role_assignments"]
            domains = sorted(
                {
                    str(a.get("domain", "")).lower()
                    for a in assignments
                    if isinstance(a, dict) and a.get("role_id") in value
                }
                - {""}
            )
            if domains:
                held.append(
                    and_(
                        members.c.organization_id == org_id,
                        or_(*[members.c.email_normalized.endswith(f"@{d}", autoescape=True) for d in domains]),
                    )
                )
        return or_(*held)
    # keystile stores no phone numbers yet: nothing matches.
    return false()


async def refresh_statistics(conn: Connection) -> None:
    """The planner's statistics of the Organization and Member tables, after a bulk load."""
    await db.refresh_statistics(conn, organizations, members, member_retired_emails)
