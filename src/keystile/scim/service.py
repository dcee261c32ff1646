"""SCIM connections (stytch.com/docs/b2b/api/scim-connection-object): one per organization,
a bearer token shown once and stored as its SHA-256, rotation with two live tokens, and the
mapping of directory groups to roles."""

from __future__ import annotations

import base64
from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import crypto, ids
from keystile.core.authz import check_role_ids
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.members import repository as members_repo
from keystile.organizations import repository as orgs_repo
from keystile.scim import repository, roles
from keystile.scim.errors import (
    InvalidScimIdentityProvider,
    ScimConnectionAlreadyExists,
    ScimConnectionNotFound,
    ScimGroupNotFound,
    ScimTokenRotationNotStarted,
)

IDENTITY_PROVIDERS = (
    "generic",
    "okta",
    "microsoft-entra",
    "cyberark",
    "jumpcloud",
    "onelogin",
    "pingfederate",
    "rippling",
)
# The path of a connection's SCIM service under keystile's public URL (scim/protocol.py).
SERVICE_PATH = "scim/v2"
MAX_GROUPS_PAGE = 1000


def base_url(ctx: Context, connection: Row[Any]) -> str:
    """The URL an identity provider is given with the token. For Entra, Stytch appends the
    flag that turns on Entra's RFC-compliant SCIM behaviour (`aadOptscim062020`)."""
    url = f"{ctx.state.settings.base_url}{SERVICE_PATH}/{connection.connection_id}"
    if connection.identity_provider == "microsoft-entra":
        url += "?aadOptscim062020"
    return url


def _identity_provider(value: str | None, default: str | None) -> str:
    if value is None or value == "":
        return default or "generic"
    if value not in IDENTITY_PROVIDERS:
        raise InvalidScimIdentityProvider()
    return value


async def connection_json(ctx: Context, row: Row[Any]) -> dict[str, Any]:
    """PY `SCIMConnection`; the group names of the role assignments read from the groups."""
    mapping = row.group_role_assignments or []
    names = {
        g.group_id: g.display_name
        for g in await repository.groups_by_id(
            ctx.conn, ctx.project_id, row.connection_id, [a["group_id"] for a in mapping]
        )
    }
    return {
        "organization_id": row.organization_id,
        "connection_id": row.connection_id,
        "status": row.status,
        "display_name": row.display_name,
        "identity_provider": row.identity_provider,
        "base_url": base_url(ctx, row),
        "bearer_token_last_four": row.token_last_four,
        "scim_group_implicit_role_assignments": [
            {"role_id": a["role_id"], "group_id": a["group_id"], "group_name": names.get(a["group_id"], "")}
            for a in mapping
        ],
        "next_bearer_token_last_four": row.next_token_last_four or "",
        "bearer_token_expires_at": rfc3339(row.token_expires_at) if row.token_expires_at else None,
        "next_bearer_token_expires_at": rfc3339(row.next_token_expires_at) if row.next_token_expires_at else None,
    }


def _active_connection(row: Row[Any]) -> dict[str, Any]:
    """PY `ActiveSCIMConnection`, kept on the organization row."""
    return {
        "connection_id": row.connection_id,
        "display_name": row.display_name,
        "bearer_token_last_four": row.token_last_four,
        "bearer_token_expires_at": rfc3339(row.token_expires_at) if row.token_expires_at else None,
    }


async def _publish(ctx: Context, row: Row[Any] | None, organization_id: str) -> None:
    await orgs_repo.set_scim_active_connection(
        ctx.conn, ctx.project_id, organization_id, _active_connection(row) if row is not None else None
    )


async def create(
    ctx: Context, organization: Row[Any], *, display_name: str | None, identity_provider: str | None
) -> tuple[Row[Any], str]:
    """A new connection and its bearer token (the only time the token is shown)."""
    provider = _identity_provider(identity_provider, None)
    if await repository.connection_of_organization(ctx.conn, ctx.project_id, organization.organization_id):
        raise ScimConnectionAlreadyExists()
    token = crypto.new_token()
    now = ctx.clock.now()
    row = await repository.insert_connection(
        ctx.conn,
        connection_id=ids.new_id("scim-connection", ctx.live),
        project_id=ctx.project_id,
        organization_id=organization.organization_id,
        status="active",
        display_name=display_name or "",
        identity_provider=provider,
        token_hash=crypto.hash_token(token),
        token_last_four=token[-4:],
        token_expires_at=None,
        next_token_hash=None,
        next_token_last_four="",
        next_token_expires_at=None,
        group_role_assignments=[],
        created_at=now,
        updated_at=now,
    )
    await _publish(ctx, row, organization.organization_id)
    return row, token


async def get(ctx: Context, organization: Row[Any]) -> Row[Any] | None:
    return await repository.connection_of_organization(ctx.conn, ctx.project_id, organization.organization_id)


async def get_existing(ctx: Context, organization: Row[Any], connection_id: str) -> Row[Any]:
    row = await repository.find_connection(ctx.conn, ctx.project_id, organization.organization_id, connection_id)
    if row is None:
        raise ScimConnectionNotFound()
    return row


