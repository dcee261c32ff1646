"""OIDC SSO through the Python SDK against a real OpenID provider (panva's oidc-provider,
tests/idp): connections created and updated by discovery, a whole login over HTTP (start,
the IdP's login and consent, keystile's callback, the app's redirect URL, sso.authenticate),
the organization's JIT and MFA rules, and connections and tokens of another project refused."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import stytch
from stytch.b2b.models.sso import GetConnectionsRequestOptions
from stytch.b2b.models.sso_oidc import CreateConnectionRequestOptions
from stytch.core.response_base import StytchError

from keystile.core.redirect_urls import RedirectType
from tests.flows import acting, error_type, new_email, new_slug, pkce_pair
from tests.idp.oidc import Account, OpenIDProvider, follow
from tests.support import REDIRECT_URL, ProjectInfo, allow_redirect


def start_url(project: ProjectInfo, **params: str) -> str:
    return f"{project.server.base_url}v1/public/sso/start?{urlencode({'public_token': project.public_token, **params})}"


def make_org(b2b: Any, **settings: Any) -> Any:
    return b2b.organizations.create(organization_name="Acme", organization_slug=new_slug(), **settings).organization


def oidc_connection(b2b: Any, oidc_provider: OpenIDProvider, organization_id: str, **update: Any) -> Any:
    """An active OIDC connection of the organization, set up as an admin would: created, its
    redirect_url registered at the IdP, then the IdP's issuer and client pasted in."""
    created = b2b.sso.oidc.create_connection(
        organization_id=organization_id, display_name="Acme IdP", identity_provider="okta"
    ).connection
    client = oidc_provider.add_client(redirect_uris=[created.redirect_url])
    return b2b.sso.oidc.update_connection(
        organization_id=organization_id,
        connection_id=created.connection_id,
        issuer=oidc_provider.issuer,
        client_id=client.client_id,
        client_secret=client.client_secret,
        **update,
    ).connection


def sso_token(
    project: ProjectInfo,
    oidc_provider: OpenIDProvider,
    account: Account,
    *,
    http: requests.Session | None = None,
    **start: str,
) -> tuple[str, str]:
    """A whole browser login from keystile's start URL; the app URL it lands on and its token."""
    http = http or requests.Session()
    back = oidc_provider.sign_in(start_url(project, **start), account, http=http)
    landed = follow(http, back, until=REDIRECT_URL.rsplit("/", 1)[0])
    params = parse_qs(urlsplit(landed).query)
    assert params["stytch_token_type"] == ["sso"]
    return landed, params["token"][0]


