"""The tokens an OIDC connection's IdP gives a Member: kept sealed at each login, read back
by organizations.members.oidc_providers (stytch.com/docs/b2b/api/get-oidc-access-token),
the access token refreshed first when it has expired and the IdP gave a refresh token.

Between the callback and sso.authenticate the tokens wait, sealed, in the single-use `sso`
token (`pending` / `from_pending`); sso.authenticate keeps them for the Member it logs in
(`save`). Every stored token is sealed with the master key bound to the project, the
Member, the connection and the token's name, so a value copied to another row does not open.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Row

from keystile.core.clock import as_utc
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.sso import oidc_client, repository, service

TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")
# An access token this close to its expiry is refreshed before it is handed out.
REFRESH_MARGIN = timedelta(seconds=60)


def from_answer(answer: dict[str, Any], now: datetime) -> dict[str, Any]:
    """What a token endpoint answered, as kept: the three tokens, the scopes, the expiry."""
    expires_in = answer.get("expires_in")
    expires_at = None
    if isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0:
        expires_at = now + timedelta(seconds=int(expires_in))
    scope = answer.get("scope")
    return {
        **{name: answer[name] if isinstance(answer.get(name), str) else "" for name in TOKEN_FIELDS},
        "scopes": scope.split() if isinstance(scope, str) else [],
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


def _pending_purpose(ctx: Context, pending_id: str) -> str:
    return f"sso-oidc-pending:{ctx.project_id}:{pending_id}"


def pending(ctx: Context, tokens: dict[str, Any]) -> dict[str, str]:
    """The tokens sealed into the `sso` token's data until sso.authenticate."""
    pending_id = secrets.token_urlsafe(16)
    sealed = ctx.state.keyring.master.seal(_pending_purpose(ctx, pending_id), json.dumps(tokens))
    return {"oidc_pending_id": pending_id, "oidc_tokens": sealed}


def from_pending(ctx: Context, data: dict[str, Any]) -> dict[str, Any] | None:
    if not data.get("oidc_pending_id") or not data.get("oidc_tokens"):
        return None
    text = ctx.state.keyring.master.unseal(_pending_purpose(ctx, str(data["oidc_pending_id"])), data["oidc_tokens"])
    found = json.loads(text)
    return found if isinstance(found, dict) else None


def _purpose(ctx: Context, member_id: str, connection_id: str, name: str) -> str:
    return f"sso-oidc-token:{ctx.project_id}:{member_id}:{connection_id}:{name}"


async def save(ctx: Context, member_id: str, connection_id: str, subject: str, tokens: dict[str, Any]) -> None:
    """Keep the Member's tokens from this connection, sealed. A refresh token the IdP did not
    send again is kept (IdPs send one only now and then)."""
    master = ctx.state.keyring.master
    values: dict[str, Any] = {
        name: master.seal(_purpose(ctx, member_id, connection_id, name), tokens[name]) if tokens.get(name) else None
        for name in TOKEN_FIELDS
    }
    if values["refresh_token"] is None:
        values.pop("refresh_token")
    expires = tokens.get("expires_at")
    await repository.put_oidc_tokens(
        ctx.conn,
        ctx.project_id,
        member_id,
        connection_id,
        provider_subject=subject,
        scopes=list(tokens.get("scopes") or []),
        expires_at=as_utc(datetime.fromisoformat(expires)) if isinstance(expires, str) else None,
        updated_at=ctx.clock.now(),
        **values,
    )


def _read(ctx: Context, row: Record, name: str) -> str:
    stored = getattr(row, name)
    return (
        ctx.state.keyring.master.unseal(_purpose(ctx, row.member_id, row.connection_id, name), stored) if stored else ""
    )


async def _refreshed(ctx: Context, row: Row[Any], refresh_token: str) -> Row[Any] | None:
    """Trade the refresh token at the connection's token endpoint; the stored row after."""
    connection = await service.find_active(ctx, row.connection_id)
    if connection is None:
        return None
    config = connection.config or {}
    answer = await oidc_client.refresh(
        ctx.state.settings,
        config["token_url"],
        refresh_token=refresh_token,
        client_id=config["client_id"],
        client_secret=service.unseal(ctx, connection, "client_secret"),
        auth_method=config.get("token_auth_method", "client_secret_basic"),
    )
    tokens = from_answer(answer, ctx.clock.now())
    if not tokens["id_token"]:
        tokens["id_token"] = _read(ctx, row, "id_token")
    if not tokens["scopes"]:
        tokens["scopes"] = list(row.scopes or [])
    await save(ctx, row.member_id, row.connection_id, row.provider_subject, tokens)
    for fresh in await repository.oidc_tokens_of(ctx.conn, ctx.project_id, row.member_id):
        if fresh.connection_id == row.connection_id:
            return fresh
    return None


async def registrations(ctx: Context, member_id: str, *, include_refresh_token: bool) -> list[dict[str, Any]]:
    """The Member's tokens from each OIDC connection (PY `OIDCProviderInfo`), refreshed first
    where expired."""
    found = []
    now = ctx.clock.now()
    for row in await repository.oidc_tokens_of(ctx.conn, ctx.project_id, member_id):
        refresh_token = _read(ctx, row, "refresh_token")
        if row.expires_at is not None and row.expires_at - REFRESH_MARGIN <= now and refresh_token:
            row = await _refreshed(ctx, row, refresh_token) or row
            refresh_token = _read(ctx, row, "refresh_token")
        expires_in = max(0, int((row.expires_at - now).total_seconds())) if row.expires_at is not None else 0
        found.append(
            {
                "provider_subject": row.provider_subject,
                "id_token": _read(ctx, row, "id_token"),
                "access_token": _read(ctx, row, "access_token"),
                "access_token_expires_in": expires_in,
                "scopes": list(row.scopes or []),
                "connection_id": row.connection_id,
                "refresh_token": refresh_token if include_refresh_token else "",
            }
        )
    return found
