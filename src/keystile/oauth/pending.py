"""A login's provider tokens between the callback and the app's authenticate: sealed with the
master key into the single-use token (or intermediate session) that carries the login, until
the Member they belong to is known."""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from keystile.oauth import client

if TYPE_CHECKING:
    from keystile.core.context import Context

# The keys of a token's data that hold the sealed tokens.
FIELDS = ("pending_id", "pending_tokens")


def _purpose(ctx: Context, pending_id: str) -> str:
    return f"oauth-pending-b2b:{ctx.project_id}:{pending_id}"


def seal(ctx: Context, tokens: client.TokenSet) -> dict[str, str]:
    """The tokens, sealed under a purpose of their own; to put into a token's data."""
    pending_id = secrets.token_urlsafe(16)
    text = json.dumps(
        {
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "id_token": tokens.id_token,
            "scopes": list(tokens.scopes),
            "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
        }
    )
    return {"pending_id": pending_id, "pending_tokens": ctx.state.keyring.master.seal(_purpose(ctx, pending_id), text)}


def unseal(ctx: Context, data: dict[str, Any]) -> client.TokenSet:
    found = json.loads(ctx.state.keyring.master.unseal(_purpose(ctx, str(data["pending_id"])), data["pending_tokens"]))
    return client.TokenSet(
        access_token=found["access_token"],
        refresh_token=found["refresh_token"],
        id_token=found["id_token"],
        scopes=tuple(found["scopes"]),
        expires_at=datetime.fromisoformat(found["expires_at"]) if found["expires_at"] else None,
    )
