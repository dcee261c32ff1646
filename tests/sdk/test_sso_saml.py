"""SAML SSO through the official SDK, against pysaml2 acting as the IdP (tests/saml_idp.py):
connections created, configured by hand and by metadata URL, their certificates and keys
rotated; SP- and IdP-initiated logins through keystile's start route and ACS, plain and with
an encrypted assertion, ending in `sso.authenticate`; roles from the connection and from SAML
groups; and the refusals an ACS must make (the protocol-level ones are in
tests/unit/test_saml_protocol.py, one test each)."""

from __future__ import annotations

import html
import re
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from stytch.b2b.models.sso_saml import UpdateConnectionRequestOptions

from keystile.sso.saml import protocol
from tests.flows import acting, add_member, error_of, make_org, new_email
from tests.saml_idp import Form, SAMLIdP, serve_metadata, xmlsec1
from tests.support import IN_CI, REDIRECT_URL, ProjectInfo

MAPPING = {"email": "user.email", "first_name": "firstName", "last_name": "lastName", "groups": "groups"}


@pytest.fixture(scope="module")
def idp(tmp_path_factory: pytest.TempPathFactory) -> SAMLIdP:
    if xmlsec1() is None:
        if IN_CI:
            pytest.fail("the xmlsec1 program is not installed; CI needs it (Debian package xmlsec1)")
        pytest.skip("the xmlsec1 program is not installed (Debian package xmlsec1)")
    return SAMLIdP(tmp_path_factory.mktemp("saml-idp"))


class SAML:
    """One organization's SAML connection to the test IdP, and a browser to log in with."""

    def __init__(self, b2b: Any, project: ProjectInfo, idp: SAMLIdP, org: Any, **update: Any) -> None:
        self.b2b, self.project, self.idp, self.org = b2b, project, idp, org
        created = b2b.sso.saml.create_connection(
            organization_id=org.organization_id, display_name="Acme SAML", identity_provider="okta"
        ).connection
        self.connection = b2b.sso.saml.update_connection(
            organization_id=org.organization_id,
            connection_id=created.connection_id,
            idp_entity_id=idp.entity_id,
            idp_sso_url=idp.sso_url,
            x509_certificate=idp.certificate,
            attribute_mapping=MAPPING,
            **update,
        ).connection
        self.browser = requests.Session()

    @property
    def connection_id(self) -> str:
        return self.connection.connection_id

    def sp_metadata(self) -> bytes:
        resp = requests.get(self.connection.audience_uri, timeout=10)
        assert resp.status_code == 200, resp.text
        return resp.content

    def start(self, **params: str) -> str:
        """The start route's redirect to the IdP (its Location)."""
        query = {"connection_id": self.connection_id, "public_token": self.project.public_token, **params}
        resp = self.browser.get(
            self.project.server.base_url + "v1/public/sso/start", params=query, allow_redirects=False, timeout=10
        )
        assert resp.status_code == 302, resp.text
        return resp.headers["location"]

    def respond(self, email: str, *, sp_initiated: bool = True, groups: tuple[str, ...] = (), **options: Any) -> Form:
        metadata = self.sp_metadata()
        request = self.idp.receive(self.start(), metadata) if sp_initiated else None
        attributes = {"user.email": [email], "firstName": ["Ada"], "lastName": ["Lovelace"]}
        if groups:
            attributes["groups"] = list(groups)
        return self.idp.respond(
            metadata,
            email=email,
            acs_url=self.connection.acs_url,
            audience=self.connection.audience_uri,
            request=request,
            attributes=attributes,
            **options,
        )

    def post(self, form: Form) -> requests.Response:
        return self.browser.post(form.acs_url, data=form.fields, allow_redirects=False, timeout=10)

    def token(self, form: Form) -> str:
        """Post the IdP's form to the ACS; the `sso` token of the app redirect."""
        resp = self.post(form)
        assert resp.status_code == 302, resp.text
        location = resp.headers["location"]
        assert location.startswith(REDIRECT_URL)
        query = parse_qs(urlsplit(location).query)
        assert query["stytch_token_type"] == ["sso"]
        return query["token"][0]

    def login(self, email: str, **options: Any) -> Any:
        return self.b2b.sso.authenticate(sso_token=self.token(self.respond(email, **options)))


