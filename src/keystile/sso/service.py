"""SSO connections of every kind: the one table (models/sso.py), their secrets sealed with the
master key, the organization's `sso_active_connections` and `sso_default_connection_id`
kept in step with them, and `get_connections` / `delete_connection`
(stytch.com/docs/b2b/api/get-sso-connections, /delete-sso-connection).

A kind (oidc, saml, external) is a `Kind` in `KINDS` (sso/kinds.py registers them): how its
connection reads as Stytch's object, under which key `get_connections` lists it, how a
login through it starts (sso/start.py) and how its IdP's answer comes back (sso/callback.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import events, ids
from keystile.core.context import Context
from keystile.core.db import Record
from keystile.organizations import repository as orgs_repo
from keystile.sso import guards, repository
from keystile.sso.errors import ConnectionNotFound

if TYPE_CHECKING:
    from fastapi import Request

    from keystile.sso.login import Flow, Identity

ACTIVE = "active"
PENDING = "pending"
KIND_PREFIXES = {"oidc": "oidc-connection", "saml": "saml-connection", "external": "external-connection"}
# The `identity_provider` values an OIDC or SAML connection may name.
IDENTITY_PROVIDERS = frozenset(
    {
        "classlink",
        "cyberark",
        "duo",
        "generic",
        "google-workspace",
        "jumpcloud",
        "keycloak",
        "miniorange",
        "microsoft-entra",
        "okta",
        "onelogin",
        "pingfederate",
        "rippling",
        "salesforce",
        "shibboleth",
    }
)


def identity_provider(value: str | None) -> str:
    """A connection's `identity_provider`: one of IDENTITY_PROVIDERS, "generic" when not named."""
    if value is not None and value not in IDENTITY_PROVIDERS:
        raise errors.InvalidArgument(f"identity_provider must be one of {', '.join(sorted(IDENTITY_PROVIDERS))}.")
    return value or "generic"


@dataclass(frozen=True)
class Kind:
    """One kind of connection.

    - `serialize(ctx, row)`: Stytch's connection object (OIDCConnection, SAMLConnection, …).
    - `list_key`: where `get_connections` lists it (`oidc_connections`, …).
    - `start(ctx, connection, flow, options)`: opens the flow (`login.open_flow`, with the
      data the kind's callback will need in `flow.data`) and returns the IdP's URL to send
      the browser to, the flow's state and its browser binding. `options`: the start URL's
      other query parameters.
    - `callback(request, ctx, connection)`: reads the IdP's answer at the connection's
      callback URL and returns the verified Identity and the Flow it belongs to (None for an
      IdP-initiated login, which only SAML allows); `sso/login.py finish_login` does the rest.
    - `granted_roles(connection, groups)`: the Member's `granted_roles` entries a login
      through the connection grants (SAML: the connection's and its groups' roles), applied
      by `sso.authenticate`; None for a kind that grants none.
    """

    name: str
    list_key: str
    serialize: Callable[[Context, Record], dict[str, Any]]
    start: Callable[[Context, Record, Flow, dict[str, str]], Awaitable[tuple[str, str, str]]] | None = None
    callback: Callable[[Request, Context, Record], Awaitable[tuple[Identity, Flow | None]]] | None = None
    granted_roles: Callable[[Record, list[str]], list[dict[str, Any]]] | None = None


KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> None:
    KINDS[kind.name] = kind


def new_connection_id(ctx: Context, kind: str) -> str:
    return ids.new_id(KIND_PREFIXES[kind], ctx.live)


def _purpose(row_or_id: Record | str, name: str) -> str:
    connection_id = row_or_id if isinstance(row_or_id, str) else row_or_id.connection_id
    return f"sso-connection:{connection_id}:{name}"


def seal(ctx: Context, connection_id: str, name: str, value: str) -> str:
    """A connection secret (an OIDC client secret, a SAML private key) as stored: sealed with
    the master key, bound to the connection and the secret's name."""
    return ctx.state.keyring.master.seal(_purpose(connection_id, name), value)


def unseal(ctx: Context, row: Record, name: str) -> str:
    """A connection's secret in the clear; "" when it has none of that name."""
    stored = (row.secrets or {}).get(name)
    return ctx.state.keyring.master.unseal(_purpose(row, name), stored) if stored else ""


async def organization(ctx: Context, organization_ref: str, *, action: str | None = None) -> Row[Any]:
    """The organization; with `action`, a Member acting by session header must hold
    `stytch.sso` `action` in it ("" : only belong to it)."""
    org = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    if action is not None:
        await guards.sso_action(ctx, org, action)
    return org


async def get(
    ctx: Context, organization_id: str, connection_id: str, *, kind: str | None = None, lock: bool = False
) -> Row[Any]:
    """A connection of this organization (and of `kind`), else connection_not_found; `lock`:
    held until the request's transaction ends (repository.find)."""
    row = await repository.find(ctx.conn, ctx.project_id, connection_id, organization_id=organization_id, lock=lock)
    if row is None or (kind is not None and row.kind != kind):
        raise ConnectionNotFound()
    return row


async def find_active(ctx: Context, connection_id: str) -> Row[Any] | None:
    row = await repository.find(ctx.conn, ctx.project_id, connection_id)
    return row if row is not None and row.status == ACTIVE else None


