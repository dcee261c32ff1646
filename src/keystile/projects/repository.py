"""Project queries: projects, their secrets, and what `project.metrics` counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, literal_column, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.organizations import members, organizations
from keystile.models.projects import project_secrets, projects
from keystile.models.users import users


async def counts(conn: Connection, project_id: str) -> dict[str, int]:
    """Users, organizations and (not deleted) members of the project, in one statement."""
    user_count = select(func.count()).select_from(users).where(users.c.project_id == project_id)
    organization_count = select(func.count()).select_from(organizations).where(organizations.c.project_id == project_id)
    member_count = (
        select(func.count())
        .select_from(members)
        .where(members.c.project_id == project_id, members.c.status != literal_column("'deleted'"))
    )
    row = (
        await conn.execute(
            select(
                user_count.scalar_subquery().label("users"),
                organization_count.scalar_subquery().label("organizations"),
                member_count.scalar_subquery().label("members"),
            )
        )
    ).one()
    return {"users": row.users, "organizations": row.organizations, "members": row.members}


async def find_project(conn: Connection, project_id: str) -> Row[Any] | None:
    return (await conn.execute(select(projects).where(projects.c.project_id == project_id))).first()


async def find_by_public_token(conn: Connection, public_token: str) -> Row[Any] | None:
    """The project a browser-facing route names by its public token."""
    return (await conn.execute(select(projects).where(projects.c.public_token == public_token))).first()


async def all_projects(conn: Connection) -> list[Row[Any]]:
    return list(await conn.execute(select(projects).order_by(projects.c.created_at)))


async def any_project(conn: Connection) -> bool:
    return (await conn.execute(select(projects.c.project_id).limit(1))).first() is not None


async def live_of(conn: Connection, project_id: str) -> bool | None:
    """Whether the project is live; None for no such project."""
    live = (await conn.execute(select(projects.c.live).where(projects.c.project_id == project_id))).scalar()
    return None if live is None else bool(live)


async def insert_project(
    conn: Connection, project_id: str, *, name: str, live: bool, public_token: str, now: datetime
) -> None:
    await conn.execute(
        insert(projects).values(project_id=project_id, name=name, live=live, public_token=public_token, created_at=now)
    )


async def update_project(conn: Connection, project_id: str, **values: Any) -> None:
    await conn.execute(update(projects).where(projects.c.project_id == project_id).values(**values))


async def session_migration_url(conn: Connection, project_id: str) -> str | None:
    """The userinfo endpoint sessions.migrate asks (None: not configured)."""
    return await conn.scalar(select(projects.c.session_migration_url).where(projects.c.project_id == project_id))


async def insert_secret(conn: Connection, project_id: str, secret_id: str, secret_hash: str, now: datetime) -> None:
    await conn.execute(
        insert(project_secrets).values(
            secret_id=secret_id, project_id=project_id, secret_hash=secret_hash, created_at=now
        )
    )


async def secret_hashes(conn: Connection, project_id: str) -> set[str]:
    rows = await conn.execute(select(project_secrets.c.secret_hash).where(project_secrets.c.project_id == project_id))
    return {row.secret_hash for row in rows}


async def newest_secret_id(conn: Connection, project_id: str) -> str | None:
    return (
        await conn.execute(
            select(project_secrets.c.secret_id)
            .where(project_secrets.c.project_id == project_id)
            .order_by(project_secrets.c.created_at.desc())
            .limit(1)
        )
    ).scalar()


async def delete_secrets(
    conn: Connection, project_id: str, *, except_hash: str | None = None, except_id: str | None = None
) -> int:
    """Remove the project's secrets but the one named; how many were removed."""
    scope = [project_secrets.c.project_id == project_id]
    if except_hash is not None:
        scope.append(project_secrets.c.secret_hash != except_hash)
    if except_id is not None:
        scope.append(project_secrets.c.secret_id != except_id)
    done = await conn.execute(delete(project_secrets).where(*scope))
    return int(done.rowcount)
