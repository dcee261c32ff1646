"""Projects, their secrets and their redirect URLs (used by the CLI, the config file and tests)."""

from __future__ import annotations

import secrets as pysecrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from keystile.config import FileConfig, check_userinfo_url
from keystile.core import crypto, ids, password_policy, phones, redirect_urls
from keystile.core import policy_store as rbac_repository
from keystile.core.db import Connection
from keystile.core.keys import Keyring
from keystile.core.redirect_urls import RedirectType
from keystile.projects import repository

if TYPE_CHECKING:  # the CLI uses this module without the web stack the request context brings
    from keystile.core.context import Context


@dataclass(frozen=True)
class NewProject:
    project_id: str
    secret: str
    public_token: str
    name: str
    live: bool


class ProjectNotFound(LookupError):
    pass


def new_secret(live: bool) -> str:
    return f"secret-{'live' if live else 'test'}-{pysecrets.token_urlsafe(27)}"


async def create_project(
    conn: Connection,
    keyring: Keyring,
    now: datetime,
    *,
    name: str,
    live: bool = False,
    project_id: str | None = None,
    secret: str | None = None,
    public_token: str | None = None,
) -> NewProject:
    project_id = project_id or ids.project_id(live)
    secret = secret or new_secret(live)
    public_token = public_token or f"public-token-{'live' if live else 'test'}-{uuid.uuid4()}"
    await repository.insert_project(conn, project_id, name=name, live=live, public_token=public_token, now=now)
    await add_secret(conn, project_id, secret, now)
    await keyring.create(conn, project_id, live, now)
    return NewProject(project_id, secret, public_token, name, live)


async def add_secret(conn: Connection, project_id: str, secret: str, now: datetime) -> None:
    await repository.insert_secret(conn, project_id, str(uuid.uuid4()), crypto.hash_token(secret), now)


async def rotate_secret(conn: Connection, project_id: str, now: datetime, *, revoke_others: bool) -> tuple[str, int]:
    """Add a new secret to the project (what Stytch's dashboard does to rotate one); with
    `revoke_others`, remove every other secret in the same transaction. Returns the new
    secret (shown once) and how many secrets were removed."""
    live = await repository.live_of(conn, project_id)
    if live is None:
        raise ProjectNotFound(project_id)
    secret = new_secret(live)
    await add_secret(conn, project_id, secret, now)
    removed = 0
    if revoke_others:
        removed = await repository.delete_secrets(conn, project_id, except_hash=crypto.hash_token(secret))
    return secret, removed


async def revoke_old_secrets(conn: Connection, project_id: str) -> int:
    """Remove every secret of the project but the newest; returns how many were removed."""
    await require_project(conn, project_id)
    newest = await repository.newest_secret_id(conn, project_id)
    return await repository.delete_secrets(conn, project_id, except_id=newest)


async def set_email_link_redirect(conn: Connection, project_id: str, on: bool) -> None:
    """Send the project's emailed links through keystile's redirect page (on, the default) or
    straight to the app (off: universal links on mobile). ADR 0015."""
    await require_project(conn, project_id)
    await repository.update_project(conn, project_id, email_link_redirect=on)


async def list_projects(conn: Connection) -> list[dict]:
    rows = await repository.all_projects(conn)
    return [
        {
            "project_id": r.project_id,
            "name": r.name,
            "live": r.live,
            "public_token": r.public_token,
            "email_link_redirect": r.email_link_redirect,
        }
        for r in rows
    ]


async def require_project(conn: Connection, project_id: str) -> None:
    if await repository.live_of(conn, project_id) is None:
        raise ProjectNotFound(project_id)


async def add_redirect_url(
    conn: Connection,
    now: datetime,
    project_id: str,
    url: str,
    types: list[RedirectType],
    *,
    default: bool = False,
) -> None:
    """Allow `url` for each type (idempotent); with `default`, make it the default of each."""
    await require_project(conn, project_id)
    for redirect_type in types:
        await redirect_urls.allow(conn, now, project_id, url, redirect_type, default=default)


async def remove_redirect_url(conn: Connection, project_id: str, url: str) -> int:
    await require_project(conn, project_id)
    return await redirect_urls.remove(conn, project_id, url)


async def list_redirect_urls(conn: Connection, project_id: str) -> list[dict]:
    await require_project(conn, project_id)
    rows = await redirect_urls.allowed(conn, project_id)
    by_url: dict[str, dict] = {}
    for r in rows:
        entry = by_url.setdefault(r.url, {"url": r.url, "types": [], "default_for": []})
        entry["types"].append(r.type)
        if r.is_default:
            entry["default_for"].append(r.type)
    return list(by_url.values())


