"""What the emailed-link redirect page lets through (ADR 0015): pure decisions over a request's
method, headers and form, so that they can be read and tested apart from the routes.

The page never redeems a token. A GET (or HEAD) only ever renders the page; what forwards to
the app is a POST from that page, carrying a nonce that must equal the cookie the GET set, and
either the proof its script computes (a browser running it, with the page visible) or a
person's click (`Sec-Fetch-User: ?1`). Requests that say they are scanners, previews or
prefetches are never forwarded, whatever else they carry.
"""

from __future__ import annotations

import hmac
import re
import secrets
from collections.abc import Mapping

from keystile.core import email_links, tokens
from keystile.core.db import Connection

COOKIE = "keystile_redirect"
COOKIE_SECONDS = 15 * 60

# User agents of email security gateways, link-preview fetchers, crawlers and HTTP libraries.
# One signal among several: a browser's User-Agent proves nothing, and a scanner that
# claims to be a browser still meets the page's other conditions.
_AUTOMATED = re.compile(
    r"bot\b|bot/|crawler|spider|preview|scanner|scan\b|"
    r"mimecast|proofpoint|barracuda|safelinks|safe links|forcepoint|symantec|messagelabs|trend ?micro|"
    r"zscaler|sophos|fireeye|trellix|cisco|ironport|checkpoint|avanan|abnormal|"
    r"slack|twitter|facebookexternalhit|facebot|linkedin|discord|telegram|whatsapp|skype|teams|"
    r"embedly|iframely|outlook-ios|google-safety|googleother|bingpreview|"
    r"curl|wget|python|requests|httpx|aiohttp|go-http-client|okhttp|java/|libwww|httpclient|node-fetch|axios|"
    r"undici|postman|insomnia|headless-shell|phantomjs",
    re.IGNORECASE,
)
# Prefetch and prerender requests (browsers, mail apps' previews) declare themselves so.
_PREFETCH_HEADERS = ("purpose", "sec-purpose", "x-purpose", "x-moz")


def looks_automated(headers: Mapping[str, str]) -> bool:
    """The request says it is not a person's navigation: a known scanner, preview or library
    User-Agent, no User-Agent at all, or a prefetch/prerender."""
    agent = headers.get("user-agent", "")
    if not agent or _AUTOMATED.search(agent):
        return True
    return any(h in headers for h in _PREFETCH_HEADERS)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def script_proof(nonce: str) -> str:
    """What the page's script sends alongside the nonce: something the HTML does not contain,
    so a client that only parses the page cannot send it."""
    return nonce[::-1]


def may_forward(headers: Mapping[str, str], cookies: Mapping[str, str], form: Mapping[str, str]) -> bool:
    """Whether a POST to the page forwards to the app. Every condition is needed."""
    nonce = form.get("nonce", "")
    cookie = cookies.get(COOKIE, "")
    if not nonce or not cookie or not hmac.compare_digest(nonce.encode(), cookie.encode()):
        return False  # not the client that loaded the page, or one without cookies
    if looks_automated(headers):
        return False
    site = headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        return False  # a browser says the form was not the page's own
    via = form.get("via")
    if via == "script":
        return hmac.compare_digest(form.get("proof", "").encode(), script_proof(nonce).encode())
    if via == "button":
        # A browser that sends Fetch Metadata marks a navigation a person started (a click) with
        # Sec-Fetch-User; one that sends none (older browsers) is taken at its cookie and nonce.
        return headers.get("sec-fetch-mode") is None or headers.get("sec-fetch-user") == "?1"
    return False


async def destination(conn: Connection, public_token: str, token: str) -> str | None:
    """Where the page forwards: the app's URL with the token, exactly what a direct link gave;
    None for a token unknown to the project of `public_token`. Never redeems."""
    link_url = await tokens.link_of(conn, token, public_token)
    return email_links.forward_url(link_url, token) if link_url is not None else None