async def create(
    ctx: Context,
    org: Record,
    kind: str,
    *,
    status: str,
    display_name: str,
    identity_provider: str,
    config: dict[str, Any],
    secrets: dict[str, str] | None = None,
    connection_id: str | None = None,
) -> Row[Any]:
    """Store a new connection (`secrets` in the clear: sealed here) and bring the
    organization's SSO fields in step."""
    now = ctx.clock.now()
    connection_id = connection_id or new_connection_id(ctx, kind)
    row = await repository.insert_connection(
        ctx.conn,
        connection_id=connection_id,
        project_id=ctx.project_id,
        organization_id=org.organization_id,
        kind=kind,
        status=status,
        display_name=display_name,
        identity_provider=identity_provider,
        config=config,
        secrets={name: seal(ctx, connection_id, name, value) for name, value in (secrets or {}).items()},
        created_at=now,
        updated_at=now,
    )
    await sync_organization(ctx, org.organization_id)
    return row


async def update(ctx: Context, row: Record, *, secrets: dict[str, str | None] | None = None, **values: Any) -> Row[Any]:
    """Change a connection's columns; `secrets` sets (or, with None, removes) sealed secrets."""
    if secrets:
        stored = dict(row.secrets or {})
        for name, value in secrets.items():
            if value is None:
                stored.pop(name, None)
            else:
                stored[name] = seal(ctx, row.connection_id, name, value)
        values["secrets"] = stored
    updated = await repository.update_connection(ctx.conn, ctx.project_id, row.connection_id, ctx.clock.now(), **values)
    await sync_organization(ctx, row.organization_id)
    return updated


async def sync_organization(ctx: Context, organization_id: str) -> Row[Any]:
    """Write the organization's `sso_active_connections` from its connections, and keep its
    `sso_default_connection_id` naming one of them: the first connection becomes the default,
    a deleted default gives way to the oldest remaining active one (or none); and drop deleted
    connections from `sso_jit_provisioning_allowed_connections`."""
    org = await orgs_repo.get(ctx.conn, ctx.project_id, organization_id)
    rows = await repository.of_organization(ctx.conn, ctx.project_id, organization_id)
    active = [
        {"connection_id": r.connection_id, "display_name": r.display_name, "identity_provider": r.identity_provider}
        for r in rows
        if r.status == ACTIVE
    ]
    existing = {r.connection_id for r in rows}
    settings = dict(org.settings or {})
    default = settings.get("sso_default_connection_id")
    if default not in existing:
        settings["sso_default_connection_id"] = (
            active[0]["connection_id"] if active else (rows[0].connection_id if rows else None)
        )
    allowed = settings.get("sso_jit_provisioning_allowed_connections")
    if allowed:
        settings["sso_jit_provisioning_allowed_connections"] = [c for c in allowed if c in existing]
    return await orgs_repo.set_sso_settings(
        ctx.conn, ctx.project_id, organization_id, active_connections=active, settings=settings
    )


def serialize(ctx: Context, row: Record) -> dict[str, Any]:
    return KINDS[row.kind].serialize(ctx, row)


async def get_connections(ctx: Context, organization_ref: str) -> dict[str, list[dict[str, Any]]]:
    """Every connection of the organization, by kind (stytch.com/docs/b2b/api/get-sso-connections)."""
    org = await organization(ctx, organization_ref, action="")
    rows = await repository.of_organization(ctx.conn, ctx.project_id, org.organization_id)
    listed: dict[str, list[dict[str, Any]]] = {
        "saml_connections": [],
        "oidc_connections": [],
        "external_connections": [],
    }
    for row in rows:
        kind = KINDS.get(row.kind)
        if kind is not None:
            listed[kind.list_key].append(kind.serialize(ctx, row))
    return listed


async def delete_connection(ctx: Context, organization_ref: str, connection_id: str) -> str:
    """Delete a connection of any kind (stytch.com/docs/b2b/api/delete-sso-connection), with
    the external connections of other organizations that delegate to it; the organizations'
    SSO fields follow. Members keep their sso_registrations, as Stytch's do."""
    org = await organization(ctx, organization_ref, action="delete")
    row = await get(ctx, org.organization_id, connection_id)
    dependents = await repository.referring_to(ctx.conn, ctx.project_id, row.connection_id)
    for dependent in dependents:
        await repository.delete_connection(ctx.conn, ctx.project_id, dependent.connection_id)
    await repository.delete_connection(ctx.conn, ctx.project_id, row.connection_id)
    for organization_id in {org.organization_id, *(d.organization_id for d in dependents)}:
        await sync_organization(ctx, organization_id)
    return row.connection_id


def check_display_name(display_name: str | None) -> None:
    if display_name is not None and len(display_name) > 256:
        raise errors.InvalidArgument("display_name may be at most 256 characters.")


def implicit_roles(
    connection_id: str,
    connection_roles: list[dict[str, Any]],
    group_roles: list[dict[str, Any]],
    groups: list[str],
) -> list[dict[str, Any]]:
    """`granted_roles` entries (members/repository.py replace_granted_roles) for a login
    through `connection_id`: every connection role, and the group roles of `groups`."""
    entries = [
        {"role_id": a["role_id"], "source": {"type": "sso_connection", "details": {"connection_id": connection_id}}}
        for a in connection_roles
    ]
    for a in group_roles:
        if a.get("group") in groups:
            details = {"connection_id": connection_id, "group": a["group"]}
            entries.append({"role_id": a["role_id"], "source": {"type": "sso_connection_group", "details": details}})
    return entries


async def on_connections_named(ctx: Context, event: events.SSOConnectionsNamed) -> None:
    """organizations.update may name only this organization's connections as its default or
    as the ones that provision Members just in time."""
    rows = await repository.of_organization(ctx.conn, ctx.project_id, event.organization_id)
    known = {r.connection_id for r in rows}
    unknown = [c for c in event.connection_ids if c not in known]
    if unknown:
        raise ConnectionNotFound(f"{unknown[0]} is not an SSO connection of this organization.")
