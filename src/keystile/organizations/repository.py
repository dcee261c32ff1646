"""Organization queries. Each takes the connection and the project first."""

from __future__ import annotations

from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Text,
    cast,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
)
from sqlalchemy import delete as sa_delete
from sqlalchemy import update as sa_update
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails
from keystile.core import search as searching
from keystile.core.db import Connection, Record
from keystile.core.search import Operand, contains_ci, json_array_has
from keystile.models.organizations import member_retired_emails, members, organizations
from keystile.models.sessions import sessions
from keystile.models.tokens import tokens

SEARCH_PREFIX = "organization_search"

# Stytch's defaults for an Organization's policy fields (PY b2b/api/organizations.py `create`).
DEFAULT_SETTINGS: dict[str, Any] = {
    "sso_jit_provisioning": "ALL_ALLOWED",
    "sso_jit_provisioning_allowed_connections": [],
    "sso_default_connection_id": None,
    "email_allowed_domains": [],
    "email_jit_provisioning": "NOT_ALLOWED",
    "email_invites": "ALL_ALLOWED",
    "auth_methods": "ALL_ALLOWED",
    "allowed_auth_methods": [],
    "mfa_policy": "OPTIONAL",
    "rbac_email_implicit_role_assignments": [],
    "mfa_methods": "ALL_ALLOWED",
    "allowed_mfa_methods": [],
    "oauth_tenant_jit_provisioning": "NOT_ALLOWED",
    "allowed_oauth_tenants": {},
    "claimed_email_domains": [],
    "first_party_connected_apps_allowed_type": "ALL_ALLOWED",
    "allowed_first_party_connected_apps": [],
    "third_party_connected_apps_allowed_type": "ALL_ALLOWED",
    "allowed_third_party_connected_apps": [],
    "custom_roles": [],
}


def settings_of(organization: Record) -> dict[str, Any]:
    """An organization's policy fields, Stytch's defaults filled in for the ones never set."""
    return {**DEFAULT_SETTINGS, **(organization.settings or {})}


async def find(conn: Connection, project_id: str, ref: str) -> Row[Any] | None:
    """By `organization_id`, `organization_slug` or `organization_external_id` (reference §1.5)."""
    return (
        await conn.execute(
            select(organizations)
            .where(
                organizations.c.project_id == project_id,
                or_(
                    organizations.c.organization_id == ref,
                    organizations.c.slug == ref,
                    organizations.c.external_id == ref,
                ),
            )
            .order_by((organizations.c.organization_id == ref).desc())
            .limit(1)
        )
    ).first()


async def find_by_external_id(conn: Connection, project_id: str, external_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(organizations).where(
                organizations.c.project_id == project_id, organizations.c.external_id == external_id
            )
        )
    ).first()


async def get(conn: Connection, project_id: str, ref: str) -> Row[Any]:
    row = await find(conn, project_id, ref)
    if row is None:
        raise errors.OrganizationNotFound()
    return row


async def get_many(conn: Connection, project_id: str, organization_ids: list[str]) -> dict[str, Row[Any]]:
    if not organization_ids:
        return {}
    rows = await conn.execute(
        select(organizations).where(
            organizations.c.project_id == project_id, organizations.c.organization_id.in_(organization_ids)
        )
    )
    return {row.organization_id: row for row in rows}


async def set_sso_settings(
    conn: Connection,
    project_id: str,
    organization_id: str,
    *,
    active_connections: list[dict[str, str]],
    settings: dict[str, Any] | None = None,
) -> Row[Any]:
    """The sso area's write: the organization's `sso_active_connections` (connection_id,
    display_name, identity_provider), and the SSO policy fields it keeps consistent with its
    connections (`sso_default_connection_id`, `sso_jit_provisioning_allowed_connections`)
    when `settings` names them."""
    values: dict[str, Any] = {"sso_active_connections": active_connections}
    if settings is not None:
        values["settings"] = settings
    return (
        await conn.execute(
            sa_update(organizations)
            .where(organizations.c.project_id == project_id, organizations.c.organization_id == organization_id)
            .values(**values)
            .returning(organizations)
        )
    ).one()


