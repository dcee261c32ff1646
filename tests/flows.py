"""Whole login flows through the official SDK, for tests that need a logged-in member."""

from __future__ import annotations

import base64
import json
import uuid
from typing import Any

from tests.support import Inbox


def jwt_parts(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A JWT's header and claims, decoded without checking anything, and its signature."""
    header, payload, signature = token.split(".")
    return _unpadded_json(header), _unpadded_json(payload), signature


def jwt_of(header: dict[str, Any], claims: dict[str, Any], signature: str) -> str:
    """A JWT put together again from parts, as a forger would: the signature is not redone."""
    return ".".join([_padless(header), _padless(claims), signature])


def _unpadded_json(segment: str) -> dict[str, Any]:
    return json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))


def _padless(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unique_email(domain: str = "acme.test", name: str = "ada") -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@{domain}"


def discovery_signup(b2b: Any, inbox: Inbox, email: str, organization_name: str | None = None, **create: Any) -> Any:
    """Discovery magic link → authenticate → create an organization; returns the create response."""
    b2b.magic_links.email.discovery.send(email_address=email)
    token = inbox.latest_token(email)
    ist = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=token).intermediate_session_token
    return b2b.discovery.organizations.create(
        intermediate_session_token=ist,
        organization_name=organization_name or f"Org {uuid.uuid4().hex[:6]}",
        **create,
    )
