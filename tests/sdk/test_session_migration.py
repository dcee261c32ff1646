"""sessions.migrate through the official Python SDK (B2B and consumer): an access token of
another OpenID provider (panva's oidc-provider, tests/idp) becomes a keystile session for
the User or Member its userinfo names, as Stytch documents
(stytch.com/docs/api/migrate-session, stytch.com/docs/b2b/api/migrate-session)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import socket
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import stytch

from tests.flows import error_of, make_org, new_email
from tests.idp.oidc import Account, Client, OpenIDProvider
from tests.support import keystile_in_process

CALLBACK = "http://127.0.0.1:9/callback"  # the app being left; never followed


def access_token(provider: OpenIDProvider, client: Client, account: Account) -> str:
    """What the app being left holds for a signed-in person: an access token of its provider."""
    config = requests.get(provider.discovery_url, timeout=10).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": secrets.token_urlsafe(8),
        "nonce": secrets.token_urlsafe(8),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    back = provider.sign_in(f"{config['authorization_endpoint']}?{urlencode(query)}", account)
    code = parse_qs(urlsplit(back).query)["code"][0]
    resp = requests.post(
        config["token_endpoint"],
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier},
        auth=(client.client_id, client.client_secret),
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def session_migration(project: Any, *args: str) -> Any:
    """`keystile projects session-migration --project P --json …` on the project's database."""
    server = project.server
    settings = {
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
        "KEYSTILE_DATABASE_URL": server.settings.database_url,
    }
    return keystile_in_process(
        settings, "projects", "session-migration", "--project", project.project_id, "--json", *args
    )


def configure(project: Any, provider: OpenIDProvider) -> str:
    url = requests.get(provider.discovery_url, timeout=10).json()["userinfo_endpoint"]
    done = session_migration(project, "--userinfo-url", url)
    assert done.returncode == 0, done.stderr
    return str(url)


@pytest.fixture
def idp_client(oidc_provider: OpenIDProvider) -> Client:
    return oidc_provider.add_client(redirect_uris=[CALLBACK])


@pytest.fixture
def migrating(project: Any, oidc_provider: OpenIDProvider) -> Any:
    configure(project, oidc_provider)
    return project


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/userinfo"


class TestB2B:
    def test_the_member_the_userinfo_names_gets_a_session_with_an_imported_factor(
        self, b2b, inbox, migrating, oidc_provider, idp_client
    ):
        org = make_org(b2b, inbox)
        email = new_email("grace")
        created = b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        token = access_token(oidc_provider, idp_client, oidc_provider.add_account(email=email))

        resp = b2b.sessions.migrate(session_token=token, organization_id=org.organization_id)

        assert resp.member_id == created.member.member_id
        assert resp.organization.organization_id == org.organization_id
        assert resp.member.status == "active" and resp.member.email_address_verified is True
        session = resp.member_session
        assert [(f.type, f.delivery_method) for f in session.authentication_factors] == [("imported", "imported_auth0")]
        assert session.authentication_factors[0].email_factor.email_address == email
        assert (session.expires_at - session.started_at).total_seconds() == 60 * 60  # Stytch's default
        same = b2b.sessions.authenticate(session_token=resp.session_token)
        assert same.member_session.member_session_id == session.member_session_id
        assert (
            b2b.sessions.authenticate(session_jwt=resp.session_jwt).member_session.member_id == created.member.member_id
        )

    def test_the_organization_slug_and_the_session_options_are_taken(
        self, b2b, inbox, migrating, oidc_provider, idp_client
    ):
        org = make_org(b2b, inbox)
        email = new_email("slug")
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        token = access_token(oidc_provider, idp_client, oidc_provider.add_account(email=email))

        resp = b2b.sessions.migrate(
            session_token=token,
            organization_id=org.organization_slug,
            session_duration_minutes=30,
            session_custom_claims={"plan": "gold"},
        )

        session = resp.member_session
        assert (session.expires_at - session.started_at).total_seconds() == 30 * 60
        assert session.custom_claims == {"plan": "gold"}

    def test_nobody_is_created_for_an_address_without_a_member(self, b2b, inbox, migrating, oidc_provider, idp_client):
        org = make_org(b2b, inbox)
        stranger = new_email("stranger")
        token = access_token(oidc_provider, idp_client, oidc_provider.add_account(email=stranger))

        caught = error_of(lambda: b2b.sessions.migrate(session_token=token, organization_id=org.organization_id))

        assert caught.error_type == "member_not_found" and caught.status_code == 404
        found = b2b.organizations.members.search(organization_ids=[org.organization_id], query=None)
        assert stranger not in [m.email_address for m in found.members]

    def test_a_member_of_another_organization_is_not_found(self, b2b, inbox, migrating, oidc_provider, idp_client):
        mine, theirs = make_org(b2b, inbox), make_org(b2b, inbox)
        email = new_email("elsewhere")
        b2b.organizations.members.create(organization_id=theirs.organization_id, email_address=email)
        token = access_token(oidc_provider, idp_client, oidc_provider.add_account(email=email))

        caught = error_of(lambda: b2b.sessions.migrate(session_token=token, organization_id=mine.organization_id))

        assert caught.error_type == "member_not_found"

    def test_an_address_the_provider_does_not_vouch_for_names_nobody(
        self, b2b, inbox, migrating, oidc_provider, idp_client
    ):
        org = make_org(b2b, inbox)
        email = new_email("unverified")
        b2b.organizations.members.create(organization_id=org.organization_id, email_address=email)
        account = oidc_provider.add_account(email=email, email_verified=False)
        token = access_token(oidc_provider, idp_client, account)

        caught = error_of(lambda: b2b.sessions.migrate(session_token=token, organization_id=org.organization_id))

        assert caught.error_type == "invalid_email" and caught.status_code == 400

    def test_a_token_the_provider_refuses_is_session_not_found(self, b2b, inbox, migrating):
        org = make_org(b2b, inbox)

        caught = error_of(
            lambda: b2b.sessions.migrate(session_token="not-a-real-token", organization_id=org.organization_id)
        )

        assert caught.error_type == "session_not_found" and caught.status_code == 404

    def test_an_unknown_organization_is_not_found(self, b2b, migrating):
        caught = error_of(lambda: b2b.sessions.migrate(session_token="t", organization_id="organization-test-none"))

        assert caught.error_type == "organization_not_found"


