"""A login's provider tokens between the callback and the app's authenticate: sealed with the
master key into the single-use token (or intermediate session) that carries the login, until
the User or Member they belong to is known. One sealing serves both flows; each keeps the
purpose and data keys its tokens have always been stored under (`B2B`, `CONSUMER`)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from keystile.oauth import client

if TYPE_CHECKING:
    from keystile.core.context import Context


@dataclass(frozen=True)
class Sealing:
    """Where a flow keeps its sealed tokens: the purpose they are sealed under and the keys of
    the token's data holding the seal's id and the sealed text."""

    purpose: str
    id_key: str
    tokens_key: str

    @property
    def fields(self) -> tuple[str, str]:
        """The keys of a token's data that hold the sealed tokens."""
        return (self.id_key, self.tokens_key)

    def _purpose(self, ctx: Context, seal_id: str) -> str:
        return f"{self.purpose}:{ctx.project_id}:{seal_id}"

    def seal(self, ctx: Context, tokens: client.TokenSet) -> dict[str, str]:
        """The tokens, sealed under a purpose of their own; to put into a token's data."""
        seal_id = secrets.token_urlsafe(16)
        text = json.dumps(
            {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "id_token": tokens.id_token,
                "scopes": list(tokens.scopes),
                "expires_at": tokens.expires_at.isoformat() if tokens.expires_at else None,
            }
        )
        return {self.id_key: seal_id, self.tokens_key: ctx.state.keyring.master.seal(self._purpose(ctx, seal_id), text)}

    def unseal(self, ctx: Context, data: dict[str, Any]) -> client.TokenSet:
        """The tokens `seal` put into a token's data."""
        sealed = data[self.tokens_key]
        found = json.loads(ctx.state.keyring.master.unseal(self._purpose(ctx, str(data[self.id_key])), sealed))
        return client.TokenSet(
            access_token=found["access_token"],
            refresh_token=found["refresh_token"],
            id_token=found["id_token"],
            scopes=tuple(found["scopes"]),
            expires_at=datetime.fromisoformat(found["expires_at"]) if found["expires_at"] else None,
        )


B2B = Sealing(purpose="oauth-pending-b2b", id_key="pending_id", tokens_key="pending_tokens")
CONSUMER = Sealing(purpose="oauth-pending", id_key="seal_id", tokens_key="tokens")
