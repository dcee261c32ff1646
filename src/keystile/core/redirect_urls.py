"""Redirect URLs: only from the project's allowlist, by type; the type's default when none is named."""

from __future__ import annotations

from enum import StrEnum
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from sqlalchemy import select

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
