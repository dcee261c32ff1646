"""Projects, their secrets and their redirect URLs (used by the CLI, the config file and tests)."""

from __future__ import annotations

import secrets as pysecrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update

from keystile.config import FileConfig
from keystile.core import crypto, ids
from keystile.core import policy_store as rbac_repository
from keystile.core.db import Connection
from keystile.core.keys import Keyring
from keystile.core.redirect_urls import RedirectType
from keystile.models.projects import project_secrets, projects, redirect_urls


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
    await conn.execute(
        insert(projects).values(project_id=project_id, name=name, live=live, public_token=public_token, created_at=now)
    )
    await add_secret(conn, project_id, secret, now)
    await keyring.create(conn, project_id, live, now)
    return NewProject(project_id, secret, public_token, name, live)


async def add_secret(conn: Connection, project_id: str, secret: str, now: datetime) -> None:
    await conn.execute(
        insert(project_secrets).values(
            secret_id=str(uuid.uuid4()), project_id=project_id, secret_hash=crypto.hash_token(secret), created_at=now
        )
    )


async def rotate_secret(conn: Connection, project_id: str, now: datetime, *, revoke_others: bool) -> tuple[str, int]:
    """Add a new secret to the project (what Stytch's dashboard does to rotate one); with
    `revoke_others`, remove every other secret in the same transaction. Returns the new
    secret (shown once) and how many secrets were removed."""
    live = (await conn.execute(select(projects.c.live).where(projects.c.project_id == project_id))).scalar()
    if live is None:
        raise ProjectNotFound(project_id)
    secret = new_secret(bool(live))
    await add_secret(conn, project_id, secret, now)
    removed = 0
    if revoke_others:
        done = await conn.execute(
            delete(project_secrets).where(
                project_secrets.c.project_id == project_id,
                project_secrets.c.secret_hash != crypto.hash_token(secret),
            )
        )
        removed = done.rowcount
    return secret, removed


async def revoke_old_secrets(conn: Connection, project_id: str) -> int:
    """Remove every secret of the project but the newest; returns how many were removed."""
    await require_project(conn, project_id)
    newest = (
        await conn.execute(
            select(project_secrets.c.secret_id)
            .where(project_secrets.c.project_id == project_id)
            .order_by(project_secrets.c.created_at.desc())
            .limit(1)
        )
    ).scalar()
    done = await conn.execute(
        delete(project_secrets).where(project_secrets.c.project_id == project_id, project_secrets.c.secret_id != newest)
    )
    return done.rowcount


async def list_projects(conn: Connection) -> list[dict]:
    rows = await conn.execute(select(projects).order_by(projects.c.created_at))
    return [{"project_id": r.project_id, "name": r.name, "live": r.live, "public_token": r.public_token} for r in rows]


async def require_project(conn: Connection, project_id: str) -> None:
    if (await conn.execute(select(projects.c.project_id).where(projects.c.project_id == project_id))).first() is None:
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
        if default:
            await conn.execute(
                update(redirect_urls)
                .where(redirect_urls.c.project_id == project_id, redirect_urls.c.type == redirect_type.value)
                .values(is_default=False)
            )
        existing = (
            await conn.execute(
                select(redirect_urls.c.is_default).where(
                    redirect_urls.c.project_id == project_id,
                    redirect_urls.c.url == url,
                    redirect_urls.c.type == redirect_type.value,
                )
            )
        ).first()
        if existing is None:
            await conn.execute(
                insert(redirect_urls).values(
                    project_id=project_id, url=url, type=redirect_type.value, is_default=default, created_at=now
                )
            )
        elif default:
            await conn.execute(
                update(redirect_urls)
                .where(
                    redirect_urls.c.project_id == project_id,
                    redirect_urls.c.url == url,
                    redirect_urls.c.type == redirect_type.value,
                )
                .values(is_default=True)
            )


async def remove_redirect_url(conn: Connection, project_id: str, url: str) -> int:
    await require_project(conn, project_id)
    result = await conn.execute(
        delete(redirect_urls).where(redirect_urls.c.project_id == project_id, redirect_urls.c.url == url)
    )
    return result.rowcount


async def list_redirect_urls(conn: Connection, project_id: str) -> list[dict]:
    await require_project(conn, project_id)
    rows = await conn.execute(
        select(redirect_urls)
        .where(redirect_urls.c.project_id == project_id)
        .order_by(redirect_urls.c.url, redirect_urls.c.type)
    )
    by_url: dict[str, dict] = {}
    for r in rows:
        entry = by_url.setdefault(r.url, {"url": r.url, "types": [], "default_for": []})
        entry["types"].append(r.type)
        if r.is_default:
            entry["default_for"].append(r.type)
    return list(by_url.values())


async def apply_file_config(conn: Connection, keyring: Keyring, now: datetime, config: FileConfig) -> list[str]:
    """Make the database hold what `keystile.toml` declares: same ids, secrets and URLs.
    Returns what it changed, one line each (empty when the database already held it all)."""
    changes: list[str] = []
    for p in config.projects:
        secret = p.secret.get_secret_value()
        exists = (
            await conn.execute(select(projects.c.project_id).where(projects.c.project_id == p.project_id))
        ).first()
        if exists is None:
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
            changes.append(f"created project {p.project_id}")
        else:
            current = (
                await conn.execute(
                    select(projects.c.name, projects.c.public_token).where(projects.c.project_id == p.project_id)
                )
            ).one()
            values = {"name": p.name} if p.name and p.name != current.name else {}
            if p.public_token and p.public_token != current.public_token:
                values["public_token"] = p.public_token
            if values:
                await conn.execute(update(projects).where(projects.c.project_id == p.project_id).values(**values))
                changes.append(f"{p.project_id}: set {', '.join(sorted(values))}")
            hashes = {
                r.secret_hash
                for r in await conn.execute(
                    select(project_secrets.c.secret_hash).where(project_secrets.c.project_id == p.project_id)
                )
            }
            if crypto.hash_token(secret) not in hashes:
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
        if p.rbac is not None:
            stored = await rbac_repository.declared(conn, p.project_id)
            if stored != p.rbac:
                await rbac_repository.save(conn, p.project_id, p.rbac, now)
                changes.append(f"{p.project_id}: RBAC policy replaced")
    return changes


def _describe_redirects(rows: list[dict]) -> str:
    return "; ".join(f"{r['url']} ({', '.join(r['types'])}{', default' if r['default_for'] else ''})" for r in rows)


async def is_empty(conn: Connection) -> bool:
    return (await conn.execute(select(projects.c.project_id).limit(1))).first() is None
