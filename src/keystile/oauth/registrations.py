"""Projects' OAuth clients and people's provider registrations, with their tokens.

- `configure` / `client_for`: a project's client id and secret at a provider (the secret
  sealed with the master key) and the provider's endpoints as the project overrides them.
- `save`: a user's or a Member's registration at a provider after a login, its access,
  refresh and ID tokens sealed with the master key, each bound to its registration and field.
- `provider_values`: the tokens of a registration, the access token refreshed first when it
  has expired and the provider gave a refresh token (B2B `organizations.members.oauth_providers.*`
  reads Members' tokens through it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Row

from keystile.core import ids
from keystile.core.clock import rfc3339
from keystile.core.db import Connection
from keystile.core.keys import MasterKey
from keystile.oauth import client, errors, providers, repository
from keystile.oauth.providers import Profile, Provider

if TYPE_CHECKING:
    from keystile.core.context import Context

# An access token this close to its expiry is refreshed before it is handed out.
REFRESH_MARGIN = timedelta(seconds=60)
SETTINGS_FIELDS = (*providers.URL_FIELDS, "scopes")


# --- Clients ---


def check_settings(provider: str, settings: Mapping[str, Any]) -> dict[str, Any]:
    """A client's overrides, checked: known fields, URLs with a scheme, scopes a list of words."""
    if providers.get(provider) is None:
        raise ValueError(
            f"keystile knows no OAuth provider {provider!r}; known: {', '.join(sorted(providers.PROVIDERS))}"
        )
    clean: dict[str, Any] = {}
    for name, value in settings.items():
        if value is None:
            continue
        if name not in SETTINGS_FIELDS:
            raise ValueError(f"unknown OAuth client setting {name!r}; known: {', '.join(SETTINGS_FIELDS)}")
        if name == "scopes":
            if not isinstance(value, list | tuple) or not all(isinstance(s, str) and s and " " not in s for s in value):
                raise ValueError("scopes must be a list of scope names")
            clean[name] = list(value)
        elif not isinstance(value, str) or (value and not value.startswith(("https://", "http://"))):
            raise ValueError(f"{name} must be an http(s) URL (or empty, to turn the endpoint off)")
        else:
            clean[name] = value
    return clean


async def configure(
    conn: Connection,
    master: MasterKey,
    now: datetime,
    project_id: str,
    provider: str,
    *,
    client_id: str,
    client_secret: str,
    settings: Mapping[str, Any] | None = None,
) -> None:
    """Set the project's client at `provider` (replacing the one before). Raises ValueError
    for an unknown provider or setting."""
    clean = check_settings(provider, settings or {})
    if not client_id:
        raise ValueError("client_id is empty")
    sealed = master.seal(_client_purpose(project_id, provider), client_secret)
    await repository.put_client(
        conn, now, project_id, provider, client_id=client_id, client_secret=sealed, settings=clean
    )


async def remove(conn: Connection, project_id: str, provider: str) -> bool:
    return bool(await repository.delete_client(conn, project_id, provider))


async def listed(conn: Connection, project_id: str) -> list[dict[str, Any]]:
    """The project's clients, secrets left out."""
    return [
        {
            "provider": r.provider,
            "client_id": r.client_id,
            "settings": r.settings or {},
            "updated_at": rfc3339(r.updated_at),
        }
        for r in await repository.list_clients(conn, project_id)
    ]


def _client_purpose(project_id: str, provider: str) -> str:
    return f"oauth-client:{project_id}:{provider}"


def provider_named(name: str) -> Provider:
    found = providers.get(name)
    if found is None:
        raise errors.InvalidOAuthProvider(
            f"keystile knows no OAuth provider {name!r}. Known providers: {', '.join(sorted(providers.PROVIDERS))}."
        )
    return found


async def client_for(ctx: Context, name: str) -> client.Client:
    """The project's client at provider `name`, its endpoints as configured."""
    provider = provider_named(name)
    row = await repository.get_client(ctx.conn, ctx.project_id, name)
    if row is None:
        raise errors.OAuthConfigNotFound(
            f"This project has no OAuth client for {name}: set one with `keystile oauth set` or in keystile.toml."
        )
    secret = ctx.state.keyring.master.unseal(_client_purpose(ctx.project_id, name), row.client_secret)
    return client.Client(provider.configured(row.settings or {}), row.client_id, secret)


# --- Registrations and their tokens ---

TOKEN_FIELDS = ("access_token", "refresh_token", "id_token")


def _purpose(project_id: str, registration_id: str, field: str) -> str:
    return f"oauth-token:{project_id}:{registration_id}:{field}"


def _sealed(master: MasterKey, project_id: str, registration_id: str, tokens: client.TokenSet) -> dict[str, Any]:
    values: dict[str, Any] = {
        name: master.seal(_purpose(project_id, registration_id, name), getattr(tokens, name))
        if getattr(tokens, name)
        else None
        for name in TOKEN_FIELDS
    }
    values.update(scopes=list(tokens.scopes), expires_at=tokens.expires_at)
    return values


