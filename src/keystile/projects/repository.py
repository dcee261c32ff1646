"""Reads about a whole project: what `project.metrics` counts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.organizations import members, organizations
from keystile.models.projects import projects
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