async def slug_taken(conn: Connection, project_id: str, slug: str, *, except_id: str | None = None) -> bool:
    query = select(organizations.c.organization_id).where(
        organizations.c.project_id == project_id, organizations.c.slug == slug
    )
    if except_id:
        query = query.where(organizations.c.organization_id != except_id)
    return (await conn.execute(query)).first() is not None


async def external_id_taken(
    conn: Connection, project_id: str, external_id: str, *, except_id: str | None = None
) -> bool:
    query = select(organizations.c.organization_id).where(
        organizations.c.project_id == project_id, organizations.c.external_id == external_id
    )
    if except_id:
        query = query.where(organizations.c.organization_id != except_id)
    return (await conn.execute(query)).first() is not None


async def with_restricted_jit(conn: Connection, project_id: str) -> list[Row[Any]]:
    """Organizations whose email JIT provisioning is RESTRICTED (to their allowed domains)."""
    rows = await conn.execute(
        select(organizations).where(
            organizations.c.project_id == project_id,
            organizations.c.settings["email_jit_provisioning"].as_string() == "RESTRICTED",
        )
    )
    return list(rows)


async def with_restricted_oauth_tenant_jit(conn: Connection, project_id: str) -> list[Row[Any]]:
    """Organizations whose OAuth tenant JIT provisioning is RESTRICTED (to their allowed tenants)."""
    rows = await conn.execute(
        select(organizations).where(
            organizations.c.project_id == project_id,
            organizations.c.settings["oauth_tenant_jit_provisioning"].as_string() == "RESTRICTED",
        )
    )
    return list(rows)


async def create(conn: Connection, **values: Any) -> Row[Any]:
    """Insert an organization (`values`: its columns, project_id included)."""
    return (await conn.execute(insert(organizations).values(**values).returning(organizations))).one()


async def update(conn: Connection, project_id: str, organization_id: str, values: dict[str, Any]) -> Row[Any]:
    """Set some of an organization's columns; the updated row."""
    return (
        await conn.execute(
            sa_update(organizations)
            .where(organizations.c.organization_id == organization_id, organizations.c.project_id == project_id)
            .values(**values)
            .returning(organizations)
        )
    ).one()


async def set_scim_active_connection(
    conn: Connection, project_id: str, organization_id: str, connection: dict[str, Any] | None
) -> None:
    """Keep `Organization.scim_active_connection` on the row (the scim area writes it)."""
    await conn.execute(
        sa_update(organizations)
        .where(organizations.c.organization_id == organization_id, organizations.c.project_id == project_id)
        .values(scim_active_connection=connection)
    )


async def delete(conn: Connection, project_id: str, organization_id: str) -> list[str]:
    """Delete an organization and what cannot outlive it, children first: its members'
    sessions, its tokens, its members' retired emails, its members. One statement per table
    in one transaction (what the members and sessions areas hold of it goes with it, so this
    is the one place that deletes their rows). Returns the ids of the sessions ended."""
    member_ids = select(members.c.member_id).where(
        members.c.project_id == project_id, members.c.organization_id == organization_id
    )
    ended = await conn.execute(
        sa_delete(sessions)
        .where(sessions.c.project_id == project_id, sessions.c.member_id.in_(member_ids))
        .returning(sessions.c.session_id)
    )
    session_ids = [row.session_id for row in ended]
    await conn.execute(
        sa_delete(tokens).where(tokens.c.project_id == project_id, tokens.c.organization_id == organization_id)
    )
    await conn.execute(
        sa_delete(member_retired_emails).where(
            member_retired_emails.c.project_id == project_id,
            member_retired_emails.c.organization_id == organization_id,
        )
    )
    await conn.execute(
        sa_delete(members).where(members.c.project_id == project_id, members.c.organization_id == organization_id)
    )
    await conn.execute(
        sa_delete(organizations).where(
            organizations.c.project_id == project_id, organizations.c.organization_id == organization_id
        )
    )
    return session_ids


async def claimants(conn: Connection, project_id: str, domain: str) -> set[str]:
    """Ids of the organizations whose claimed email domains include `domain`."""
    rows = await conn.execute(
        select(organizations.c.organization_id).where(
            organizations.c.project_id == project_id,
            json_array_has(conn.dialect.name, organizations.c.settings, "claimed_email_domains", lambda e: e == domain),
        )
    )
    return {row.organization_id for row in rows}


