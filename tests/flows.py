"""Whole login flows through the official SDK, for tests that need a logged-in member."""

from __future__ import annotations

import uuid
from typing import Any

from tests.support import Inbox


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
