"""Stytch's sandbox values: fixed inputs that, in a test project, always succeed or always fail
in a documented way and never send anything, so an app's end-to-end tests written against
Stytch's test environment pass unchanged on keystile. A live project treats them as ordinary
input.

Sources (read in full; the values and outcomes below are copied from them):
- B2B: stytch.com/docs/b2b/guides/testing/sandbox-values (also
  stytch.com/docs/api-reference/b2b/api/resources/sandbox-values): magic links, organization
  flow (login_or_signup, invite, authenticate) and discovery flow (send, authenticate).
- Consumer: stytch.com/docs/guides/testing/sandbox-values (also
  stytch.com/docs/api-reference/consumer/api/resources/sandbox-values): magic links, OTPs,
  OAuth, sessions, passwords.

This module is the one place that knows the values. Each area declares the ones of the
endpoints it serves (`Area.sandbox_values`, built from the constants here); the registry
collects them (`SandboxValues`), and the area's service asks `consult` before its ordinary
path. Values of endpoints keystile does not serve yet are `PENDING`, for the area that adds
the endpoint to declare (a test fails once such an endpoint is served and its value is not).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from keystile.core.context import Context
    from keystile.errors import StytchError

B2B_PAGE = "https://stytch.com/docs/b2b/guides/testing/sandbox-values"
CONSUMER_PAGE = "https://stytch.com/docs/guides/testing/sandbox-values"

# "You can use the email address sandbox@stytch.com to test sending a magic link … no email
# will actually be sent" (both pages; the consumer page also names it for email OTPs and passwords).
EMAIL = "sandbox@stytch.com"
# B2B organization flow: login_or_signup and invite succeed for EMAIL in this organization.
# In keystile an organization id is unique across projects, so a test project's sandbox
# organization has an id of its own; this documented id names it on those two endpoints.
ORGANIZATION_ID = "organization-test-007d9d4a-deac-4a87-ba0a-e6e8afba4d4b"
# Magic-link tokens, the same on both pages and for both B2B flows.
MAGIC_LINK_SUCCESS = "DOYoip3rvIMMW5lgItikFK-Ak1CfMsgjuiCyI7uuU94="
MAGIC_LINK_UNABLE_TO_AUTH = "3pzjQpgksDlGKWEwUq2Up--hCHC_0oamfLHyfspKDFU="  # 401 unable_to_auth_magic_link
MAGIC_LINK_NOT_FOUND = "CprTtwhnRNiMBiUS2jSLcWYrfuO2POeBNdo5HhW6qTM="  # 404 magic_link_not_found
# Consumer sessions.authenticate.
SESSION_SUCCESS = "WJtR5BCy38Szd5AfoDpf0iqFKEt4EE5JhjlWUY7l3FtY"
SESSION_NOT_FOUND = "59cnLELtq5cFVS6uYK9f-pAWzBkhqZl8AvLhbhOvKNWw"  # 404 session_not_found
# The session tokens with a sandbox meaning: sessions.authenticate checks membership (one set
# lookup, test projects only) before hashing a token, since the sandbox session's stored hash
# is scoped to its project (`session_token_hash`).
SESSION_TOKENS = frozenset({SESSION_SUCCESS, SESSION_NOT_FOUND})


@dataclass(frozen=True)
class SandboxValue:
    """One documented value: on `endpoint` ("POST /v1/…"), a request whose fields equal
    `inputs` gets `error` (its status and error_type), or a 200 when `error` is None."""

    endpoint: str
    inputs: Mapping[str, str]
    error: type[StytchError] | None
    source: str

    @property
    def status_code(self) -> int:
        return 200 if self.error is None else self.error.status_code

    @property
    def error_type(self) -> str | None:
        return None if self.error is None else self.error.error_type

    @property
    def key(self) -> str:
        return f"{self.endpoint} {sorted(self.inputs.items())}"


@dataclass(frozen=True)
class PendingValue:
    """A documented value of an endpoint keystile does not serve yet."""

    endpoint: str
    inputs: Mapping[str, str]
    status_code: int
    error_type: str | None
    source: str


# The documented values of endpoints not served yet: none left (every endpoint with a sandbox
# value is served).
PENDING: tuple[PendingValue, ...] = ()


def _same(name: str, given: str | None, documented: str) -> bool:
    if given is None:
        return False
    if "email" in name:  # addresses compare as keystile looks them up (core/emails.py normalize)
        return given.strip().lower() == documented
    return given == documented


class SandboxValues:
    """Every area's declared values, by endpoint (the registry builds it)."""

    def __init__(self, values: Iterable[SandboxValue]) -> None:
        self.all: tuple[SandboxValue, ...] = tuple(values)
        self._by_endpoint: dict[str, list[SandboxValue]] = {}
        for value in self.all:
            self._by_endpoint.setdefault(value.endpoint, []).append(value)

    def find(self, endpoint: str, inputs: Mapping[str, str | None]) -> SandboxValue | None:
        for value in self._by_endpoint.get(endpoint, ()):
            if all(_same(name, inputs.get(name), documented) for name, documented in value.inputs.items()):
                return value
        return None


def consult(ctx: Context, endpoint: str, **inputs: str | None) -> SandboxValue | None:
    """What the sandbox says of this request: None for ordinary input (always, in a live
    project); the documented failure, raised; or the documented success, returned, for the
    caller to answer without sending anything."""
    if ctx.project.live:
        return None
    value = ctx.state.registry.sandbox.find(endpoint, inputs)
    if value is not None and value.error is not None:
        raise value.error()
    return value


def session_token_hash(project_id: str, token: str) -> str:
    """The stored hash of a project's sandbox session: session token hashes are unique across
    projects, and every test project has its own session behind the one documented token."""
    return hashlib.sha256(f"sandbox:{project_id}:{token}".encode()).hexdigest()