async def sms_country_codes(conn: Connection, project_id: str) -> list[str]:
    """The ISO country codes the project sends SMS and WhatsApp to (core/phones.py)."""
    await require_project(conn, project_id)
    return await phones.allowed_countries(conn, project_id)


async def set_sms_country_codes(conn: Connection, project_id: str, codes: list[str] | None) -> list[str]:
    """Replace the project's list (None: keystile's default, US and CA); returns the list now in force.
    Raises ValueError for a code that is no country's."""
    await require_project(conn, project_id)
    await phones.set_allowed_countries(conn, project_id, codes)
    return await phones.allowed_countries(conn, project_id)


async def session_migration_url(conn: Connection, project_id: str) -> str | None:
    """The userinfo endpoint sessions.migrate asks about an external session (None: off)."""
    await require_project(conn, project_id)
    return await repository.session_migration_url(conn, project_id)


async def set_session_migration_url(conn: Connection, project_id: str, url: str | None) -> str | None:
    """Set (or with None, turn off) the session migration userinfo endpoint. Raises
    ValueError for anything but an absolute http(s) URL."""
    await require_project(conn, project_id)
    if url is not None:
        url = check_userinfo_url(url)
    await repository.update_project(conn, project_id, session_migration_url=url)
    return url


async def apply_file_config(conn: Connection, keyring: Keyring, now: datetime, config: FileConfig) -> list[str]:
    """Make the database hold what `keystile.toml` declares: same ids, secrets and URLs.
    Returns what it changed, one line each (empty when the database already held it all)."""
    changes: list[str] = []
    for p in config.projects:
        secret = p.secret.get_secret_value()
        current = await repository.find_project(conn, p.project_id)
        if current is None:
            await create_project(
                conn,
                keyring,
                now,
                name=p.name or p.project_id,
                live=p.live,
                project_id=p.project_id,
                secret=secret,
                public_token=p.public_token,
            )
            if p.email_link_redirect is False:
                await set_email_link_redirect(conn, p.project_id, False)
            changes.append(f"created project {p.project_id}")
        else:
            values: dict[str, Any] = {"name": p.name} if p.name and p.name != current.name else {}
            if p.public_token and p.public_token != current.public_token:
                values["public_token"] = p.public_token
            if p.email_link_redirect is not None and p.email_link_redirect != current.email_link_redirect:
                values["email_link_redirect"] = p.email_link_redirect
            if values:
                await repository.update_project(conn, p.project_id, **values)
                changes.append(f"{p.project_id}: set {', '.join(sorted(values))}")
            if crypto.hash_token(secret) not in await repository.secret_hashes(conn, p.project_id):
                await add_secret(conn, p.project_id, secret, now)
                changes.append(f"{p.project_id}: added a secret")
        before = await list_redirect_urls(conn, p.project_id)
        for r in p.redirect_urls:
            await add_redirect_url(
                conn, now, p.project_id, r.url, [RedirectType(t) for t in r.types], default=r.default
            )
        after = await list_redirect_urls(conn, p.project_id)
        if after != before:
            changes.append(f"{p.project_id}: redirect URLs now {_describe_redirects(after)}")
        codes = p.sms_country_codes
        if codes is not None and await phones.allowed_countries(conn, p.project_id) != codes:
            await phones.set_allowed_countries(conn, p.project_id, codes)
            changes.append(f"{p.project_id}: SMS country codes now {', '.join(codes) or 'none'}")
        if p.passwords is not None and await password_policy.load(conn, p.project_id) != p.passwords:
            await password_policy.store(conn, p.project_id, p.passwords)
            changes.append(f"{p.project_id}: password policy now {p.passwords.strength_policy}")
        if p.session_migration_url is not None:
            wanted = p.session_migration_url or None
            if await repository.session_migration_url(conn, p.project_id) != wanted:
                await repository.update_project(conn, p.project_id, session_migration_url=wanted)
                changes.append(f"{p.project_id}: session migration URL now {wanted or 'off'}")
        if p.rbac is not None:
            stored = await rbac_repository.declared(conn, p.project_id)
            if stored != p.rbac:
                await rbac_repository.save(conn, p.project_id, p.rbac, now)
                changes.append(f"{p.project_id}: RBAC policy replaced")
    return changes


def _describe_redirects(rows: list[dict]) -> str:
    return "; ".join(f"{r['url']} ({', '.join(r['types'])}{', default' if r['default_for'] else ''})" for r in rows)


async def metrics(ctx: Context) -> dict[str, int]:
    """Users, organizations and (not deleted) members of the request's project (PY `project.metrics`)."""
    return await repository.counts(ctx.conn, ctx.project_id)


async def is_empty(conn: Connection) -> bool:
    return not await repository.any_project(conn)