class TestConsumer:
    def test_the_user_the_userinfo_names_gets_a_session_when_asked(
        self, consumer, migrating, oidc_provider, idp_client
    ):
        email = new_email("lin")
        user = consumer.users.create(email=email)
        token = access_token(oidc_provider, idp_client, oidc_provider.add_account(email=email))

        resp = consumer.sessions.migrate(session_token=token, session_duration_minutes=45)

        assert resp.user_id == user.user_id
        assert resp.user.status == "active" and resp.user.emails[0].verified is True
        factors = resp.session.authentication_factors
        assert [(f.type, f.delivery_method) for f in factors] == [("imported", "imported_auth0")]
        assert (resp.session.expires_at - resp.session.started_at).total_seconds() == 45 * 60
        assert consumer.sessions.authenticate(session_token=resp.session_token).session.user_id == user.user_id

    def test_without_a_duration_no_session_is_started(self, consumer, migrating, oidc_provider, idp_client):
        email = new_email("nosession")
        user = consumer.users.create(email=email)
        token = access_token(oidc_provider, idp_client, oidc_provider.add_account(email=email))

        resp = consumer.sessions.migrate(session_token=token)

        assert resp.user_id == user.user_id
        assert resp.session is None and resp.session_token == "" and resp.session_jwt == ""

    def test_nobody_is_created_for_an_unknown_address(self, consumer, migrating, oidc_provider, idp_client):
        stranger = new_email("nobody")
        token = access_token(oidc_provider, idp_client, oidc_provider.add_account(email=stranger))

        caught = error_of(lambda: consumer.sessions.migrate(session_token=token, session_duration_minutes=30))

        assert caught.error_type == "user_not_found" and caught.status_code == 404
        assert consumer.users.search(limit=1000).results == []


class TestSetting:
    def test_a_project_without_the_setting_answers_not_configured(self, consumer, project):
        caught = error_of(lambda: consumer.sessions.migrate(session_token="t", session_duration_minutes=30))

        assert caught.error_type == "session_migration_not_configured" and caught.status_code == 400

    def test_one_projects_setting_is_not_anothers(self, migrating, other_project):
        other_consumer = stytch.Client(
            other_project.project_id, other_project.secret, environment=other_project.server.base_url
        )

        caught = error_of(lambda: other_consumer.sessions.migrate(session_token="t", session_duration_minutes=30))

        assert caught.error_type == "session_migration_not_configured"

    def test_an_unreachable_endpoint_is_a_clear_error(self, consumer, project):
        assert session_migration(project, "--userinfo-url", closed_port_url()).returncode == 0

        caught = error_of(lambda: consumer.sessions.migrate(session_token="t", session_duration_minutes=30))

        assert caught.error_type == "session_migration_userinfo_failed" and caught.status_code == 502

    def test_the_cli_shows_sets_and_turns_off_the_endpoint(self, project):
        assert json.loads(session_migration(project).stdout)["session_migration_url"] is None
        set_ = session_migration(project, "--userinfo-url", "https://auth.example.com/userinfo")
        assert json.loads(set_.stdout)["session_migration_url"] == "https://auth.example.com/userinfo"
        assert json.loads(session_migration(project).stdout)["session_migration_url"] == (
            "https://auth.example.com/userinfo"
        )
        assert json.loads(session_migration(project, "--off").stdout)["session_migration_url"] is None

    def test_the_cli_refuses_what_is_not_an_http_url(self, project):
        done = session_migration(project, "--userinfo-url", "ftp://auth.example.com/userinfo")
        assert done.returncode == 2 and "not an http(s) URL" in done.stderr
