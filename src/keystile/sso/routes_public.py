"""The browser-facing SSO routes, under keystile's public base URL: the start of a login
(`/v1/public/sso/start`, Stytch's path and query) and every connection's callback
(`/v1/b2b/sso/callback/{connection_id}`: an OIDC redirect_url, a SAML ACS URL), which end
on the app's allow-listed redirect URL with `stytch_token_type=sso` and a single-use token
(sso/login.py)."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, PackageLoader, select_autoescape

from keystile.core.schemas import MAX_STRING, unstorable_reason
from keystile.errors import InvalidArgument, StytchError
from keystile.sso import login, public
from keystile.sso.login import FLOW_MINUTES
from keystile.sso.urls import CALLBACK_COOKIE_PATH, CALLBACK_PATH, START_PATH

router = APIRouter(include_in_schema=False)
_pages = Environment(loader=PackageLoader("keystile", "templates/sso"), autoescape=select_autoescape(["html"]))

START_FIELDS = (
    "connection_id",
    "organization_id",
    "public_token",
    "login_redirect_url",
    "signup_redirect_url",
    "pkce_code_challenge",
)
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _query(request: Request) -> dict[str, str]:
    """The query, each value checked as a request body's would be (ADR 0010)."""
    fields = {}
    for name, value in request.query_params.items():
        if len(value) > MAX_STRING or unstorable_reason(value) is not None:
            raise InvalidArgument(f"{name} is too long or cannot be stored.")
        fields[name] = value
    return fields


def _secure(request: Request) -> bool:
    base_url: str = request.app.state.keystile.settings.base_url
    return request.url.scheme == "https" or base_url.startswith("https://")


@router.get(START_PATH)
async def start(request: Request) -> Response:
    """Send the browser to the connection's IdP, with a cookie that binds the login to it."""
    query = _query(request)
    async with public.by_public_token(request, query.get("public_token", "")) as ctx:
        url, state, browser = await login.start(
            ctx,
            connection_id=query.get("connection_id"),
            organization_ref=query.get("organization_id") or query.get("organization_slug"),
            login_redirect_url=query.get("login_redirect_url"),
            signup_redirect_url=query.get("signup_redirect_url"),
            pkce_code_challenge=query.get("pkce_code_challenge"),
            options={k: v for k, v in query.items() if k not in START_FIELDS},
        )
    resp = RedirectResponse(url, status_code=302, headers=NO_STORE)
    resp.set_cookie(
        login.flow_cookie(state),
        browser,
        max_age=FLOW_MINUTES * 60,
        path=CALLBACK_COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    return resp


async def _callback(request: Request, connection_id: str) -> Response:
    failure: StytchError | None = None
    try:
        async with public.by_connection(request, connection_id) as ctx:
            try:
                url = await login.callback(request, ctx, connection_id)
            except StytchError as exc:
                # Commit all the same: the refused answer has spent its flow, and nothing else
                # was written before the refusal (finish_login writes last).
                failure = exc
    except login.Rebind as rebind:
        return _rebind_page(str(request.url), rebind.fields)
    if failure is not None:
        raise failure
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


def _rebind_page(action: str, fields: dict[str, str]) -> Response:
    """A page that posts the IdP's answer to the callback again from keystile's own origin
    (login.Rebind): a script submits it at once, the button without scripts."""
    nonce = secrets.token_urlsafe(16)
    html = _pages.get_template("rebind.html").render(action=action, fields=fields, csp_nonce=nonce)
    return HTMLResponse(
        html,
        headers={
            **NO_STORE,
            "X-Frame-Options": "DENY",
            "Content-Security-Policy": (
                # No form-action: browsers apply it to the redirect that follows the post too,
                # and that goes to the app's redirect URL.
                f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
                "base-uri 'none'; frame-ancestors 'none'"
            ),
        },
    )


@router.get(CALLBACK_PATH)
async def callback_get(request: Request, connection_id: str) -> Response:
    return await _callback(request, connection_id)


@router.post(CALLBACK_PATH)
async def callback_post(request: Request, connection_id: str) -> Response:
    return await _callback(request, connection_id)
