"""Identifier formats, as Stytch emits them: `<kind>-<test|live>-<uuid>`."""

from __future__ import annotations

import uuid


def new_id(kind: str, live: bool) -> str:
    return f"{kind}-{'live' if live else 'test'}-{uuid.uuid4()}"


def project_id(live: bool) -> str:
    return new_id("project", live)


def organization_id(live: bool) -> str:
    return new_id("organization", live)


def member_id(live: bool) -> str:
    return new_id("member", live)


def member_session_id(live: bool) -> str:
    return new_id("member-session", live)


def session_id(live: bool) -> str:
    return new_id("session", live)


def user_id(live: bool) -> str:
    return new_id("user", live)


def email_id(live: bool) -> str:
    return new_id("email", live)


def jwk_id(live: bool) -> str:
    return new_id("jwk", live)


def request_id(live: bool = False) -> str:
    return new_id("request-id", live)


def is_live(any_id: str) -> bool:
    return "-live-" in any_id
