"""Members' implicitly granted roles (`granted_roles`, members/repository.py
replace_granted_roles): each granting area replaces only its own source types, and every
Member answer lists them in `roles[].sources`, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest

from keystile.members import repository as members_repo
from tests.flows import DOCUMENTS_POLICY, login, new_email, new_org, set_policy

SCIM = "scim_connection_group"
SSO = "sso_connection"


def entry(role_id: str, kind: str, **details: str) -> dict[str, Any]:
    return {"role_id": role_id, "source": {"type": kind, "details": details}}


def replace(project: Any, member_id: str, types: set[str], entries: list[dict[str, Any]], **kw: Any) -> Any:
    server = project.server

    async def work() -> Any:
        async with server.state.transaction() as conn:
            return await members_repo.replace_granted_roles(conn, project.project_id, member_id, types, entries, **kw)

    return server.run(work())


@pytest.fixture
def org(b2b):
    return new_org(b2b)


@pytest.fixture
def member(project, b2b, org):
    set_policy(project, DOCUMENTS_POLICY)
    return b2b.organizations.members.create(
        organization_id=org.organization_id, email_address=new_email(), roles=["editor"]
    ).member


def sources(b2b: Any, org: Any, member: Any) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    got = b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id).member
    return {r.role_id: [(s.type, s.details or {}) for s in r.sources] for r in got.roles}


def test_granted_roles_are_listed_with_their_source(project, b2b, org, member):
    replace(project, member.member_id, {SCIM}, [entry("reader", SCIM, connection_id="scim-1", group_id="g1")])

    roles = sources(b2b, org, member)
    assert roles["reader"] == [(SCIM, {"connection_id": "scim-1", "group_id": "g1"})]
    assert roles["editor"] == [("direct_assignment", {})]


def test_a_role_held_directly_and_granted_lists_both_sources(project, b2b, org, member):
    replace(project, member.member_id, {SCIM}, [entry("editor", SCIM, connection_id="scim-1", group_id="g1")])

    assert [kind for kind, _ in sources(b2b, org, member)["editor"]] == ["direct_assignment", SCIM]


def test_replacing_one_source_type_keeps_the_others(project, b2b, org, member):
    replace(project, member.member_id, {SSO}, [entry("admin", SSO, connection_id="saml-1")])
    replace(project, member.member_id, {SCIM}, [entry("reader", SCIM, connection_id="scim-1", group_id="g1")])
    replace(project, member.member_id, {SCIM}, [])

    roles = sources(b2b, org, member)
    assert roles["admin"] == [(SSO, {"connection_id": "saml-1"})]
    assert "reader" not in roles


def test_details_limit_the_replacement_to_one_connection(project, b2b, org, member):
    replace(
        project,
        member.member_id,
        {SCIM},
        [
            entry("reader", SCIM, connection_id="a", group_id="g1"),
            entry("writer", SCIM, connection_id="b", group_id="g2"),
        ],
    )
    replace(project, member.member_id, {SCIM}, [], details={"connection_id": "a"})

    roles = sources(b2b, org, member)
    assert "reader" not in roles
    assert roles["writer"] == [(SCIM, {"connection_id": "b", "group_id": "g2"})]


def test_an_entry_of_another_source_type_is_refused(project, member):
    with pytest.raises(ValueError):
        replace(project, member.member_id, {SCIM}, [entry("admin", SSO, connection_id="saml-1")])


def test_the_session_of_the_member_carries_the_granted_roles(project, b2b, inbox, org, member):
    replace(project, member.member_id, {SCIM}, [entry("reader", SCIM, connection_id="scim-1", group_id="g1")])
    token = login(b2b, inbox, org.organization_id, member.email_address).session_token

    resp = b2b.sessions.authenticate(session_token=token)

    assert "reader" in resp.member_session.roles
    assert [s.type for r in resp.member.roles if r.role_id == "reader" for s in r.sources] == [SCIM]


def test_search_by_role_finds_a_granted_role(project, b2b, org, member):
    replace(project, member.member_id, {SCIM}, [entry("auditor", SCIM, connection_id="scim-1", group_id="g1")])

    found = b2b.organizations.members.search(
        organization_ids=[org.organization_id],
        query={"operator": "AND", "operands": [{"filter_name": "member_roles", "filter_value": ["auditor"]}]},
    )

    assert [m.member_id for m in found.members] == [member.member_id]


def test_another_projects_member_cannot_be_granted(project, other_project, member):
    from keystile import errors

    with pytest.raises(errors.MemberNotFound):
        replace(other_project, member.member_id, {SCIM}, [])
