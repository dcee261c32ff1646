"""The consumer product's view of a project's RBAC declaration (rbac/consumer.py), and the
`stytch_user` role in the declaration and in the B2B policy (core/policy.py)."""

from __future__ import annotations

from typing import Any

import pytest

from keystile.core.policy import Policy, effective
from keystile.rbac.consumer import consumer_policy

DOCUMENTS = {"resource_id": "documents", "description": "", "actions": ["read", "write"]}


def declared(*roles: dict[str, Any], scopes: list[dict[str, Any]] | None = None) -> Policy:
    return Policy.model_validate({"resources": [DOCUMENTS], "roles": list(roles), "scopes": scopes or []})


def role(role_id: str, *permissions: tuple[str, list[str]]) -> dict[str, Any]:
    return {
        "role_id": role_id,
        "description": "",
        "permissions": [{"resource_id": r, "actions": a} for r, a in permissions],
    }


def test_an_empty_declaration_is_stytch_user_alone() -> None:
    policy = consumer_policy(Policy())

    assert policy.wire() == {
        "roles": [{"role_id": "stytch_user", "description": "Granted to every User.", "permissions": []}],
        "resources": [],
        "scopes": [],
    }


def test_stytch_user_carries_what_the_project_declares_for_it() -> None:
    policy = consumer_policy(declared(role("stytch_user", ("documents", ["read"]))))

    assert policy.roles[0].role_id == "stytch_user"
    assert [(p.resource_id, p.actions) for p in policy.roles[0].permissions] == [("documents", ["read"])]


def test_own_roles_follow_stytch_user_without_b2b_resources() -> None:
    policy = consumer_policy(declared(role("editor", ("documents", ["*"]), ("stytch.member", ["create"]))))

    assert [r.role_id for r in policy.roles] == ["stytch_user", "editor"]
    assert [p.resource_id for p in policy.roles[1].permissions] == ["documents"]


def test_the_b2b_default_roles_are_left_out() -> None:
    policy = consumer_policy(declared(role("stytch_admin", ("documents", ["*"])), role("stytch_member")))

    assert [r.role_id for r in policy.roles] == ["stytch_user"]


def test_resources_are_the_projects_own_and_scopes_lose_b2b_permissions() -> None:
    scope = {
        "scope": "docs",
        "description": "",
        "permissions": [
            {"resource_id": "documents", "actions": ["read"]},
            {"resource_id": "stytch.member", "actions": ["search"]},
        ],
    }

    policy = consumer_policy(declared(scopes=[scope]))

    assert [r.resource_id for r in policy.resources] == ["documents"]
    assert [p.resource_id for p in policy.scopes[0].permissions] == ["documents"]


def test_the_b2b_policy_leaves_stytch_user_out() -> None:
    policy = effective(declared(role("stytch_user", ("documents", ["read"])), role("editor", ("documents", ["read"]))))

    assert [r.role_id for r in policy.roles] == ["stytch_admin", "stytch_member", "editor"]


def test_other_stytch_prefixed_roles_are_still_refused() -> None:
    with pytest.raises(ValueError, match="invalid_rbac_stytch_role_edit"):
        declared(role("stytch_support"))
