"""The statements of the test clock: a project's offset, read and moved in one statement each."""

from __future__ import annotations

from sqlalchemy import select, update

from keystile.core.db import Connection
from keystile.models.projects import projects


async def offset(conn: Connection, project_id: str) -> int | None:
    """The project's offset in seconds; None if there is no such project."""
    return (
        await conn.execute(select(projects.c.clock_offset_seconds).where(projects.c.project_id == project_id))
    ).scalar()


async def advance(conn: Connection, project_id: str, seconds: int, *, limit: int) -> int | None:
    """Move a test project's clock `seconds` ahead, unless that would take it past `limit`
    seconds. The new offset; None if nothing moved (no such test project, or the limit)."""
    return (
        await conn.execute(
            update(projects)
            .where(
                projects.c.project_id == project_id,
                projects.c.live.is_(False),
                projects.c.clock_offset_seconds + seconds <= limit,
            )
            .values(clock_offset_seconds=projects.c.clock_offset_seconds + seconds)
            .returning(projects.c.clock_offset_seconds)
        )
    ).scalar()


async def reset(conn: Connection, project_id: str) -> bool:
    """Put the project back on the server's time; False if there is no such project."""
    done = await conn.execute(
        update(projects).where(projects.c.project_id == project_id).values(clock_offset_seconds=0)
    )
    return done.rowcount > 0