async def save(
    ctx: Context,
    *,
    provider: str,
    profile: Profile,
    tokens: client.TokenSet,
    user_id: str | None = None,
    member_id: str | None = None,
    organization_id: str | None = None,
) -> Row[Any]:
    """Create or update the owner's registration at `provider` with what a login gave. A
    refresh token the provider did not send again is kept (providers send one only on consent)."""
    owner_id = user_id or member_id
    if not owner_id:
        raise ValueError("a registration belongs to a user or a Member")
    now = ctx.clock.now()
    master = ctx.state.keyring.master
    existing = await repository.registration_of(ctx.conn, ctx.project_id, provider, owner_id)
    if existing is not None:
        values = _sealed(master, ctx.project_id, existing.registration_id, tokens)
        if values["refresh_token"] is None:
            values["refresh_token"] = existing.refresh_token
        values.update(provider_subject=profile.subject, profile=profile.to_json(), updated_at=now)
        return await repository.update_registration(ctx.conn, ctx.project_id, existing.registration_id, values)
    registration_id = ids.new_id("oauth-user-registration" if user_id else "oauth-member-registration", ctx.live)
    return await repository.insert_registration(
        ctx.conn,
        {
            "registration_id": registration_id,
            "project_id": ctx.project_id,
            "provider": provider,
            "provider_subject": profile.subject,
            "owner_id": owner_id,
            "user_id": user_id,
            "member_id": member_id,
            "organization_id": organization_id,
            "profile": profile.to_json(),
            "created_at": now,
            "updated_at": now,
            **_sealed(master, ctx.project_id, registration_id, tokens),
        },
    )


@dataclass(frozen=True)
class ProviderValues:
    """A registration's tokens in the clear, as Stytch's `provider_values` lists them."""

    access_token: str
    refresh_token: str
    id_token: str
    scopes: list[str]
    expires_at: datetime | None

    def to_json(self, *, include_refresh_token: bool = True) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token if include_refresh_token else "",
            "id_token": self.id_token,
            "scopes": self.scopes,
            "expires_at": rfc3339(self.expires_at) if self.expires_at else None,
        }


def _unsealed(ctx: Context, row: Row[Any]) -> ProviderValues:
    master = ctx.state.keyring.master

    def read(name: str) -> str:
        stored = getattr(row, name)
        return master.unseal(_purpose(ctx.project_id, row.registration_id, name), stored) if stored else ""

    return ProviderValues(
        access_token=read("access_token"),
        refresh_token=read("refresh_token"),
        id_token=read("id_token"),
        scopes=list(row.scopes or []),
        expires_at=row.expires_at,
    )


def _expired(values: ProviderValues, now: datetime) -> bool:
    return values.expires_at is not None and values.expires_at - REFRESH_MARGIN <= now


async def provider_values(ctx: Context, row: Row[Any], *, refresh: bool = True) -> ProviderValues:
    """The registration's tokens; with `refresh`, an expired (or nearly) access token is first
    exchanged for a new one with the refresh token, and the new tokens stored. The refresh is
    an HTTP request to the provider made inside the caller's transaction (on SQLite, holding
    the write lock while the provider answers): rare, once per access token lifetime."""
    values = _unsealed(ctx, row)
    now = ctx.clock.now()
    if not (refresh and _expired(values, now) and values.refresh_token):
        return values
    # One refresh at a time per registration: a concurrent request that refreshed first has
    # stored new tokens (a provider that rotates refresh tokens would refuse the old one).
    locked = await repository.get_registration(ctx.conn, ctx.project_id, row.registration_id, lock=True)
    if locked is None:
        return values
    row, values = locked, _unsealed(ctx, locked)
    if not (_expired(values, now) and values.refresh_token):
        return values
    oauth_client = await client_for(ctx, row.provider)
    try:
        fresh = await client.refresh(
            oauth_client, refresh_token=values.refresh_token, now=now, scopes=tuple(values.scopes)
        )
    except client.ProviderFailed as exc:
        raise errors.OAuthProviderError(str(exc)) from None
    stored = _sealed(ctx.state.keyring.master, ctx.project_id, row.registration_id, fresh)
    if stored["refresh_token"] is None:
        stored["refresh_token"] = row.refresh_token
    if stored["id_token"] is None:
        stored["id_token"] = row.id_token
    stored["updated_at"] = now
    updated = await repository.update_registration(ctx.conn, ctx.project_id, row.registration_id, stored)
    return _unsealed(ctx, updated)


async def find_by_subject(
    ctx: Context, provider: str, subject: str, *, organization_id: str | None = None
) -> Row[Any] | None:
    return await repository.find_by_subject(
        ctx.conn, ctx.project_id, provider, subject, organization_id=organization_id
    )


async def registration_of(ctx: Context, provider: str, owner_id: str) -> Row[Any] | None:
    return await repository.registration_of(ctx.conn, ctx.project_id, provider, owner_id)


async def get_registration(ctx: Context, registration_id: str) -> Row[Any] | None:
    return await repository.get_registration(ctx.conn, ctx.project_id, registration_id)


async def delete(ctx: Context, registration_id: str) -> None:
    await repository.delete_registration(ctx.conn, ctx.project_id, registration_id)


async def registrations_of(ctx: Context, owner_id: str) -> list[Row[Any]]:
    return await repository.registrations_of(ctx.conn, ctx.project_id, owner_id)


async def apply_file_config(conn: Connection, master: MasterKey, now: datetime, config: Any) -> list[str]:
    """Make the stored clients hold what keystile.toml's `[projects.oauth.<provider>]` tables
    declare (config.py FileConfig); one line per change. Raises ValueError for an unknown
    provider or setting."""
    changes: list[str] = []
    for p in config.projects:
        for provider, declared in (p.oauth or {}).items():
            secret = declared.client_secret.get_secret_value()
            settings = check_settings(provider, declared.settings())
            row = await repository.get_client(conn, p.project_id, provider)
            if (
                row is not None
                and row.client_id == declared.client_id
                and (row.settings or {}) == settings
                and master.unseal(_client_purpose(p.project_id, provider), row.client_secret) == secret
            ):
                continue
            await configure(
                conn,
                master,
                now,
                p.project_id,
                provider,
                client_id=declared.client_id,
                client_secret=secret,
                settings=settings,
            )
            changes.append(f"{p.project_id}: OAuth client for {provider} set")
    return changes
