"""The OAuth callback every provider sends the browser back to: /v1/oauth/callback/{public_token}
(GET, or POST for providers that post the code back, like Apple). It ends every OAuth flow,
consumer, B2B and discovery alike (oauth/callback.py)."""

from __future__ import annotations

from urllib.parse import parse_qsl

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from keystile import errors as shared
from keystile.core.schemas import MAX_STRING, unstorable_reason
from keystile.oauth import callback, errors, registrations

router = APIRouter(include_in_schema=False)
FIELDS = ("state", "code", "error", "error_description", "user")
PROVIDER_PREFIX = "provider_"
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def _cookie_path(public_token: str) -> str:
    return callback.CALLBACK_PATH.format(public_token=public_token)


def start_query(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    """A start route's fields (those given a value) and its `provider_<name>` parameters
    (passed to the provider as `<name>`), each checked as request bodies are (ADR 0010): one
    that cannot be stored or is too long is a 400 naming it. Every start route, consumer and
    B2B, reads its query through this."""
    found: dict[str, str] = {}
    provider_params: dict[str, str] = {}
    for name, value in request.query_params.items():
        reason = unstorable_reason(name) or unstorable_reason(value)
        if reason is None and (len(value) > MAX_STRING or len(name) > MAX_STRING):
            reason = f"is longer than {MAX_STRING} characters"
        if reason is not None:
            raise shared.BadRequest(f"The query parameter {name[:64]!r} {reason}.")
        if name.startswith(PROVIDER_PREFIX) and len(name) > len(PROVIDER_PREFIX):
            provider_params[name.removeprefix(PROVIDER_PREFIX)] = value
        elif value:
            found[name] = value
    return found, provider_params


def redirect_with_cookie(started: callback.Started, public_token: str) -> Response:
    """The start's answer: to the provider, with the cookie that binds the login to this browser
    (sent back only to this project's callback). Over HTTPS it is SameSite=None, so that a
    provider posting the code back cross-site (Apple) still carries it; Secure either way there."""
    resp = RedirectResponse(started.authorize_url, status_code=302, headers=HEADERS)
    resp.set_cookie(
        started.cookie_name,
        started.cookie_value,
        max_age=callback.STATE_MINUTES * 60,
        path=_cookie_path(public_token),
        httponly=True,
        secure=started.secure,
        samesite="none" if started.secure else "lax",
    )
    return resp


def _clean(source: dict[str, str]) -> dict[str, str]:
    return {
        k: v for k in FIELDS if (v := source.get(k) or "") and len(v) <= MAX_STRING and unstorable_reason(v) is None
    }


async def _finish(request: Request, public_token: str, fields: dict[str, str]) -> Response:
    state = request.app.state.keystile
    request_id = request.state.request_id
    async with callback.public_context(state, public_token, request_id) as ctx:
        row = await callback.take_state(ctx, fields.get("state"), request.cookies)
        if not fields.get("error"):
            oauth = await registrations.client_for(ctx, (row.data or {})["provider"])
    if fields.get("error"):
        raise errors.OAuthProviderError(
            f"The provider refused the login: {fields['error']}"
            + (f" ({fields['error_description']})" if fields.get("error_description") else "")
        )
    # The provider is asked with the transaction closed: no lock is held while it answers.
    login = await callback.identify(ctx, row, oauth, code=fields.get("code"), form=fields)
    async with callback.public_context(state, public_token, request_id) as ctx:
        target = await callback.FLOWS[(row.data or {})["flow"]](ctx, row, login)
    resp = RedirectResponse(target, status_code=302, headers=HEADERS)
    resp.delete_cookie(callback.cookie_name(fields.get("state", "")), path=_cookie_path(public_token))
    return resp


@router.get(callback.CALLBACK_PATH)
async def callback_get(public_token: str, request: Request) -> Response:
    return await _finish(request, public_token, _clean(dict(request.query_params)))


@router.post(callback.CALLBACK_PATH)
async def callback_post(public_token: str, request: Request) -> Response:
    body = (await request.body()).decode("utf-8", "replace")
    return await _finish(request, public_token, _clean(dict(parse_qsl(body, keep_blank_values=True))))