async def update(
    ctx: Context,
    organization: Row[Any],
    row: Row[Any],
    *,
    display_name: str | None,
    identity_provider: str | None,
    assignments: list[dict[str, str]] | None,
) -> Row[Any]:
    """Change the name, the identity provider or the group → role mapping; a new mapping is
    applied to every member of the connection's groups at once."""
    values: dict[str, Any] = {}
    if display_name is not None:
        values["display_name"] = display_name
    if identity_provider is not None:
        values["identity_provider"] = _identity_provider(identity_provider, row.identity_provider)
    if assignments is not None:
        await check_role_ids(ctx, organization, [a["role_id"] for a in assignments])
        group_ids = list(dict.fromkeys(a["group_id"] for a in assignments))
        known = await repository.groups_by_id(ctx.conn, ctx.project_id, row.connection_id, group_ids)
        if len(known) != len(group_ids):
            raise ScimGroupNotFound()
        mapping: list[dict[str, str]] = []
        for a in assignments:
            entry = {"role_id": a["role_id"], "group_id": a["group_id"]}
            if entry not in mapping:
                mapping.append(entry)
        values["group_role_assignments"] = mapping
    if not values:
        return row
    values["updated_at"] = ctx.clock.now()
    updated = await repository.update_connection(ctx.conn, ctx.project_id, row.connection_id, **values)
    if assignments is not None:
        await roles.sync(
            ctx, updated, await repository.members_in_groups(ctx.conn, ctx.project_id, updated.connection_id)
        )
    await _publish(ctx, updated, organization.organization_id)
    return updated


async def delete(ctx: Context, organization: Row[Any], row: Row[Any]) -> None:
    """The connection stops working at once; the roles its groups granted go, its members
    stay (without a SCIM registration)."""
    in_groups = await repository.members_in_groups(ctx.conn, ctx.project_id, row.connection_id)
    await roles.drop(ctx, row, in_groups)
    await members_repo.forget_scim_connection(ctx.conn, ctx.project_id, organization.organization_id, row.connection_id)
    await repository.delete_connection(ctx.conn, ctx.project_id, row.connection_id)
    await _publish(ctx, None, organization.organization_id)


async def rotate_start(ctx: Context, organization: Row[Any], row: Row[Any]) -> tuple[Row[Any], str]:
    """A next token, valid alongside the current one until the rotation completes or is
    cancelled; starting again replaces the next token."""
    token = crypto.new_token()
    updated = await repository.update_connection(
        ctx.conn,
        ctx.project_id,
        row.connection_id,
        next_token_hash=crypto.hash_token(token),
        next_token_last_four=token[-4:],
        next_token_expires_at=None,
        updated_at=ctx.clock.now(),
    )
    return updated, token


async def rotate_complete(ctx: Context, organization: Row[Any], row: Row[Any]) -> Row[Any]:
    """The next token becomes the token; the old one stops working."""
    if not row.next_token_hash:
        raise ScimTokenRotationNotStarted()
    updated = await repository.update_connection(
        ctx.conn,
        ctx.project_id,
        row.connection_id,
        token_hash=row.next_token_hash,
        token_last_four=row.next_token_last_four,
        token_expires_at=row.next_token_expires_at,
        next_token_hash=None,
        next_token_last_four="",
        next_token_expires_at=None,
        updated_at=ctx.clock.now(),
    )
    await _publish(ctx, updated, organization.organization_id)
    return updated


async def rotate_cancel(ctx: Context, organization: Row[Any], row: Row[Any]) -> Row[Any]:
    """The next token stops working; the current one stays."""
    if not row.next_token_hash:
        raise ScimTokenRotationNotStarted()
    return await repository.update_connection(
        ctx.conn,
        ctx.project_id,
        row.connection_id,
        next_token_hash=None,
        next_token_last_four="",
        next_token_expires_at=None,
        updated_at=ctx.clock.now(),
    )


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"scim_groups:{offset}".encode()).decode().rstrip("=")


def _offset(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = raw.partition(":")
        if prefix != "scim_groups" or not number.isdigit():
            raise ValueError(raw)
        return int(number)
    except (ValueError, UnicodeDecodeError):
        raise errors.BadRequest("cursor: not a cursor this endpoint returned.") from None


async def get_groups(
    ctx: Context, row: Row[Any], *, cursor: str | None, limit: int | None
) -> tuple[list[dict[str, str]], str | None]:
    """PY `SCIMGroup`s of the connection, a page at a time, and the next page's cursor."""
    if limit is not None and not 1 <= limit <= MAX_GROUPS_PAGE:
        raise errors.BadRequest(f"limit: must be between 1 and {MAX_GROUPS_PAGE}.")
    size = limit or MAX_GROUPS_PAGE
    offset = _offset(cursor)
    rows = await repository.groups(ctx.conn, ctx.project_id, row.connection_id, offset=offset, limit=size + 1)
    more = len(rows) > size
    groups = [
        {
            "group_id": g.group_id,
            "group_name": g.display_name,
            "organization_id": row.organization_id,
            "connection_id": row.connection_id,
        }
        for g in rows[:size]
    ]
    return groups, _cursor(offset + size) if more else None