def jit_org(b2b: Any, inbox: Any) -> Any:
    org = make_org(b2b, inbox)
    return b2b.organizations.update(
        organization_id=org.organization_id, sso_jit_provisioning="ALL_ALLOWED"
    ).organization


class TestConnections:
    def test_create_gives_a_pending_connection_with_keystiles_urls_and_signing_certificate(self, b2b, inbox):
        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(
            organization_id=org.organization_id, display_name="Acme SAML", identity_provider="okta"
        ).connection
        assert conn.connection_id.startswith("saml-connection-test-")
        assert (conn.status, conn.display_name, conn.identity_provider) == ("pending", "Acme SAML", "okta")
        assert conn.acs_url.endswith(f"/v1/b2b/sso/callback/{conn.connection_id}")
        assert conn.audience_uri.endswith(f"/v1/b2b/sso/saml/metadata/{conn.connection_id}")
        assert len(conn.signing_certificates) == 1
        assert conn.signing_certificates[0].certificate.startswith("-----BEGIN CERTIFICATE-----")
        assert conn.verification_certificates == [] and conn.encryption_private_keys == []
        listed = b2b.sso.get_connections(organization_id=org.organization_id)
        assert [c.connection_id for c in listed.saml_connections] == [conn.connection_id]

    def test_update_activates_it_once_the_idp_is_known(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, make_org(b2b, inbox))
        conn = saml.connection
        assert conn.status == "active"
        assert (conn.idp_entity_id, conn.idp_sso_url) == (idp.entity_id, idp.sso_url)
        assert conn.attribute_mapping == MAPPING
        assert [c.certificate for c in conn.verification_certificates] == [
            protocol.certificate_pem(protocol.load_certificate(idp.certificate))
        ]
        org = b2b.organizations.get(organization_id=saml.org.organization_id).organization
        assert saml.connection_id in [c.connection_id for c in org.sso_active_connections]

    def test_sp_metadata_names_the_acs_and_the_signing_certificate(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, make_org(b2b, inbox))
        xml = saml.sp_metadata().decode()
        assert f'entityID="{saml.connection.audience_uri}"' in xml
        assert f'Location="{saml.connection.acs_url}"' in xml
        assert protocol.certificate_body(saml.connection.signing_certificates[0].certificate) in xml

    def test_update_by_url_reads_the_idps_metadata(self, b2b, inbox, idp):
        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        with serve_metadata(idp.metadata()) as url:
            updated = b2b.sso.saml.update_by_url(
                organization_id=org.organization_id, connection_id=conn.connection_id, metadata_url=url
            ).connection
        assert (updated.idp_entity_id, updated.idp_sso_url, updated.status) == (idp.entity_id, idp.sso_url, "active")
        assert len(updated.verification_certificates) == 1

    def test_update_by_url_refuses_what_is_not_metadata(self, b2b, inbox):
        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        with serve_metadata("<html>not metadata</html>") as url:
            details = error_of(
                lambda: b2b.sso.saml.update_by_url(
                    organization_id=org.organization_id, connection_id=conn.connection_id, metadata_url=url
                )
            )
        assert (details.status_code, details.error_type) == (400, "invalid_argument")

    def test_update_by_url_refuses_a_loopback_address_unless_the_operator_allows_it(self, b2b, inbox, server):
        """The test server allows private addresses (tests/support.py start_server); with the
        allowance off, as in production, a loopback host (and plain http) is refused before
        any request is sent."""
        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        server.settings.outbound_private_addresses = False
        try:
            # https, so that what refuses it is the address, not the plain-http rule.
            url = "https://127.0.0.1:9/metadata"
            details = error_of(
                lambda: b2b.sso.saml.update_by_url(
                    organization_id=org.organization_id, connection_id=conn.connection_id, metadata_url=url
                )
            )
            plain = error_of(
                lambda: b2b.sso.saml.update_by_url(
                    organization_id=org.organization_id,
                    connection_id=conn.connection_id,
                    metadata_url="http://idp.example.test/metadata",
                )
            )
        finally:
            server.settings.outbound_private_addresses = True
        assert (details.status_code, details.error_type) == (400, "invalid_argument")
        assert "non-public address" in details.error_message
        assert "not an https URL" in plain.error_message
        fresh = b2b.sso.get_connections(organization_id=org.organization_id).saml_connections[0]
        assert (fresh.idp_entity_id, fresh.status) == ("", "pending")

    def test_another_projects_connection_is_not_found(self, b2b, inbox, other_project):
        import stytch

        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        other = stytch.B2BClient(
            other_project.project_id, other_project.secret, environment=other_project.server.base_url
        )
        details = error_of(
            lambda: other.sso.saml.update_connection(
                organization_id=org.organization_id, connection_id=conn.connection_id, display_name="x"
            )
        )
        assert details.status_code == 404

    def test_an_unknown_certificate_or_key_id_is_refused(self, b2b, inbox):
        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        ids = {"organization_id": org.organization_id, "connection_id": conn.connection_id}
        for call in (
            lambda: b2b.sso.saml.delete_verification_certificate(**ids, certificate_id="saml-certificate-test-x"),
            lambda: b2b.sso.saml.delete_encryption_private_key(**ids, private_key_id="saml-encryption-key-test-x"),
        ):
            assert error_of(call).error_type == "invalid_argument"

    def test_certificates_rotate_with_overlap(self, b2b, inbox, project, idp):
        """The IdP's new certificate is added beside the old; logins signed with either work
        until the old one is deleted."""
        org = jit_org(b2b, inbox)
        saml = SAML(b2b, project, idp, org)
        rotated = b2b.sso.saml.update_connection(
            organization_id=org.organization_id,
            connection_id=saml.connection_id,
            x509_certificate=idp.other_certificate,
        ).connection
        assert len(rotated.verification_certificates) == 2
        assert saml.login(new_email("ada"), key_file=idp.other_key_file).member_authenticated
        old = rotated.verification_certificates[0].certificate_id
        deleted = b2b.sso.saml.delete_verification_certificate(
            organization_id=org.organization_id, connection_id=saml.connection_id, certificate_id=old
        )
        assert deleted.certificate_id == old
        resp = saml.post(saml.respond(new_email("ada")))
        assert resp.status_code == 400 and "does not verify" in resp.json()["error_message"]

    def test_an_encryption_key_decrypts_and_can_be_deleted(self, b2b, inbox, project, idp):
        org = jit_org(b2b, inbox)
        key_pem, cert_pem = protocol.new_key_pair("acme", datetime.now(UTC))
        saml = SAML(b2b, project, idp, org, saml_encryption_private_key=key_pem)
        [key] = saml.connection.encryption_private_keys
        assert "PRIVATE KEY" in key.private_key and key_pem.splitlines()[1] not in key.private_key
        assert 'use="encryption"' in saml.sp_metadata().decode()
        email = new_email("ada")
        form = saml.respond(email, encrypt_with=cert_pem)
        assert b"EncryptedAssertion" in form.xml
        assert saml.b2b.sso.authenticate(sso_token=saml.token(form)).member.email_address == email
        deleted = b2b.sso.saml.delete_encryption_private_key(
            organization_id=org.organization_id, connection_id=saml.connection_id, private_key_id=key.private_key_id
        )
        assert deleted.private_key_id == key.private_key_id
        resp = saml.post(saml.respond(new_email("ada"), encrypt_with=cert_pem))
        assert resp.status_code == 400 and "encrypt" in resp.json()["error_message"]

    def test_a_bad_certificate_is_refused(self, b2b, inbox):
        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        details = error_of(
            lambda: b2b.sso.saml.update_connection(
                organization_id=org.organization_id, connection_id=conn.connection_id, x509_certificate="nope"
            )
        )
        assert (details.status_code, details.error_type) == (400, "invalid_argument")

    def test_another_organizations_connection_is_not_found(self, b2b, inbox):
        org, other = make_org(b2b, inbox), make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        details = error_of(
            lambda: b2b.sso.saml.update_connection(
                organization_id=other.organization_id, connection_id=conn.connection_id, display_name="x"
            )
        )
        assert (details.status_code, details.error_type) == (404, "connection_not_found")

    def test_a_member_needs_the_sso_update_permission(self, b2b, inbox):
        org = make_org(b2b, inbox)
        conn = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        member = add_member(b2b, inbox, org.organization_id)
        details = error_of(
            lambda: b2b.sso.saml.update_connection(
                organization_id=org.organization_id,
                connection_id=conn.connection_id,
                display_name="x",
                method_options=acting(UpdateConnectionRequestOptions, member),
            )
        )
        assert details.status_code == 403


