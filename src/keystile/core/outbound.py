"""Outbound HTTP to addresses an organization admin names (an IdP's discovery document, its
JWKS, token and userinfo endpoints; SAML metadata by URL): a timeout, a size cap, no
redirects followed, and no loopback, private, link-local or otherwise non-public address
unless the operator allows them (`KEYSTILE_OUTBOUND_PRIVATE_ADDRESSES`; allowed in dev).

A refusal or a failure is `OutboundError`, whose message says what went wrong, for the
caller to turn into its own Stytch error.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

MAX_BYTES = 1_048_576
_tls: ssl.SSLContext | None = None


def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one (loading the CA bundle) costs more than the
    request it serves."""
    global _tls
    if _tls is None:
        import certifi

        _tls = ssl.create_default_context(cafile=certifi.where())
    return _tls


class OutboundError(Exception):
    """The request was refused before sending, or failed: the message says which and why."""


@dataclass(frozen=True)
class Reply:
    status_code: int
    body: bytes

    def json(self) -> Any:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise OutboundError("the answer is not JSON") from None


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


async def check_url(settings: Any, url: str) -> None:
    """Refuse a URL that is not http(s), or whose host resolves to a non-public address
    (unless the operator allows those)."""
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise OutboundError(f"{url!r} is not an http(s) URL")
    if settings.allows_private_addresses:
        return
    if parts.scheme != "https":
        raise OutboundError(f"{url!r} is not an https URL")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise OutboundError(f"{parts.hostname} does not resolve: {exc}") from None
    for info in infos:
        if not _public(str(info[4][0])):
            raise OutboundError(
                f"{parts.hostname} resolves to {info[4][0]}, a non-public address "
                "(KEYSTILE_OUTBOUND_PRIVATE_ADDRESSES=true allows it)"
            )


async def request(
    settings: Any,
    method: str,
    url: str,
    *,
    data: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    max_bytes: int = MAX_BYTES,
) -> Reply:
    """One request, its status and (at most `max_bytes` of) body; OutboundError otherwise."""
    await check_url(settings, url)
    timeout = httpx.Timeout(settings.outbound_timeout_seconds)
    try:
        async with (
            httpx.AsyncClient(
                timeout=timeout, follow_redirects=False, trust_env=False, verify=_tls_context()
            ) as client,
            client.stream(
                method, url, data=data, headers={"Accept": "application/json", **(headers or {})}, auth=auth
            ) as response,
        ):
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise OutboundError(f"{url} answered more than {max_bytes} bytes")
            return Reply(response.status_code, bytes(body))
    except httpx.HTTPError as exc:
        raise OutboundError(f"{url} could not be reached: {exc.__class__.__name__}: {exc}") from None


async def get_json(settings: Any, url: str, *, headers: dict[str, str] | None = None) -> Any:
    """GET a JSON document that must answer 200."""
    reply = await request(settings, "GET", url, headers=headers)
    if reply.status_code != 200:
        raise OutboundError(f"{url} answered {reply.status_code}")
    return reply.json()
