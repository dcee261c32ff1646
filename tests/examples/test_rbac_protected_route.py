"""The RBAC example (examples/rbac-protected-route): a route runs only for members whose
roles grant its permission, decided by the SDK from keystile's policy; an invite made as
the member is checked by keystile."""

from __future__ import annotations

from typing import Any

import pytest

from tests.examples.conftest import example_config, load_example
from tests.flows import DOCUMENTS_POLICY, add_member, discovery_signup, new_email, set_policy

app_module = load_example("rbac-protected-route")


@pytest.fixture
def client(project: Any) -> Any:
    set_policy(project, DOCUMENTS_POLICY)
    return app_module.create_app(example_config(project)).test_client()


@pytest.fixture
def admin(b2b, inbox, client):
    return discovery_signup(b2b, inbox, new_email())


def bearer(member: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {member.session_jwt}"}


def test_editor_may_read_documents(client, b2b, inbox, admin):
    org_id = admin.organization.organization_id
    editor = add_member(b2b, inbox, org_id, roles=["editor"])
    resp = client.get(f"/orgs/{org_id}/documents", headers=bearer(editor))
    assert resp.status_code == 200
    assert resp.json["member_id"] == editor.member_id


def test_editor_may_not_delete_documents(client, b2b, inbox, admin):
    org_id = admin.organization.organization_id
    editor = add_member(b2b, inbox, org_id, roles=["editor"])
    assert client.delete(f"/orgs/{org_id}/documents/doc-1", headers=bearer(editor)).status_code == 403


def test_admin_may_delete_documents(client, admin):
    org_id = admin.organization.organization_id
    resp = client.delete(f"/orgs/{org_id}/documents/doc-1", headers=bearer(admin))
    assert resp.status_code == 200 and resp.json == {"deleted": "doc-1"}


def test_member_without_a_role_may_not_read(client, b2b, inbox, admin):
    org_id = admin.organization.organization_id
    plain = add_member(b2b, inbox, org_id)
    assert client.get(f"/orgs/{org_id}/documents", headers=bearer(plain)).status_code == 403


def test_member_of_another_organization_is_refused(client, b2b, inbox, admin):
    stranger = discovery_signup(b2b, inbox, new_email())
    org_id = admin.organization.organization_id
    assert client.get(f"/orgs/{org_id}/documents", headers=bearer(stranger)).status_code == 403


def test_missing_token_is_401(client, admin):
    assert client.get(f"/orgs/{admin.organization.organization_id}/documents").status_code == 401


def test_admin_may_invite_as_itself(client, inbox, admin):
    email = new_email()
    org_id = admin.organization.organization_id
    resp = client.post(f"/orgs/{org_id}/invites", json={"email_address": email}, headers=bearer(admin))
    assert resp.status_code == 200, resp.text
    assert inbox.latest_token(email)


def test_editor_may_not_invite_keystile_refuses(client, b2b, inbox, admin):
    org_id = admin.organization.organization_id
    editor = add_member(b2b, inbox, org_id, roles=["editor"])
    resp = client.post(
        f"/orgs/{org_id}/invites",
        json={"email_address": new_email()},
        headers=bearer(editor),
    )
    assert resp.status_code == 403
    assert resp.json["error_type"] == "unauthorized_action"
