"""Redirect URLs: only from the project's allowlist, by type; the type's default when none is named."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Row

from keystile import errors
from keystile.core.db import Connection
from keystile.models.projects import redirect_urls


class RedirectType(StrEnum):
    LOGIN = "login"
    SIGNUP = "signup"
    INVITE = "invite"
    DISCOVERY = "discovery"
    RESET_PASSWORD = "reset_password"


def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, "", ""))


async def resolve(conn: Connection, project_id: str, requested: str | None, redirect_type: RedirectType) -> str:
    """The URL to send the user to. A requested URL must match an allowed one of that type
    (its query string may differ: developers pass state in it)."""
    none_set, no_default, not_allowed = errors.redirect_url_errors(redirect_type.value)
    rows = (
        await conn.execute(
            select(redirect_urls.c.url, redirect_urls.c.is_default).where(
                redirect_urls.c.project_id == project_id, redirect_urls.c.type == redirect_type.value
            )
        )
    ).all()
    if not rows:
        raise none_set()
    if requested:
        wanted = _without_query(requested)
        if any(_without_query(row.url) == wanted for row in rows):
            return requested
        raise not_allowed(f"The {redirect_type.value} redirect URL {requested!r} is not in this project's allowlist.")
    for row in rows:
        if row.is_default:
            return row.url
    raise no_default()


def with_params(url: str, **params: str) -> str:
    """Append query parameters, keeping the ones the URL already has."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in params]
    query.extend(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


# --- The allowlist itself (keystile.toml, `keystile redirect-urls`) ---


async def allow(
    conn: Connection, now: datetime, project_id: str, url: str, redirect_type: RedirectType, *, default: bool
) -> None:
    """Allow `url` for one type (idempotent); with `default`, make it that type's default."""
    if default:
        await conn.execute(
            update(redirect_urls)
            .where(redirect_urls.c.project_id == project_id, redirect_urls.c.type == redirect_type.value)
            .values(is_default=False)
        )
    same = (
        redirect_urls.c.project_id == project_id,
        redirect_urls.c.url == url,
        redirect_urls.c.type == redirect_type.value,
    )
    existing = (await conn.execute(select(redirect_urls.c.is_default).where(*same))).first()
    if existing is None:
        await conn.execute(
            insert(redirect_urls).values(
                project_id=project_id, url=url, type=redirect_type.value, is_default=default, created_at=now
            )
        )
    elif default:
        await conn.execute(update(redirect_urls).where(*same).values(is_default=True))


async def remove(conn: Connection, project_id: str, url: str) -> int:
    """Forget `url` for every type; how many (url, type) entries were removed."""
    result = await conn.execute(
        delete(redirect_urls).where(redirect_urls.c.project_id == project_id, redirect_urls.c.url == url)
    )
    return int(result.rowcount)


async def allowed(conn: Connection, project_id: str) -> list[Row[Any]]:
    """The project's allowlist, by URL then type."""
    rows = await conn.execute(
        select(redirect_urls)
        .where(redirect_urls.c.project_id == project_id)
        .order_by(redirect_urls.c.url, redirect_urls.c.type)
    )
    return list(rows)