class TestLogin:
    def test_sp_initiated_login_sends_a_signed_request_and_ends_in_a_session(self, b2b, inbox, project, idp):
        org = jit_org(b2b, inbox)
        saml = SAML(b2b, project, idp, org)
        location = saml.start()
        assert location.startswith(idp.sso_url + "?")
        request = idp.receive(location, saml.sp_metadata())
        assert request.signed and request.acs_url == saml.connection.acs_url
        email = new_email("ada")
        resp = saml.login(email)
        assert resp.member_authenticated and resp.session_token
        assert resp.member.email_address == email
        assert resp.member.name == "Ada Lovelace"
        [registration] = resp.member.sso_registrations
        assert registration.connection_id == saml.connection_id
        assert registration.external_id == email
        factor = resp.member_session.authentication_factors[0]
        assert (factor.type, factor.delivery_method) == ("sso", "sso_saml")

    def test_idp_initiated_login_uses_the_default_redirect_url(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        resp = saml.login(new_email("ada"), sp_initiated=False)
        assert resp.member_authenticated

    def test_idp_initiated_login_is_refused_where_the_connection_disables_it(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox), idp_initiated_auth_disabled=True)
        resp = saml.post(saml.respond(new_email("ada"), sp_initiated=False))
        assert resp.status_code == 400
        assert "does not allow IdP-initiated" in resp.json()["error_message"]

    def test_a_cross_site_post_without_the_flow_cookie_comes_again_from_keystiles_page(self, b2b, inbox, project, idp):
        """Browsers withhold the SameSite=Lax flow cookie from the IdP's cross-site POST: the
        ACS answers with a page that posts the answer again from keystile's own origin, and
        only the browser that started the login gets through."""
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        form = saml.respond(new_email("ada"))
        cookies = saml.browser.cookies
        saml.browser.cookies = requests.cookies.RequestsCookieJar()
        page = saml.post(form)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        assert "script-src 'nonce-" in page.headers["content-security-policy"]
        fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
        assert fields["keystile_rebound"] == "1"
        assert fields["SAMLResponse"] == form.fields["SAMLResponse"]
        again = Form(acs_url=form.acs_url, fields={k: html.unescape(v) for k, v in fields.items()})
        saml.browser.cookies = cookies
        token = saml.token(again)
        assert b2b.sso.authenticate(sso_token=token).member_authenticated

    def test_a_rebound_post_from_another_browser_is_refused(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        form = saml.respond(new_email("ada"))
        stranger = requests.Session()
        fields = {**form.fields, "keystile_rebound": "1"}
        resp = stranger.post(form.acs_url, data=fields, allow_redirects=False, timeout=10)
        assert resp.status_code == 400 and resp.json()["error_type"] == "invalid_sso_state"

    def test_a_replayed_response_is_refused(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        form = saml.respond(new_email("ada"), sp_initiated=False)
        assert saml.post(form).status_code == 302
        again = saml.post(form)
        assert again.status_code == 400 and "replay" in again.json()["error_message"]

    def test_one_response_posted_at_once_many_times_logs_in_once(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        form = saml.respond(new_email("ada"), sp_initiated=False)

        def post(_: int) -> int:
            with requests.Session() as browser:
                return browser.post(form.acs_url, data=form.fields, allow_redirects=False, timeout=30).status_code

        with ThreadPoolExecutor(max_workers=6) as pool:
            codes = list(pool.map(post, range(6)))
        assert sorted(codes) == [302, 400, 400, 400, 400, 400]

    def test_certificates_added_at_once_are_all_kept(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, make_org(b2b, inbox))
        pems = [protocol.new_key_pair(f"idp-{i}", datetime.now(UTC))[1] for i in range(4)]

        def add(pem: str) -> None:
            b2b.sso.saml.update_connection(
                organization_id=saml.org.organization_id, connection_id=saml.connection_id, x509_certificate=pem
            )

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(add, pems))
        conn = b2b.sso.get_connections(organization_id=saml.org.organization_id).saml_connections[0]
        assert len(conn.verification_certificates) == 5

    def test_a_replayed_sp_initiated_response_is_refused(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        form = saml.respond(new_email("ada"))
        assert saml.post(form).status_code == 302
        assert saml.post(form).status_code == 400

    def test_an_unsigned_response_is_refused_at_the_acs(self, b2b, inbox, project, idp):
        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        resp = saml.post(saml.respond(new_email("ada"), sign_response=False, sign_assertion=False))
        assert resp.status_code == 400 and "signed" in resp.json()["error_message"]

    def test_a_response_for_another_connections_request_is_refused(self, b2b, inbox, project, idp):
        org = jit_org(b2b, inbox)
        first, second = SAML(b2b, project, idp, org), SAML(b2b, project, idp, org)
        form = first.respond(new_email("ada"))
        moved = Form(acs_url=second.connection.acs_url, fields=form.fields)
        resp = first.post(moved)  # the browser that started it, cookie and all
        assert resp.status_code == 400 and resp.json()["error_type"] == "invalid_sso_state"

    def test_another_projects_token_is_not_found(self, b2b, inbox, project, idp, other_project):
        import stytch

        saml = SAML(b2b, project, idp, jit_org(b2b, inbox))
        token = saml.token(saml.respond(new_email("ada")))
        other = stytch.B2BClient(
            other_project.project_id, other_project.secret, environment=other_project.server.base_url
        )
        details = error_of(lambda: other.sso.authenticate(sso_token=token))
        assert details.status_code == 404

    def test_roles_come_from_the_connection_and_from_saml_groups(self, b2b, inbox, project, idp):
        org = jit_org(b2b, inbox)
        saml = SAML(
            b2b,
            project,
            idp,
            org,
            saml_connection_implicit_role_assignments=[{"role_id": "stytch_admin"}],
            saml_group_implicit_role_assignments=[{"role_id": "stytch_admin", "group": "admins"}],
        )
        assert saml.connection.saml_connection_implicit_role_assignments[0].role_id == "stytch_admin"
        resp = saml.login(new_email("ada"), groups=("admins", "eng"))
        sources = {(role.role_id, source.type) for role in resp.member.roles for source in role.sources}
        assert ("stytch_admin", "sso_connection") in sources
        assert ("stytch_admin", "sso_connection_group") in sources

    def test_an_organization_without_jit_refuses_a_new_member(self, b2b, inbox, project, idp):
        org = make_org(b2b, inbox)
        b2b.organizations.update(organization_id=org.organization_id, sso_jit_provisioning="NOT_ALLOWED")
        saml = SAML(b2b, project, idp, org)
        token = saml.token(saml.respond(new_email("ada")))
        details = error_of(lambda: b2b.sso.authenticate(sso_token=token))
        assert details.error_type == "sso_jit_provisioning_not_allowed"

    def test_an_external_connection_logs_in_through_a_saml_connection_of_another_organization(
        self, b2b, inbox, project, idp
    ):
        source = SAML(b2b, project, idp, jit_org(b2b, inbox))
        target = jit_org(b2b, inbox)
        external = b2b.sso.external.create_connection(
            organization_id=target.organization_id,
            external_organization_id=source.org.organization_id,
            external_connection_id=source.connection_id,
            display_name="Through Acme's SAML",
        ).connection
        metadata = source.sp_metadata()
        request = idp.receive(source.start(connection_id=external.connection_id), metadata)
        email = new_email("ada")
        form = idp.respond(
            metadata,
            email=email,
            acs_url=source.connection.acs_url,
            audience=source.connection.audience_uri,
            request=request,
            attributes={"user.email": [email]},
        )
        resp = b2b.sso.authenticate(sso_token=source.token(form))
        assert resp.organization_id == target.organization_id
        assert resp.member.email_address == email
