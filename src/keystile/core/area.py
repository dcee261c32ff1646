"""What an area adds to keystile, declared in one value (`Area`), and what all areas add,
collected and checked once (`Registry`).

An area (`organizations/`, `magic_links/`, …) is one folder. Its `area.py` declares an
`Area`; `keystile/areas.py` lists every area, and is the only list to edit when one is added
(docs/adding-an-area.md). `core/` never imports an area: what core needs from the areas
(the errors a rate limit counts, the routes to serve) it is handed from the registry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from keystile.core.clock import rfc3339
from keystile.core.sandbox import SandboxValue, SandboxValues

if TYPE_CHECKING:
    from fastapi import APIRouter
    from starlette.routing import BaseRoute

    from keystile.core.authz import Actor
    from keystile.core.context import Context
    from keystile.core.events import Listener
    from keystile.core.ratelimit import Limit
    from keystile.core.responses import ErrorBody
    from keystile.errors import StytchError

Channel = Literal["email", "sms", "whatsapp"]


@dataclass(frozen=True)
class Message:
    """A message the outbox can send: `templates/email/<template>.txt` and `.html`, and
    its subject (`str.format` over the values the sender passes, e.g. `{organization_name}`)."""

    template: str
    subject: str
    channel: Channel = "email"


@dataclass(frozen=True)
class Factor:
    """An authentication factor as a session lists it (`authentication_factors[]`):
    Stytch's `type` and `delivery_method`."""

    type: str
    delivery_method: str

    def build(self, now: datetime, **details: Any) -> dict[str, Any]:
        """The factor as stored in the session, authenticated `now`. `details` are the
        factor's own fields, e.g. `email_factor={"email_id": …, "email_address": …}`."""
        stamp = rfc3339(now)
        return {
            "type": self.type,
            "delivery_method": self.delivery_method,
            "last_authenticated_at": stamp,
            "created_at": stamp,
            "updated_at": stamp,
            **details,
        }


@dataclass(frozen=True)
class RBACResource:
    """A built-in RBAC resource (`stytch.*`) and the actions keystile enforces on it."""

    resource_id: str
    description: str
    actions: tuple[str, ...]


@dataclass(frozen=True)
class Area:
    """Everything one area adds to keystile. Every field but `name` may be left empty."""

    name: str
    # FastAPI routers, included in the order the areas are listed.
    routers: Sequence[APIRouter] = ()
    # Routes matched before any router, straight from the app's route table (core/thin.py):
    # only for endpoints every request of an app calls (sessions.authenticate).
    hot_routes: Sequence[BaseRoute] = ()
    # The Stytch errors this area raises (its own `errors.py`, or `keystile/errors.py`).
    errors: Sequence[type[StytchError]] = ()
    # `tokens.kind` values of the single-use secrets this area issues (core/tokens.py).
    token_kinds: Sequence[str] = ()
    # Id prefixes this area mints (`member` → `member-test-<uuid>`, core/ids.py `new_id`).
    id_prefixes: Sequence[str] = ()
    # Messages this area sends through the outbox (core/outbox.py `enqueue`).
    messages: Sequence[Message] = ()
    # Rate-limit hooks (core/ratelimit.py `attempts`): errors that mean "no such secret",
    # counted per client address, and errors that mean "wrong proof for a real secret"
    # (a PKCE verifier, later a passcode), counted per secret.
    unknown_token_errors: Sequence[type[StytchError]] = ()
    token_failure_errors: Sequence[type[StytchError]] = ()
    # Rate limits of this area's own (core/ratelimit.py `Limit`: name, default windows, the
    # errors that count), for `ratelimit.guard` and `ratelimit.hit`.
    rate_limits: Sequence[Limit] = ()
    # Built-in RBAC resources whose actions this area's endpoints check (core/policy.py).
    rbac_resources: Sequence[RBACResource] = ()
    # Authentication factors this area's logins put into sessions.
    factors: Sequence[Factor] = ()
    # The Member a request's session header names (core/authz.py `acting_member`); one area
    # answers it for all (rbac), so no area imports another to authorize a request.
    acting_member: Callable[[Context], Awaitable[Actor | None]] | None = None
    # What this area does when another area emits an event (core/events.py): event type →
    # listener, e.g. {MemberDeleted: revoke_member_sessions}.
    listeners: Mapping[type, Listener] = field(default_factory=dict)
    # Stytch's sandbox values of this area's endpoints (core/sandbox.py), which its services
    # honour in test projects through `sandbox.consult`.
    sandbox_values: Sequence[SandboxValue] = ()
    # Error bodies of this area's own under a path prefix, for clients that are not Stytch's
    # SDKs (the SCIM service): prefix → renderer (core/responses.py `error_response`).
    error_bodies: Mapping[str, ErrorBody] = field(default_factory=dict)


