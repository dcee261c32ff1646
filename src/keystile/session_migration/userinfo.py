"""Ask another provider's OIDC userinfo endpoint who an access token belongs to.

The endpoint is the operator's own setting (`session_migration_url`), never a caller's, so any
address the server can reach is allowed. The answer is bounded: a timeout, no redirects, at
most MAX_BYTES of JSON."""

from __future__ import annotations

import json
from typing import Any

import httpx

from keystile import errors as shared
from keystile.session_migration import errors

TIMEOUT_SECONDS = 5.0
MAX_BYTES = 64 * 1024


async def claims(url: str, token: str) -> dict[str, Any]:
    """The userinfo claims for `token`. A token the endpoint refuses (401, 403, 404, or any
    other 4xx) is `session_not_found`; an endpoint that cannot be reached, times out, answers
    5xx or something other than a JSON object is `session_migration_userinfo_failed`."""
    try:
        async with (
            httpx.AsyncClient(timeout=TIMEOUT_SECONDS, follow_redirects=False) as client,
            client.stream(
                "GET", url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
            ) as resp,
        ):
            if 400 <= resp.status_code < 500:
                raise shared.SessionNotFound("The userinfo endpoint did not accept this session token.")
            if resp.status_code != 200:
                raise errors.SessionMigrationUserinfoFailed(f"The userinfo endpoint answered HTTP {resp.status_code}.")
            body = bytearray()
            async for chunk in resp.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise errors.SessionMigrationUserinfoFailed(
                        f"The userinfo endpoint's answer is larger than {MAX_BYTES} bytes."
                    )
    except httpx.HTTPError as exc:
        raise errors.SessionMigrationUserinfoFailed(
            f"The userinfo endpoint could not be reached ({type(exc).__name__})."
        ) from None
    try:
        found = json.loads(bytes(body))
    except ValueError:
        found = None
    if not isinstance(found, dict):
        raise errors.SessionMigrationUserinfoFailed("The userinfo endpoint did not answer with a JSON object.")
    return found
