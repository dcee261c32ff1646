"""Organization queries. Each takes the connection and the project first."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core.db import Connection
from keystile.models.organizations import organizations

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


def settings_of(organization: Row[Any]) -> dict[str, Any]:
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
