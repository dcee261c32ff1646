"""SAML statements: the IDs of accepted Responses and assertions (models/sso_saml.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlalchemy.exc import IntegrityError

from keystile.core.db import Connection
from keystile.models.sso_saml import sso_saml_seen_messages


async def remember(
    conn: Connection, project_id: str, connection_id: str, message_ids: list[str], *, expires_at: datetime
) -> bool:
    """Record the IDs as accepted; False when any was accepted before (a replay). One
    INSERT under a unique key, so two posts of one Response race to a single success."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(sso_saml_seen_messages),
                [
                    {
                        "project_id": project_id,
                        "connection_id": connection_id,
                        "message_id": message_id,
                        "expires_at": expires_at,
                    }
                    for message_id in message_ids
                ],
            )
    except IntegrityError:
        return False
    return True


async def forget_expired(conn: Connection, project_id: str, now: datetime) -> None:
    await conn.execute(
        delete(sso_saml_seen_messages).where(
            sso_saml_seen_messages.c.project_id == project_id, sso_saml_seen_messages.c.expires_at < now
        )
    )
