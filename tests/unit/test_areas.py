"""The area registry (keystile/areas.py, core/area.py): what the areas declare is what the
app serves, and two areas cannot claim the same thing."""

from __future__ import annotations

import re

import pytest
from fastapi import APIRouter
from starlette.routing import Match

from keystile import errors
from keystile.app import create_app
from keystile.areas import AREAS, registry
from keystile.config import Settings
from keystile.core.area import Area, Factor, Message, Registry
from keystile.models import metadata


def _paths(routes: object) -> set[tuple[str, str]]:
    return {(m, r.path) for r in routes for m in (getattr(r, "methods", None) or ())}  # type: ignore[attr-defined]


def test_every_area_is_registered_once() -> None:
    names = [a.name for a in AREAS]
    assert len(names) == len(set(names))
    assert registry().areas == AREAS


def test_the_app_serves_every_declared_route(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    declared = _paths(r for router in registry().routers for r in router.routes) | _paths(registry().hot_routes)
    assert len(declared) > 40
    unserved = []
    for method, path in sorted(declared):
        scope = {"type": "http", "method": method, "path": re.sub(r"{[^}]+}", "x", path), "root_path": ""}
        if not any(route.matches(scope)[0] is Match.FULL for route in app.router.routes):
            unserved.append(f"{method} {path}")
    assert unserved == []


def test_hot_routes_come_before_every_router(tmp_path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    hot = list(registry().hot_routes)
    assert hot and app.router.routes[: len(hot)] == hot


def test_two_areas_cannot_claim_the_same_route() -> None:
    first, second = APIRouter(), APIRouter()
    for router in (first, second):
        router.add_api_route("/v1/same", lambda: None, methods=["POST"])
    with pytest.raises(ValueError, match="route 'POST /v1/same' is declared by two areas: a and b"):
        Registry((Area("a", routers=[first]), Area("b", routers=[second])))


@pytest.mark.parametrize(
    ("field", "value", "what"),
    [
        ("token_kinds", ["otp"], "token kind"),
        ("id_prefixes", ["otp"], "id prefix"),
        ("messages", [Message("otp_email", "Your code")], "message template"),
        ("factors", [Factor("otp", "email")], "factor"),
        ("errors", [errors.BadRequest], "error"),
    ],
)
def test_two_areas_cannot_claim_the_same_thing(field: str, value: list[object], what: str) -> None:
    with pytest.raises(ValueError, match=f"^{what} .* is declared by two areas: a and b$"):
        Registry((Area("a", **{field: value}), Area("b", **{field: value})))  # type: ignore[arg-type]


def test_the_registry_merges_in_area_order() -> None:
    a = Area("a", token_kinds=["x"], unknown_token_errors=[errors.MagicLinkNotFound])
    b = Area("b", token_kinds=["y"], unknown_token_errors=[errors.IntermediateSessionNotFound])
    merged = Registry((a, b))
    assert merged.token_kinds == {"x", "y"}
    assert merged.unknown_token_errors == (errors.MagicLinkNotFound, errors.IntermediateSessionNotFound)


def test_every_message_has_its_templates() -> None:
    from jinja2 import Environment, PackageLoader

    emails = Environment(loader=PackageLoader("keystile", "templates/email"))
    texts = Environment(loader=PackageLoader("keystile", "templates/text"))
    for message in registry().messages.values():
        if message.channel == "email":
            emails.get_template(f"{message.template}.txt")
            emails.get_template(f"{message.template}.html")
        else:  # a text is plain text only
            texts.get_template(f"{message.template}.txt")


def test_rate_limit_hooks_are_declared_errors() -> None:
    declared = set(registry().errors)
    assert set(registry().unknown_token_errors) <= declared
    assert set(registry().token_failure_errors) <= declared
    assert errors.MagicLinkNotFound in registry().unknown_token_errors
    assert errors.PKCEMismatch in registry().token_failure_errors


def test_every_table_module_is_in_the_metadata() -> None:
    assert {"projects", "organizations", "members", "tokens", "sessions", "outbox", "users"} <= set(metadata.tables)


def test_a_factor_is_stored_as_stytch_lists_it() -> None:
    from datetime import UTC, datetime

    factor = Factor("magic_link", "email").build(
        datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), email_factor={"email_id": "email-test-1", "email_address": "a@b.c"}
    )
    assert factor == {
        "type": "magic_link",
        "delivery_method": "email",
        "last_authenticated_at": "2026-01-02T03:04:05Z",
        "created_at": "2026-01-02T03:04:05Z",
        "updated_at": "2026-01-02T03:04:05Z",
        "email_factor": {"email_id": "email-test-1", "email_address": "a@b.c"},
    }


def test_one_area_answers_for_the_acting_member() -> None:
    async def resolve(ctx: object) -> None:
        return None

    assert registry().acting_member is not None
    with pytest.raises(ValueError, match=r"acting_member .* is declared by two areas: a and b"):
        Registry((Area("a", acting_member=resolve), Area("b", acting_member=resolve)))  # type: ignore[arg-type]


def test_listeners_of_an_event_run_in_area_order() -> None:
    from keystile.core import events

    async def first(ctx: object, event: object) -> None: ...

    async def second(ctx: object, event: object) -> None: ...

    merged = Registry(
        (Area("a", listeners={events.MemberDeleted: first}), Area("b", listeners={events.MemberDeleted: second}))
    )
    assert merged.listeners == {events.MemberDeleted: (first, second)}
    # Deleting a member or a user revokes its sessions: the sessions area listens.
    assert {events.MemberDeleted, events.UserDeleted} <= set(registry().listeners)


def test_the_rbac_resources_declared_are_the_policys_built_in_ones() -> None:
    """A built-in resource an endpoint checks is declared by an area, and the policy knows it."""
    from keystile.core.policy import STYTCH_RESOURCES

    declared = {r.resource_id: set(r.actions) for r in registry().rbac_resources}
    assert declared == {r.resource_id: set(r.actions) for r in STYTCH_RESOURCES}


def test_every_token_kind_and_id_prefix_minted_is_declared() -> None:
    """core/tokens.py's kinds and core/ids.py's per-kind helpers belong to some area's declaration."""
    from keystile.core.tokens import TokenKind

    assert {str(k) for k in TokenKind} <= registry().token_kinds
    minted = {"project", "organization", "member", "member-session", "session", "user", "email"}
    assert minted <= registry().id_prefixes
