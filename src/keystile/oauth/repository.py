"""Every statement of the oauth area: projects' clients at providers, and registrations (a
user's or a Member's account at a provider, with its sealed tokens)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from keystile.core.db import Connection
from keystile.models.oauth import oauth_clients, oauth_registrations

# --- Clients ---


async def get_client(conn: Connection, project_id: str, provider: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(oauth_clients).where(oauth_clients.c.project_id == project_id, oauth_clients.c.provider == provider)
        )
    ).first()


async def list_clients(conn: Connection, project_id: str) -> list[Row[Any]]:
    rows = await conn.execute(
        select(oauth_clients).where(oauth_clients.c.project_id == project_id).order_by(oauth_clients.c.provider)
    )
    return list(rows)


async def put_client(
    conn: Connection,
    now: datetime,
    project_id: str,
    provider: str,
    *,
    client_id: str,
    client_secret: str,
    settings: dict[str, Any],
) -> None:
    """Insert or replace the project's client at `provider` (`client_secret` already sealed)."""
    values = {"client_id": client_id, "client_secret": client_secret, "settings": settings, "updated_at": now}
    changed = await conn.execute(
        update(oauth_clients)
        .where(oauth_clients.c.project_id == project_id, oauth_clients.c.provider == provider)
        .values(**values)
    )
    if not changed.rowcount:
        await conn.execute(
            insert(oauth_clients).values(project_id=project_id, provider=provider, created_at=now, **values)
        )


async def delete_client(conn: Connection, project_id: str, provider: str) -> int:
    result = await conn.execute(
        delete(oauth_clients).where(oauth_clients.c.project_id == project_id, oauth_clients.c.provider == provider)
    )
    return int(result.rowcount)


# --- Registrations ---


async def find_by_subject(
    conn: Connection, project_id: str, provider: str, subject: str, *, organization_id: str | None = None
) -> Row[Any] | None:
    """The registration of `subject` at `provider`: a user's (no `organization_id`), or a
    Member's of that organization."""
    scope = [
        oauth_registrations.c.project_id == project_id,
        oauth_registrations.c.provider == provider,
        oauth_registrations.c.provider_subject == subject,
    ]
    if organization_id is None:
        scope.append(oauth_registrations.c.user_id.is_not(None))
    else:
        scope.append(oauth_registrations.c.organization_id == organization_id)
    return (await conn.execute(select(oauth_registrations).where(*scope))).first()


async def get_registration(
    conn: Connection, project_id: str, registration_id: str, *, lock: bool = False
) -> Row[Any] | None:
    """The registration; with `lock`, locked until the transaction ends (PostgreSQL; SQLite's
    transactions are serialized already): one refresh of its tokens at a time."""
    query = select(oauth_registrations).where(
        oauth_registrations.c.project_id == project_id,
        oauth_registrations.c.registration_id == registration_id,
    )
    return (await conn.execute(query.with_for_update() if lock else query)).first()


async def registration_of(conn: Connection, project_id: str, provider: str, owner_id: str) -> Row[Any] | None:
    """The registration of a user or Member (`owner_id`) at `provider`."""
    return (
        await conn.execute(
            select(oauth_registrations).where(
                oauth_registrations.c.project_id == project_id,
                oauth_registrations.c.provider == provider,
                oauth_registrations.c.owner_id == owner_id,
            )
        )
    ).first()


async def registrations_of(conn: Connection, project_id: str, owner_id: str) -> list[Row[Any]]:
    rows = await conn.execute(
        select(oauth_registrations)
        .where(oauth_registrations.c.project_id == project_id, oauth_registrations.c.owner_id == owner_id)
        .order_by(oauth_registrations.c.created_at, oauth_registrations.c.registration_id)
    )
    return list(rows)


async def insert_registration(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    return (await conn.execute(insert(oauth_registrations).values(**values).returning(oauth_registrations))).one()


async def update_registration(
    conn: Connection, project_id: str, registration_id: str, values: dict[str, Any]
) -> Row[Any]:
    return (
        await conn.execute(
            update(oauth_registrations)
            .where(
                oauth_registrations.c.project_id == project_id,
                oauth_registrations.c.registration_id == registration_id,
            )
            .values(**values)
            .returning(oauth_registrations)
        )
    ).one()


async def delete_registration(conn: Connection, project_id: str, registration_id: str) -> int:
    result = await conn.execute(
        delete(oauth_registrations).where(
            oauth_registrations.c.project_id == project_id,
            oauth_registrations.c.registration_id == registration_id,
        )
    )
    return int(result.rowcount)
