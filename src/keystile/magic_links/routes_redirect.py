"""The page every emailed link goes through: /v1/magic_links/redirect, Stytch's path and query
(`public_token`, `stytch_token_type`, `token`). It forwards a person's browser to the app and
keeps email scanners, previews and prefetches away from it (ADR 0015, magic_links/redirect.py).
It never redeems the token: the app does, as it does with a direct link.
"""

from __future__ import annotations

import secrets
from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from keystile.core import email_links
from keystile.core.schemas import MAX_STRING, unstorable_reason
from keystile.magic_links import redirect

router = APIRouter(include_in_schema=False)
_env = Environment(loader=PackageLoader("keystile", "templates/redirect"), autoescape=select_autoescape(["html"]))
PATH = "/" + email_links.REDIRECT_PATH
FIELDS = ("public_token", "stytch_token_type", "token")


def _headers(csp_nonce: str = "") -> dict[str, str]:
    script = f"'nonce-{csp_nonce}'" if csp_nonce else "'none'"
    return {
        "Cache-Control": "no-store",
        "Referrer-Policy": "no-referrer",
        "X-Robots-Tag": "noindex, nofollow",
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {script}; style-src {script}; base-uri 'none'; frame-ancestors 'none'"
        ),
    }


def _page(
    request: Request, status: int, title: str, note: str, *, fields: dict[str, str] | None = None, auto: bool = False
) -> Response:
    csp_nonce = secrets.token_urlsafe(16)
    form = None
    if fields is not None:
        form = {**fields, "nonce": redirect.new_nonce()}
    html = _env.get_template("page.html").render(
        title=title, note=note, form=form, auto=auto, action=PATH, csp_nonce=csp_nonce
    )
    resp = HTMLResponse(html, status_code=status, headers=_headers(csp_nonce))
    if form is not None:
        resp.set_cookie(
            redirect.COOKIE,
            form["nonce"],
            max_age=redirect.COOKIE_SECONDS,
            path=PATH,
            httponly=True,
            samesite="lax",
            # Behind a TLS proxy the request itself is plain HTTP: the public URL says.
            secure=request.url.scheme == "https" or request.app.state.keystile.settings.base_url.startswith("https://"),
        )
    return resp


async def _destination(request: Request, fields: dict[str, str]) -> str | None:
    if not all(fields.get(k) for k in FIELDS):
        return None
    async with request.app.state.keystile.transaction() as conn:
        return await redirect.destination(conn, fields["public_token"], fields["token"])


def _unknown(request: Request) -> Response:
    return _page(
        request,
        404,
        "This link is not valid",
        "keystile knows no such sign-in link: it may be incomplete (copied in part) or from another "
        "environment. Ask for a new one.",
    )


def _fields(source: Any) -> dict[str, str]:
    """The page's query or form fields; one that could not be stored (ADR 0010) is left empty,
    which makes the link unknown (a form body is not a RequestModel: browsers post forms)."""
    fields = {k: str(source.get(k) or "") for k in FIELDS}
    return {k: v if len(v) <= MAX_STRING and unstorable_reason(v) is None else "" for k, v in fields.items()}


@router.get(PATH)
async def show(request: Request) -> Response:
    """Render the page; never redirect from a GET, whoever asks."""
    fields = _fields(request.query_params)
    if await _destination(request, fields) is None:
        return _unknown(request)
    auto = not redirect.looks_automated(request.headers)
    return _page(request, 200, "Continue to sign in", "Press Continue to sign in.", fields=fields, auto=auto)


@router.head(PATH)
async def head(request: Request) -> Response:
    """A HEAD (link checkers, scanners) learns nothing and moves nothing."""
    return Response(status_code=200, media_type="text/html", headers=_headers())


@router.post(PATH)
async def forward(request: Request) -> Response:
    """Forward to the app (303) when the page's own form asks and the request meets
    `redirect.may_forward`; otherwise show the page again, with its button."""
    body = (await request.body()).decode("utf-8", "replace")
    form = dict(parse_qsl(body, keep_blank_values=True))
    fields = _fields(form)
    target = await _destination(request, fields)
    if target is None:
        return _unknown(request)
    if not redirect.may_forward(request.headers, request.cookies, form):
        return _page(request, 200, "Continue to sign in", "Press Continue to sign in.", fields=fields)
    resp = RedirectResponse(target, status_code=303, headers=_headers())
    resp.delete_cookie(redirect.COOKIE, path=PATH)
    return resp
