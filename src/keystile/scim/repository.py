"""SCIM connection, group and group-membership queries. Each takes the connection and the
project first (the bearer-token lookup, which finds the project, excepted)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.organizations import organizations
from keystile.models.projects import projects
from keystile.models.scim import scim_connections, scim_group_members, scim_groups

# --- connections ---


async def insert_connection(conn: Connection, **values: Any) -> Row[Any]:
    return (await conn.execute(insert(scim_connections).values(**values).returning(scim_connections))).one()


async def connection_of_organization(conn: Connection, project_id: str, organization_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(scim_connections).where(
                scim_connections.c.project_id == project_id, scim_connections.c.organization_id == organization_id
            )
        )
    ).first()


async def find_connection(
    conn: Connection, project_id: str, organization_id: str, connection_id: str
) -> Row[Any] | None:
    return (
        await conn.execute(
            select(scim_connections).where(
                scim_connections.c.project_id == project_id,
                scim_connections.c.organization_id == organization_id,
                scim_connections.c.connection_id == connection_id,
            )
        )
    ).first()


async def update_connection(conn: Connection, project_id: str, connection_id: str, **values: Any) -> Row[Any]:
    return (
        await conn.execute(
            update(scim_connections)
            .where(scim_connections.c.project_id == project_id, scim_connections.c.connection_id == connection_id)
            .values(**values)
            .returning(scim_connections)
        )
    ).one()


async def delete_connection(conn: Connection, project_id: str, connection_id: str) -> None:
    """The connection and its groups with their memberships (deleted here, not left to the
    foreign keys, so that it holds whatever the database enforces)."""
    group_ids = select(scim_groups.c.group_id).where(
        scim_groups.c.project_id == project_id, scim_groups.c.connection_id == connection_id
    )
    await conn.execute(
        delete(scim_group_members).where(
            scim_group_members.c.project_id == project_id, scim_group_members.c.group_id.in_(group_ids)
        )
    )
    await conn.execute(
        delete(scim_groups).where(scim_groups.c.project_id == project_id, scim_groups.c.connection_id == connection_id)
    )
    await conn.execute(
        delete(scim_connections).where(
            scim_connections.c.project_id == project_id, scim_connections.c.connection_id == connection_id
        )
    )


async def connection_for_service(conn: Connection, connection_id: str) -> Row[Any] | None:
    """A SCIM request's connection by the id in its URL, with its project's columns (the
    bearer token is the credential, so no project is known before this), only while its
    organization exists."""
    return (
        await conn.execute(
            select(
                scim_connections,
                projects.c.name.label("project_name"),
                projects.c.live,
                projects.c.public_token,
                projects.c.clock_offset_seconds,
            )
            .join(projects, projects.c.project_id == scim_connections.c.project_id)
            .join(organizations, organizations.c.organization_id == scim_connections.c.organization_id)
            .where(scim_connections.c.connection_id == connection_id)
        )
    ).first()


# --- groups ---


async def insert_group(conn: Connection, **values: Any) -> Row[Any]:
    return (await conn.execute(insert(scim_groups).values(**values).returning(scim_groups))).one()


async def find_group(conn: Connection, project_id: str, connection_id: str, group_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(scim_groups).where(
                scim_groups.c.project_id == project_id,
                scim_groups.c.connection_id == connection_id,
                scim_groups.c.group_id == group_id,
            )
        )
    ).first()


async def find_group_by_name(conn: Connection, project_id: str, connection_id: str, name: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(scim_groups).where(
                scim_groups.c.project_id == project_id,
                scim_groups.c.connection_id == connection_id,
                scim_groups.c.display_name_normalized == name.casefold(),
            )
        )
    ).first()


async def groups(
    conn: Connection, project_id: str, connection_id: str, *, offset: int = 0, limit: int | None = None
) -> list[Row[Any]]:
    """The connection's groups, oldest first."""
    query = (
        select(scim_groups)
        .where(scim_groups.c.project_id == project_id, scim_groups.c.connection_id == connection_id)
        .order_by(scim_groups.c.created_at, scim_groups.c.group_id)
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return list(await conn.execute(query))


async def groups_by_id(conn: Connection, project_id: str, connection_id: str, group_ids: list[str]) -> list[Row[Any]]:
    if not group_ids:
        return []
    return list(
        await conn.execute(
            select(scim_groups).where(
                scim_groups.c.project_id == project_id,
                scim_groups.c.connection_id == connection_id,
                scim_groups.c.group_id.in_(group_ids),
            )
        )
    )


async def count_groups(conn: Connection, project_id: str, connection_id: str) -> int:
    return int(
        (
            await conn.execute(
                select(func.count())
                .select_from(scim_groups)
                .where(scim_groups.c.project_id == project_id, scim_groups.c.connection_id == connection_id)
            )
        ).scalar_one()
    )


async def update_group(conn: Connection, project_id: str, group_id: str, **values: Any) -> Row[Any]:
    return (
        await conn.execute(
            update(scim_groups)
            .where(scim_groups.c.project_id == project_id, scim_groups.c.group_id == group_id)
            .values(**values)
            .returning(scim_groups)
        )
    ).one()


async def delete_group(conn: Connection, project_id: str, group_id: str) -> None:
    await conn.execute(
        delete(scim_group_members).where(
            scim_group_members.c.project_id == project_id, scim_group_members.c.group_id == group_id
        )
    )
    await conn.execute(
        delete(scim_groups).where(scim_groups.c.project_id == project_id, scim_groups.c.group_id == group_id)
    )


# --- memberships ---


async def group_members(
    conn: Connection, project_id: str, group_ids: list[str]
) -> dict[str, list[tuple[str, str | None]]]:
    """Each group's members: (member id, display as the directory sent it)."""
    found: dict[str, list[tuple[str, str | None]]] = {g: [] for g in group_ids}
    if not group_ids:
        return found
    rows = await conn.execute(
        select(scim_group_members.c.group_id, scim_group_members.c.member_id, scim_group_members.c.display)
        .where(scim_group_members.c.project_id == project_id, scim_group_members.c.group_id.in_(group_ids))
        .order_by(scim_group_members.c.member_id)
    )
    for row in rows:
        found[row.group_id].append((row.member_id, row.display))
    return found


async def member_groups(
    conn: Connection, project_id: str, connection_id: str, member_ids: list[str]
) -> dict[str, list[Row[Any]]]:
    """Each member's groups of this connection."""
    found: dict[str, list[Row[Any]]] = {m: [] for m in member_ids}
    if not member_ids:
        return found
    rows = await conn.execute(
        select(scim_group_members.c.member_id, scim_groups)
        .join(scim_groups, scim_groups.c.group_id == scim_group_members.c.group_id)
        .where(
            scim_group_members.c.project_id == project_id,
            scim_groups.c.connection_id == connection_id,
            scim_group_members.c.member_id.in_(member_ids),
        )
        .order_by(scim_groups.c.created_at, scim_groups.c.group_id)
    )
    for row in rows:
        found[row.member_id].append(row)
    return found


async def put_group_members(conn: Connection, project_id: str, group_id: str, members: dict[str, str | None]) -> None:
    """Add these members (member id → display) to the group, or update their display."""
    present = dict((await group_members(conn, project_id, [group_id]))[group_id])
    new = [m for m in members if m not in present]
    if new:
        await conn.execute(
            insert(scim_group_members),
            [{"group_id": group_id, "member_id": m, "project_id": project_id, "display": members[m]} for m in new],
        )
    for member_id, display in members.items():
        if member_id in present and present[member_id] != display:
            await conn.execute(
                update(scim_group_members)
                .where(
                    scim_group_members.c.project_id == project_id,
                    scim_group_members.c.group_id == group_id,
                    scim_group_members.c.member_id == member_id,
                )
                .values(display=display)
            )


async def remove_group_members(conn: Connection, project_id: str, group_id: str, member_ids: list[str]) -> None:
    if member_ids:
        await conn.execute(
            delete(scim_group_members).where(
                scim_group_members.c.project_id == project_id,
                scim_group_members.c.group_id == group_id,
                scim_group_members.c.member_id.in_(member_ids),
            )
        )


async def leave_all_groups(conn: Connection, project_id: str, member_id: str) -> None:
    await conn.execute(
        delete(scim_group_members).where(
            scim_group_members.c.project_id == project_id, scim_group_members.c.member_id == member_id
        )
    )


async def members_in_groups(conn: Connection, project_id: str, connection_id: str) -> list[str]:
    """Every member in at least one of the connection's groups."""
    rows = await conn.execute(
        select(scim_group_members.c.member_id)
        .join(scim_groups, scim_groups.c.group_id == scim_group_members.c.group_id)
        .where(scim_group_members.c.project_id == project_id, scim_groups.c.connection_id == connection_id)
        .distinct()
    )
    return [row.member_id for row in rows]