async def member_count(conn: Connection, project_id: str, organization_id: str) -> int:
    """Members of the organization that are not deleted."""
    count = await conn.execute(
        select(func.count())
        .select_from(members)
        .where(
            members.c.project_id == project_id,
            members.c.organization_id == organization_id,
            members.c.status != "deleted",
        )
    )
    return int(count.scalar_one())


# --- Search (stytch.com/docs/b2b/api/search-organizations) ---


def _domains_in(dialect: str, key: str, wanted: list[str]) -> ColumnElement[bool]:
    """Organizations whose settings[key] array holds any of `wanted`. On PostgreSQL the
    expression is spelled exactly as the GIN index of migration 0003, so it is used."""
    if not wanted:
        return false()
    if dialect == "postgresql":
        document: ColumnElement[Any] = literal_column(f"(organizations.settings -> '{key}')")
        return document.op("?|")(postgresql.array(wanted, type_=Text))
    return json_array_has(dialect, organizations.c.settings, key, lambda e: e.in_(wanted))


def _member_exists(condition: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(literal(1)).where(
            members.c.organization_id == organizations.c.organization_id,
            members.c.status != "deleted",
            condition,
        )
    )


def _organization_condition(dialect: str, operand: Operand) -> ColumnElement[bool]:
    name, value = operand.name, operand.value
    if name == "organization_ids":
        return organizations.c.organization_id.in_(value)
    if name == "organization_slugs":
        return organizations.c.slug.in_(value)
    if name == "organization_name_fuzzy":
        return contains_ci(organizations.c.name, value)
    if name == "organization_slug_fuzzy":
        return contains_ci(organizations.c.slug, value)
    if name == "member_emails":
        return _member_exists(members.c.email_normalized.in_([emails.normalize(v) for v in value]))
    if name == "member_email_fuzzy":
        return _member_exists(contains_ci(members.c.email_normalized, value))
    if name == "allowed_domains":
        wanted = [v.strip().lower() for v in value]
        return _domains_in(dialect, "email_allowed_domains", wanted)
    if name == "allowed_domain_fuzzy":
        return json_array_has(
            dialect, organizations.c.settings, "email_allowed_domains", lambda e: contains_ci(e, value)
        )
    if name == "claimed_email_domains":
        wanted = [v.strip().lower() for v in value]
        return _domains_in(dialect, "claimed_email_domains", wanted)
    if name == "has_active_sso_connection":
        length = func.jsonb_array_length if dialect == "postgresql" else func.json_array_length
        has_one = length(organizations.c.sso_active_connections) > 0
        return has_one if value else ~has_one
    if name == "sso_connection_id":
        return _has_active_connection(dialect, str(value))
    return false()


def _has_active_connection(dialect: str, connection_id: str) -> ColumnElement[bool]:
    """The organization lists `connection_id` among its `sso_active_connections`."""
    column = organizations.c.sso_active_connections
    if dialect == "postgresql":
        wanted = orjson.dumps([{"connection_id": connection_id}]).decode()
        return column.op("@>")(cast(literal(wanted), postgresql.JSONB))
    elements = func.json_each(column).table_valued("value")
    return exists(
        select(literal(1))
        .select_from(elements)
        .where(func.json_extract(elements.c.value, "$.connection_id") == connection_id)
    )


async def search(
    conn: Connection, project_id: str, parsed: searching.Query, *, cursor: str | None, limit: int
) -> tuple[list[Row[Any]], int, str | None]:
    """One page of the project's Organizations matching a parsed search, the total, the next cursor."""
    dialect = conn.dialect.name
    where = [organizations.c.project_id == project_id]
    combined = parsed.combine([_organization_condition(dialect, op) for op in parsed.operands])
    if combined is not None:
        where.append(combined)
    total = (await conn.execute(select(func.count()).select_from(organizations).where(*where))).scalar_one()
    page_query = searching.paginate(
        select(organizations).where(*where),
        organizations.c.created_at,
        organizations.c.organization_id,
        limit=limit,
        cursor=cursor,
        prefix=SEARCH_PREFIX,
    )
    rows = list(await conn.execute(page_query))
    page, next_cursor = searching.page_results(rows, limit, "created_at", "organization_id")
    return page, total, next_cursor
