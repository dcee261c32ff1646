"""The links keystile emails: through its redirect page, which email scanners cannot spend
(ADR 0015), or straight to the app for a project that turned the page off.

Either way the app receives the same URL: its redirect URL with its own query, the flow's
parameters (`slug`, `stytch_token_type`) and the token, in that order.
"""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from keystile.core.redirect_urls import with_params
from keystile.models.projects import projects

if TYPE_CHECKING:
    from keystile.core.context import Context

# Stytch's path for the same page (stytch.com/docs/.../magic-links/redirect-routing).
REDIRECT_PATH = "v1/magic_links/redirect"


def app_url(url: str, **params: str) -> str:
    """The app's URL an emailed link leads to, without its token: what `tokens.issue` keeps
    as `link_url`."""
    return with_params(url, **params)


def forward_url(link_url: str, token: str) -> str:
    """The URL the app receives: `link_url` with the token last."""
    return with_params(link_url, token=token)


async def redirect_on(ctx: Context) -> bool:
    row = (
        await ctx.conn.execute(select(projects.c.email_link_redirect).where(projects.c.project_id == ctx.project_id))
    ).first()
    return bool(row is None or row.email_link_redirect)


async def emailed_link(ctx: Context, link_url: str, token: str) -> str:
    """The link an email carries for a token issued with `link_url`."""
    if not await redirect_on(ctx):
        return forward_url(link_url, token)
    token_type = parse_qs(urlsplit(link_url).query).get("stytch_token_type", [""])[-1]
    return with_params(
        ctx.state.settings.base_url + REDIRECT_PATH,
        public_token=ctx.project.public_token,
        stytch_token_type=token_type,
        token=token,
    )
