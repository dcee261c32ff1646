"""Things one area does that another area must follow up on, without the first importing
the second: deleting a Member or a user revokes its sessions, though members/ and users/
sit below sessions/ (the sessions area reads them). An area sends an event with `emit`;
the areas that declared a listener for its type (`Area.listeners`) run it, in the same
transaction, in the order of `keystile/areas.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from keystile.core.context import Context


@dataclass(frozen=True)
class MemberDeleted:
    member_id: str


@dataclass(frozen=True)
class UserDeleted:
    user_id: str


@dataclass(frozen=True)
class SecondFactorSmsDue:
    """A primary login of this Member needs its second factor, and Stytch texts the passcode
    unasked (sessions/logins.py decides when; the otps area sends it)."""

    organization_id: str
    member_id: str


@dataclass(frozen=True)
class UserEmailVerified:
    """A User's email address went from unverified to verified (a magic link or an email
    passcode proved it). The passwords area makes a password set before then reset first
    (Stytch's guard against a password planted on an address its owner had not proven)."""

    user_id: str
    email_id: str


@dataclass(frozen=True)
class SSOConnectionsNamed:
    """An organizations.update names SSO connections (`sso_default_connection_id`,
    `sso_jit_provisioning_allowed_connections`), before anything is written: the sso area
    refuses ids that are not connections of the organization."""

    organization_id: str
    connection_ids: tuple[str, ...]


@dataclass(frozen=True)
class IntermediateSessionJoined:
    """An intermediate session that an OAuth login made (its `data` holds what the login
    proved) logged a Member of an organization in: the oauth area keeps the provider's
    registration and tokens for that Member (discovery decides, oauth keeps the tokens)."""

    data: dict[str, Any]
    organization_id: str
    member_id: str


Event = (
    MemberDeleted
    | UserDeleted
    | SecondFactorSmsDue
    | UserEmailVerified
    | SSOConnectionsNamed
    | IntermediateSessionJoined
)
# A listener gets the request's context and the event (of the type it was declared for).
Listener = Callable[["Context", Any], Awaitable[None]]


async def emit(ctx: Context, event: Event) -> None:
    for listener in ctx.state.registry.listeners.get(type(event), ()):
        await listener(ctx, event)
