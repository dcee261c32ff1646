"""organizations.members.oidc_providers through the Python SDK: the tokens an OIDC
connection's IdP (panva's oidc-provider on loopback) gave a Member at an SSO login, kept
sealed, refreshed at the IdP once expired; another project's Member not found."""

from __future__ import annotations

from typing import Any

import stytch
from sqlalchemy import select

from keystile.models.sso import sso_oidc_tokens
from tests.flows import error_of, new_email
from tests.sdk.test_sso_oidc import make_org, oidc_connection, sso_token
from tests.support import ProjectInfo, call


def stored(project: ProjectInfo, member_id: str) -> dict[str, Any]:
    async def work() -> dict[str, Any]:
        async with project.server.state.transaction() as conn:
            row = (await conn.execute(select(sso_oidc_tokens).where(sso_oidc_tokens.c.member_id == member_id))).one()
            return dict(row._mapping)

    return project.server.run(work())


def test_a_members_idp_tokens_are_kept_sealed_and_refreshed_once_expired(b2b, project, oidc_provider):
    org = make_org(b2b)
    connection = oidc_connection(
        b2b, oidc_provider, org.organization_id, custom_scopes="openid email profile offline_access"
    )
    ada = oidc_provider.add_account(email=new_email())
    _, token = sso_token(project, oidc_provider, ada, connection_id=connection.connection_id, provider_prompt="consent")
    member_id = b2b.sso.authenticate(sso_token=token).member_id

    held = b2b.organizations.members.oidc_providers(organization_id=org.organization_id, member_id=member_id)
    [first] = held.registrations
    assert (first.connection_id, first.provider_subject) == (connection.connection_id, ada.sub)
    assert first.access_token and first.id_token and "openid" in first.scopes
    assert 0 < first.access_token_expires_in <= 3600
    assert not first.refresh_token  # only when asked
    row = stored(project, member_id)
    assert first.access_token not in str(row) and first.id_token not in str(row)

    resp = call(project, "POST", "/dev/clock/advance", json={"seconds": 2 * 3600})
    assert resp.status_code == 200, resp.text
    again = b2b.organizations.members.oidc_providers(
        organization_id=org.organization_id, member_id=member_id, include_refresh_token=True
    )
    [fresh] = again.registrations
    assert fresh.access_token != first.access_token and fresh.access_token_expires_in > 0
    assert fresh.refresh_token and fresh.id_token


def test_a_member_without_an_oidc_login_has_none_and_another_project_sees_nothing(
    b2b, project, other_project, oidc_provider
):
    org = make_org(b2b)
    member = b2b.organizations.members.create(organization_id=org.organization_id, email_address=new_email()).member
    held = b2b.organizations.members.oidc_providers(organization_id=org.organization_id, member_id=member.member_id)
    assert held.registrations == []
    other = stytch.B2BClient(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
    caught = error_of(
        lambda: other.organizations.members.oidc_providers(
            organization_id=org.organization_id, member_id=member.member_id
        )
    )
    assert caught.error_type == "organization_not_found"
