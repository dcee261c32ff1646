"""SSO connection queries. Each takes the connection and the project first, except
`find_anywhere`, which finds a connection by its id for the browser-facing callback before
any project is known (the connection's own project then scopes everything after)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.sso import sso_connections, sso_oidc_tokens


async def insert_connection(conn: Connection, **values: Any) -> Row[Any]:
    return (await conn.execute(insert(sso_connections).values(**values).returning(sso_connections))).one()


async def find(
    conn: Connection, project_id: str, connection_id: str, *, organization_id: str | None = None, lock: bool = False
) -> Row[Any] | None:
    """`lock`: FOR UPDATE on PostgreSQL (SQLite transactions are exclusive), for a caller that
    rewrites the row's JSON from what it read (SAML certificate lists)."""
    query = select(sso_connections).where(
        sso_connections.c.project_id == project_id, sso_connections.c.connection_id == connection_id
    )
    if organization_id is not None:
        query = query.where(sso_connections.c.organization_id == organization_id)
    if lock:
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def find_anywhere(conn: Connection, connection_id: str) -> Row[Any] | None:
    """By id alone (ids are random and carry their kind): the browser-facing routes learn the
    project from the connection."""
    return (await conn.execute(select(sso_connections).where(sso_connections.c.connection_id == connection_id))).first()


async def of_organization(conn: Connection, project_id: str, organization_id: str) -> list[Row[Any]]:
    rows = await conn.execute(
        select(sso_connections)
        .where(sso_connections.c.project_id == project_id, sso_connections.c.organization_id == organization_id)
        .order_by(sso_connections.c.created_at, sso_connections.c.connection_id)
    )
    return list(rows)


async def referring_to(conn: Connection, project_id: str, connection_id: str) -> list[Row[Any]]:
    """The external connections that delegate to `connection_id`."""
    rows = await conn.execute(
        select(sso_connections).where(
            sso_connections.c.project_id == project_id,
            sso_connections.c.kind == "external",
            sso_connections.c.config["external_connection_id"].as_string() == connection_id,
        )
    )
    return list(rows)


async def update_connection(
    conn: Connection, project_id: str, connection_id: str, now: datetime, **values: Any
) -> Row[Any]:
    return (
        await conn.execute(
            update(sso_connections)
            .where(sso_connections.c.project_id == project_id, sso_connections.c.connection_id == connection_id)
            .values(**values, updated_at=now)
            .returning(sso_connections)
        )
    ).one()


async def delete_connection(conn: Connection, project_id: str, connection_id: str) -> int:
    result = await conn.execute(
        delete(sso_connections).where(
            sso_connections.c.project_id == project_id, sso_connections.c.connection_id == connection_id
        )
    )
    return int(result.rowcount)


# --- The tokens of OIDC connections' IdPs, per Member (sso/oidc_tokens.py) ---


async def put_oidc_tokens(conn: Connection, project_id: str, member_id: str, connection_id: str, **values: Any) -> None:
    """Replace the Member's tokens from this connection (insert the first time)."""
    where = (
        sso_oidc_tokens.c.project_id == project_id,
        sso_oidc_tokens.c.member_id == member_id,
        sso_oidc_tokens.c.connection_id == connection_id,
    )
    updated = await conn.execute(update(sso_oidc_tokens).where(*where).values(**values))
    if not updated.rowcount:
        await conn.execute(
            insert(sso_oidc_tokens).values(
                project_id=project_id,
                member_id=member_id,
                connection_id=connection_id,
                created_at=values["updated_at"],
                **values,
            )
        )


async def oidc_tokens_of(conn: Connection, project_id: str, member_id: str) -> list[Row[Any]]:
    """The Member's tokens from every OIDC connection it logged in through, oldest first."""
    rows = await conn.execute(
        select(sso_oidc_tokens)
        .where(sso_oidc_tokens.c.project_id == project_id, sso_oidc_tokens.c.member_id == member_id)
        .order_by(sso_oidc_tokens.c.created_at, sso_oidc_tokens.c.connection_id)
    )
    return list(rows)