class TestConnections:
    def test_a_new_connection_is_pending_with_its_redirect_url_under_keystile(self, b2b, project):
        org = make_org(b2b)

        connection = b2b.sso.oidc.create_connection(organization_id=org.organization_id, display_name="IdP").connection

        assert connection.status == "pending" and connection.display_name == "IdP"
        assert connection.identity_provider == "generic"
        assert connection.connection_id.startswith("oidc-connection-test-")
        assert connection.redirect_url == (f"{project.server.base_url}v1/b2b/sso/callback/{connection.connection_id}")

    def test_the_issuer_fills_the_endpoints_and_the_connection_turns_active(self, b2b, oidc_provider):
        org = make_org(b2b)

        connection = oidc_connection(b2b, oidc_provider, org.organization_id)

        assert connection.status == "active" and connection.issuer == oidc_provider.issuer
        assert connection.authorization_url == f"{oidc_provider.issuer}/auth"
        assert connection.token_url == f"{oidc_provider.issuer}/token"
        assert connection.jwks_url == f"{oidc_provider.issuer}/jwks"
        assert connection.userinfo_url == f"{oidc_provider.issuer}/me"
        assert connection.client_secret  # read back: it is sealed at rest, not hashed

    def test_an_unreachable_issuer_is_a_warning_and_the_connection_stays_pending(self, b2b):
        org = make_org(b2b)
        created = b2b.sso.oidc.create_connection(organization_id=org.organization_id).connection

        resp = b2b.sso.oidc.update_connection(
            organization_id=org.organization_id,
            connection_id=created.connection_id,
            issuer="http://127.0.0.1:9/nowhere",
            client_id="c",
            client_secret="s",
        )

        assert resp.connection.status == "pending" and resp.warning
        assert resp.connection.issuer == "http://127.0.0.1:9/nowhere"

    def test_the_organization_lists_its_active_connection_as_its_default(self, b2b, oidc_provider):
        org = make_org(b2b)

        connection = oidc_connection(b2b, oidc_provider, org.organization_id)

        got = b2b.organizations.get(organization_id=org.organization_id).organization
        assert got.sso_default_connection_id == connection.connection_id
        assert [c.connection_id for c in got.sso_active_connections] == [connection.connection_id]
        assert got.sso_active_connections[0].display_name == "Acme IdP"
        listed = b2b.sso.get_connections(organization_id=org.organization_id)
        assert [c.connection_id for c in listed.oidc_connections] == [connection.connection_id]
        assert listed.saml_connections == [] and listed.external_connections == []

    def test_organizations_search_finds_them_by_active_connection(self, b2b, oidc_provider):
        with_sso, without = make_org(b2b), make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, with_sso.organization_id)
        ids = [with_sso.organization_id, without.organization_id]

        def search(name: str, value: Any) -> list[str]:
            query = {
                "operator": "AND",
                "operands": [
                    {"filter_name": "organization_ids", "filter_value": ids},
                    {"filter_name": name, "filter_value": value},
                ],
            }
            return [o.organization_id for o in b2b.organizations.search(query=query).organizations]

        assert search("has_active_sso_connection", True) == [with_sso.organization_id]
        assert search("has_active_sso_connection", False) == [without.organization_id]
        assert search("sso_connection_id", connection.connection_id) == [with_sso.organization_id]

    def test_the_organization_may_name_only_its_own_connections(self, b2b, oidc_provider):
        org, other = make_org(b2b), make_org(b2b)
        own = oidc_connection(b2b, oidc_provider, org.organization_id)
        theirs = oidc_connection(b2b, oidc_provider, other.organization_id)

        for field, value in (
            ("sso_default_connection_id", theirs.connection_id),
            ("sso_jit_provisioning_allowed_connections", [own.connection_id, "oidc-connection-test-nope"]),
        ):
            with pytest.raises(StytchError) as caught:
                b2b.organizations.update(organization_id=org.organization_id, **{field: value})
            assert error_type(caught) == "connection_not_found"
        updated = b2b.organizations.update(
            organization_id=org.organization_id,
            sso_default_connection_id=own.connection_id,
            sso_jit_provisioning="RESTRICTED",
            sso_jit_provisioning_allowed_connections=[own.connection_id],
        ).organization
        assert updated.sso_default_connection_id == own.connection_id
        assert updated.sso_jit_provisioning_allowed_connections == [own.connection_id]

    def test_a_deleted_connection_leaves_the_organization(self, b2b, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)

        resp = b2b.sso.delete_connection(organization_id=org.organization_id, connection_id=connection.connection_id)

        assert resp.connection_id == connection.connection_id
        got = b2b.organizations.get(organization_id=org.organization_id).organization
        assert got.sso_active_connections == [] and got.sso_default_connection_id in (None, "")
        assert b2b.sso.get_connections(organization_id=org.organization_id).oidc_connections == []

    def test_another_projects_connection_is_not_found(self, b2b, project, other_project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        other = stytch.B2BClient(other_project.project_id, other_project.secret, environment=project.server.base_url)
        other_org = make_org(other)

        with pytest.raises(StytchError) as caught:
            other.sso.delete_connection(
                organization_id=other_org.organization_id, connection_id=connection.connection_id
            )
        assert error_type(caught) == "connection_not_found"
        with pytest.raises(StytchError) as caught:
            other.sso.oidc.update_connection(
                organization_id=other_org.organization_id, connection_id=connection.connection_id, display_name="x"
            )
        assert error_type(caught) == "connection_not_found"


class TestLogin:
    def test_a_new_person_is_provisioned_and_gets_a_session(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        email = new_email()
        ada = oidc_provider.add_account(email=email, name="Ada Lovelace")

        landed, token = sso_token(project, oidc_provider, ada, connection_id=connection.connection_id)
        resp = b2b.sso.authenticate(sso_token=token)

        assert landed.startswith(REDIRECT_URL)
        assert resp.member_authenticated is True and resp.session_token
        assert resp.member.email_address == email and resp.member.name == "Ada Lovelace"
        assert resp.member.status == "active" and resp.member.email_address_verified is True
        [registration] = resp.member.sso_registrations
        assert registration.connection_id == connection.connection_id and registration.external_id == ada.sub
        assert registration.sso_attributes["email"] == email
        [factor] = resp.member_session.authentication_factors
        assert (factor.type, factor.delivery_method) == ("sso", "sso_oidc")
        session = b2b.sessions.authenticate(session_token=resp.session_token)
        assert session.member.member_id == resp.member_id

    def test_the_organizations_default_connection_is_used_without_a_connection_id(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        oidc_connection(b2b, oidc_provider, org.organization_id)
        ada = oidc_provider.add_account(email=new_email())

        _, token = sso_token(project, oidc_provider, ada, organization_id=org.organization_id)

        assert b2b.sso.authenticate(sso_token=token).organization_id == org.organization_id

    def test_an_sso_token_works_once(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
        )
        b2b.sso.authenticate(sso_token=token)

        with pytest.raises(StytchError) as caught:
            b2b.sso.authenticate(sso_token=token)
        assert error_type(caught) == "unable_to_auth_sso_token"

    def test_pkce_binds_the_token_to_the_app_that_started(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        verifier, challenge = pkce_pair()
        account = oidc_provider.add_account(email=new_email())
        _, token = sso_token(
            project, oidc_provider, account, connection_id=connection.connection_id, pkce_code_challenge=challenge
        )

        with pytest.raises(StytchError) as caught:
            b2b.sso.authenticate(sso_token=token, pkce_code_verifier="x" * 43)
        assert error_type(caught) == "pkce_mismatch"
        _, token = sso_token(
            project, oidc_provider, account, connection_id=connection.connection_id, pkce_code_challenge=challenge
        )
        assert b2b.sso.authenticate(sso_token=token, pkce_code_verifier=verifier).member_authenticated is True

    def test_an_existing_member_lands_on_the_login_url_and_keeps_its_id(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        email = new_email()
        member = b2b.organizations.members.create(organization_id=org.organization_id, email_address=email).member
        login_url = "http://localhost:3000/login-done"
        allow_redirect(project, login_url, RedirectType.LOGIN)

        landed, token = sso_token(
            project,
            oidc_provider,
            oidc_provider.add_account(email=email),
            connection_id=connection.connection_id,
            login_redirect_url=login_url,
        )

        assert landed.startswith(login_url)
        assert b2b.sso.authenticate(sso_token=token).member_id == member.member_id

    def test_a_session_token_given_keeps_the_session_and_adds_the_sso_factor(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        account = oidc_provider.add_account(email=new_email())
        _, token = sso_token(project, oidc_provider, account, connection_id=connection.connection_id)
        first = b2b.sso.authenticate(sso_token=token)
        _, token = sso_token(project, oidc_provider, account, connection_id=connection.connection_id)

        again = b2b.sso.authenticate(sso_token=token, session_token=first.session_token)

        assert again.member_session.member_session_id == first.member_session.member_session_id
        assert [f.delivery_method for f in again.member_session.authentication_factors] == ["sso_oidc"]

    def test_another_projects_sso_token_is_not_found(self, b2b, project, other_project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
        )
        other = stytch.B2BClient(other_project.project_id, other_project.secret, environment=project.server.base_url)

        with pytest.raises(StytchError) as caught:
            other.sso.authenticate(sso_token=token)
        assert error_type(caught) == "sso_token_not_found"


class TestClaims:
    def test_attribute_mapping_takes_the_email_and_name_from_other_claims(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(
            b2b,
            oidc_provider,
            org.organization_id,
            identity_provider="microsoft-entra",
            attribute_mapping={"email": "upn", "full_name": "preferred_username"},
        )
        upn = new_email("ada.upn")
        account = oidc_provider.add_account(email=new_email("mailbox"), upn=upn, preferred_username="Ada L.")

        _, token = sso_token(project, oidc_provider, account, connection_id=connection.connection_id)
        member = b2b.sso.authenticate(sso_token=token).member

        assert (member.email_address, member.name) == (upn, "Ada L.")
        assert member.sso_registrations[0].sso_attributes["upn"] == upn

    def test_custom_scopes_are_what_the_idp_is_asked_for(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id, custom_scopes="openid email")

        resp = requests.get(
            start_url(project, connection_id=connection.connection_id, custom_scopes="offline_access"),
            allow_redirects=False,
            timeout=10,
        )

        query = parse_qs(urlsplit(resp.headers["location"]).query)
        assert query["scope"] == ["openid email offline_access"]
        assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
        assert query["redirect_uri"] == [connection.redirect_url]

    def test_a_start_url_with_an_unstorable_value_is_refused(self, project):
        resp = requests.get(start_url(project, connection_id="oidc-\x00"), allow_redirects=False, timeout=10)

        assert resp.status_code == 400 and resp.json()["error_type"] == "bad_request"
        assert "connection_id" in resp.json()["error_message"]


class TestOrganizationRules:
    def test_jit_not_allowed_refuses_a_new_member(self, b2b, project, oidc_provider):
        org = make_org(b2b, sso_jit_provisioning="NOT_ALLOWED", email_invites="ALL_ALLOWED")
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
        )

        with pytest.raises(StytchError) as caught:
            b2b.sso.authenticate(sso_token=token)
        assert error_type(caught) == "sso_jit_provisioning_not_allowed"

    def test_restricted_jit_provisions_only_through_the_allowed_connections(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        allowed = oidc_connection(b2b, oidc_provider, org.organization_id)
        other = oidc_connection(b2b, oidc_provider, org.organization_id)
        b2b.organizations.update(
            organization_id=org.organization_id,
            sso_jit_provisioning="RESTRICTED",
            sso_jit_provisioning_allowed_connections=[allowed.connection_id],
        )
        account = oidc_provider.add_account(email=new_email())

        _, token = sso_token(project, oidc_provider, account, connection_id=other.connection_id)
        with pytest.raises(StytchError) as caught:
            b2b.sso.authenticate(sso_token=token)
        assert error_type(caught) == "sso_jit_provisioning_not_allowed"
        _, token = sso_token(project, oidc_provider, account, connection_id=allowed.connection_id)
        assert b2b.sso.authenticate(sso_token=token).member.email_address == account.claims["email"]

    def test_an_organization_that_requires_mfa_gets_an_intermediate_session(self, b2b, project, oidc_provider):
        org = make_org(b2b, mfa_policy="REQUIRED_FOR_ALL")
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
        )

        resp = b2b.sso.authenticate(sso_token=token)

        assert resp.member_authenticated is False and resp.session_token == ""
        assert resp.intermediate_session_token and resp.mfa_required is not None

    def test_an_organization_that_restricts_auth_methods_without_sso_refuses(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        b2b.organizations.update(
            organization_id=org.organization_id, auth_methods="RESTRICTED", allowed_auth_methods=["magic_link"]
        )
        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
        )

        with pytest.raises(StytchError) as caught:
            b2b.sso.authenticate(sso_token=token)
        assert error_type(caught) == "operation_restricted_by_organization_auth_methods"


class TestExternalConnections:
    def test_a_login_through_an_external_connection_lands_in_its_organization_with_its_roles(
        self, b2b, project, oidc_provider
    ):
        source_org, org = make_org(b2b), make_org(b2b)
        source = oidc_connection(b2b, oidc_provider, source_org.organization_id)
        external = b2b.sso.external.create_connection(
            organization_id=org.organization_id,
            external_organization_id=source_org.organization_id,
            external_connection_id=source.connection_id,
            connection_implicit_role_assignments=[{"role_id": "stytch_admin"}],
        ).connection
        email = new_email()

        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=email), connection_id=external.connection_id
        )
        resp = b2b.sso.authenticate(sso_token=token)

        assert resp.organization_id == org.organization_id and resp.member.email_address == email
        assert [r.connection_id for r in resp.member.sso_registrations] == [external.connection_id]
        admin = next(r for r in resp.member.roles if r.role_id == "stytch_admin")
        assert [(s.type, s.details) for s in admin.sources] == [
            ("sso_connection", {"connection_id": external.connection_id})
        ]
        assert b2b.organizations.members.search(organization_ids=[source_org.organization_id]).members == []

    def test_it_must_name_a_connection_of_another_organization(self, b2b, oidc_provider):
        org = make_org(b2b)
        own = oidc_connection(b2b, oidc_provider, org.organization_id)
        other = make_org(b2b)
        external = b2b.sso.external.create_connection(
            organization_id=other.organization_id,
            external_organization_id=org.organization_id,
            external_connection_id=own.connection_id,
        ).connection

        for source_org, source in ((org, own), (other, external)):
            with pytest.raises(StytchError) as caught:
                b2b.sso.external.create_connection(
                    organization_id=make_org(b2b).organization_id if source is external else org.organization_id,
                    external_organization_id=source_org.organization_id,
                    external_connection_id=source.connection_id,
                )
            assert error_type(caught) == "invalid_external_connection"


class TestSingleUseAndAuthorization:
    def test_concurrent_redemptions_of_one_token_give_exactly_one_session(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
        )

        def redeem(_: int) -> str:
            client = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)
            try:
                return client.sso.authenticate(sso_token=token).session_token and "ok"
            except StytchError as exc:
                return exc.details.error_type

        with ThreadPoolExecutor(6) as pool:
            outcomes = sorted(pool.map(redeem, range(6)))

        assert outcomes == ["ok"] + ["unable_to_auth_sso_token"] * 5

    def test_a_member_session_needs_stytch_sso_create_to_create_a_connection(self, b2b, project, oidc_provider):
        org = make_org(b2b)
        connection = oidc_connection(b2b, oidc_provider, org.organization_id)
        _, token = sso_token(
            project, oidc_provider, oidc_provider.add_account(email=new_email()), connection_id=connection.connection_id
        )
        member = b2b.sso.authenticate(sso_token=token)  # a stytch_member, no stytch.sso permission

        with pytest.raises(StytchError) as caught:
            b2b.sso.oidc.create_connection(
                organization_id=org.organization_id, method_options=acting(CreateConnectionRequestOptions, member)
            )
        assert error_type(caught) == "unauthorized_action"
        listed = b2b.sso.get_connections(
            organization_id=org.organization_id, method_options=acting(GetConnectionsRequestOptions, member)
        )
        assert [c.connection_id for c in listed.oidc_connections] == [connection.connection_id]
