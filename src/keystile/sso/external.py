"""External connections (stytch.com/docs/b2b/guides/sso/external-connections): a connection
of one organization that logs its Members in through another organization's SAML or OIDC
connection in the same project. The IdP, its callback URL and its checks are the source
connection's; the login ends in the external connection's organization, under its rules."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile.core.context import Context
from keystile.core.db import Record
from keystile.sso import repository, service
from keystile.sso.errors import ConnectionNotFound, InvalidExternalConnection
from keystile.sso.login import Flow


def _roles(assignments: list[dict[str, Any]] | None, *, group: bool) -> list[dict[str, str]]:
    out = []
    for a in assignments or []:
        entry = {"role_id": str(a.get("role_id", ""))}
        if group:
            entry["group"] = str(a.get("group", ""))
        out.append(entry)
    return out


def connection_json(ctx: Context, row: Record) -> dict[str, Any]:
    """Stytch's external Connection object."""
    config = row.config or {}
    return {
        "organization_id": row.organization_id,
        "connection_id": row.connection_id,
        "external_organization_id": config.get("external_organization_id", ""),
        "external_connection_id": config.get("external_connection_id", ""),
        "display_name": row.display_name,
        "status": row.status,
        "external_connection_implicit_role_assignments": list(config.get("connection_implicit_role_assignments", [])),
        "external_group_implicit_role_assignments": list(config.get("group_implicit_role_assignments", [])),
    }


async def create_connection(
    ctx: Context,
    organization_ref: str,
    *,
    external_organization_id: str,
    external_connection_id: str,
    display_name: str | None,
    connection_implicit_role_assignments: list[dict[str, Any]] | None,
    group_implicit_role_assignments: list[dict[str, Any]] | None,
) -> Row[Any]:
    """stytch.com/docs/b2b/api/create-external-connection: the source must be a SAML or OIDC
    connection of another organization of this project."""
    service.check_display_name(display_name)
    org = await service.organization(ctx, organization_ref, action="create")
    source_org = await service.organization(ctx, external_organization_id)
    if source_org.organization_id == org.organization_id:
        raise InvalidExternalConnection("An external connection must name another organization's connection.")
    source = await repository.find(
        ctx.conn, ctx.project_id, external_connection_id, organization_id=source_org.organization_id
    )
    if source is None or source.kind == "external":
        raise InvalidExternalConnection(
            "external_connection_id must be a SAML or OIDC connection of external_organization_id."
        )
    return await service.create(
        ctx,
        org,
        "external",
        status=service.ACTIVE,
        display_name=display_name or source.display_name,
        identity_provider=source.identity_provider,
        config={
            "external_organization_id": source_org.organization_id,
            "external_connection_id": source.connection_id,
            "connection_implicit_role_assignments": _roles(connection_implicit_role_assignments, group=False),
            "group_implicit_role_assignments": _roles(group_implicit_role_assignments, group=True),
        },
    )


async def update_connection(
    ctx: Context,
    organization_ref: str,
    connection_id: str,
    *,
    display_name: str | None,
    connection_implicit_role_assignments: list[dict[str, Any]] | None,
    group_implicit_role_assignments: list[dict[str, Any]] | None,
) -> Row[Any]:
    """stytch.com/docs/b2b/api/update-external-connection."""
    service.check_display_name(display_name)
    org = await service.organization(ctx, organization_ref, action="update")
    row = await service.get(ctx, org.organization_id, connection_id, kind="external")
    config = dict(row.config or {})
    if connection_implicit_role_assignments is not None:
        config["connection_implicit_role_assignments"] = _roles(connection_implicit_role_assignments, group=False)
    if group_implicit_role_assignments is not None:
        config["group_implicit_role_assignments"] = _roles(group_implicit_role_assignments, group=True)
    values: dict[str, Any] = {"config": config}
    if display_name is not None:
        values["display_name"] = display_name
    return await service.update(ctx, row, **values)


async def start(ctx: Context, connection: Record, flow: Flow, options: dict[str, str]) -> tuple[str, str, str]:
    """A login through the source connection's IdP, ending in this connection's organization."""
    source = await service.find_active(ctx, str((connection.config or {}).get("external_connection_id", "")))
    kind = service.KINDS.get(source.kind) if source is not None else None
    if source is None or kind is None or kind.start is None:
        raise ConnectionNotFound("The connection this external connection delegates to is gone or not active.")
    return await kind.start(ctx, source, flow, options)


def granted_roles(connection: Record, groups: list[str]) -> list[dict[str, Any]]:
    config = connection.config or {}
    return service.implicit_roles(
        connection.connection_id,
        list(config.get("connection_implicit_role_assignments", [])),
        list(config.get("group_implicit_role_assignments", [])),
        groups,
    )


KIND = service.Kind(
    name="external",
    list_key="external_connections",
    serialize=connection_json,
    start=start,
    granted_roles=granted_roles,
)