@dataclass(frozen=True)
class Registry:
    """Every area's declaration, merged. Two areas claiming the same route, error class,
    token kind, id prefix, message template, RBAC resource or factor is an error at
    start-up, naming both (a sandbox value too)."""

    areas: tuple[Area, ...]
    routers: tuple[APIRouter, ...] = field(init=False)
    hot_routes: tuple[BaseRoute, ...] = field(init=False)
    errors: tuple[type[StytchError], ...] = field(init=False)
    token_kinds: frozenset[str] = field(init=False)
    id_prefixes: frozenset[str] = field(init=False)
    messages: dict[str, Message] = field(init=False)
    unknown_token_errors: tuple[type[StytchError], ...] = field(init=False)
    token_failure_errors: tuple[type[StytchError], ...] = field(init=False)
    rate_limits: tuple[Limit, ...] = field(init=False)
    rbac_resources: tuple[RBACResource, ...] = field(init=False)
    factors: tuple[Factor, ...] = field(init=False)
    acting_member: Callable[[Context], Awaitable[Actor | None]] | None = field(init=False)
    listeners: dict[type, tuple[Listener, ...]] = field(init=False)
    sandbox: SandboxValues = field(init=False)
    error_bodies: dict[str, ErrorBody] = field(init=False)

    def __post_init__(self) -> None:
        _unique("area name", ((a.name, a) for a in self.areas))
        _unique(
            "route",
            (
                (f"{method} {getattr(route, 'path', '')}", area)
                for area in self.areas
                for router in area.routers
                for route in router.routes
                for method in sorted(getattr(route, "methods", None) or ())
            ),
        )
        # Stytch reuses an error_type across endpoints, so the claim is the class, not its type.
        _unique("error", ((f"{e.__name__} ({e.error_type})", a) for a in self.areas for e in {*a.errors}))
        _unique("token kind", ((k, a) for a in self.areas for k in a.token_kinds))
        _unique("id prefix", ((p, a) for a in self.areas for p in a.id_prefixes))
        _unique("message template", ((m.template, a) for a in self.areas for m in a.messages))
        _unique("rate limit", ((limit.name, a) for a in self.areas for limit in a.rate_limits))
        _unique("RBAC resource", ((r.resource_id, a) for a in self.areas for r in a.rbac_resources))
        _unique("factor", ((f"{f.type}/{f.delivery_method}", a) for a in self.areas for f in a.factors))
        _unique("sandbox value", ((v.key, a) for a in self.areas for v in a.sandbox_values))
        put = object.__setattr__  # frozen: the collected fields are set once, here
        put(self, "routers", tuple(r for a in self.areas for r in a.routers))
        put(self, "hot_routes", tuple(r for a in self.areas for r in a.hot_routes))
        put(self, "errors", tuple(e for a in self.areas for e in a.errors))
        put(self, "token_kinds", frozenset(k for a in self.areas for k in a.token_kinds))
        put(self, "id_prefixes", frozenset(p for a in self.areas for p in a.id_prefixes))
        put(self, "messages", {m.template: m for a in self.areas for m in a.messages})
        put(self, "unknown_token_errors", tuple(e for a in self.areas for e in a.unknown_token_errors))
        put(self, "token_failure_errors", tuple(e for a in self.areas for e in a.token_failure_errors))
        put(self, "rate_limits", tuple(limit for a in self.areas for limit in a.rate_limits))
        put(self, "rbac_resources", tuple(r for a in self.areas for r in a.rbac_resources))
        put(self, "factors", tuple(f for a in self.areas for f in a.factors))
        _unique("acting_member", (("acting_member", a) for a in self.areas if a.acting_member is not None))
        put(self, "acting_member", next((a.acting_member for a in self.areas if a.acting_member), None))
        listeners: dict[type, tuple[Listener, ...]] = {}
        for area in self.areas:
            for event, listener in area.listeners.items():
                listeners[event] = (*listeners.get(event, ()), listener)
        put(self, "listeners", listeners)
        put(self, "sandbox", SandboxValues(v for a in self.areas for v in a.sandbox_values))
        _unique("error body", ((prefix, a) for a in self.areas for prefix in a.error_bodies))
        put(self, "error_bodies", {p: r for a in self.areas for p, r in a.error_bodies.items()})


def _unique(what: str, claims: Iterable[tuple[str, Area]]) -> None:
    owners: dict[str, Area] = {}
    for key, area in claims:
        first = owners.setdefault(key, area)
        if first is not area:
            raise ValueError(f"{what} {key!r} is declared by two areas: {first.name} and {area.name}")
