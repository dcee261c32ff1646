"""One whole SAML SSO login clicked through in headless Chromium: keystile's start route, the
IdP (pysaml2, served on another site, 127.0.0.2) answering with its auto-posting form, the
cross-site POST to the ACS (where Chromium withholds the SameSite=Lax flow cookie, so
keystile's own page posts the answer again), and the app, which redeems the token with the SDK.
Cookies, redirects, scripts and form posts are the browser's own."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests
from werkzeug.serving import make_server

from tests.browser import chromium
from tests.flows import new_email
from tests.http.test_sso_browser import app_serving
from tests.saml_idp import SAMLIdP, xmlsec1
from tests.sdk.test_sso_oidc import make_org, start_url
from tests.support import IN_CI


@contextmanager
def idp_serving(tmp: Path, email: str) -> Iterator[tuple[SAMLIdP, dict[str, Any]]]:
    """The IdP's web front on http://127.0.0.2 (another site than keystile's 127.0.0.1): its SSO
    URL takes the AuthnRequest and answers with the form a real IdP's page auto-submits."""
    state: dict[str, Any] = {}

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        idp: SAMLIdP = state["idp"]
        location = f"{idp.sso_url}?{environ.get('QUERY_STRING', '')}"
        request = idp.receive(location, state["sp_metadata"])
        form = idp.respond(
            state["sp_metadata"],
            email=email,
            acs_url=state["acs_url"],
            audience=state["audience"],
            request=request,
            attributes={"user.email": [email]},
        )
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in form.fields.items()
        )
        body = (
            f'<form id="f" method="post" action="{html.escape(form.acs_url)}">{inputs}</form>'
            '<script>document.getElementById("f").submit()</script>'
        )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    server = make_server("127.0.0.2", 0, app, threaded=True)
    state["idp"] = SAMLIdP(tmp, sso_url=f"http://127.0.0.2:{server.server_port}/sso")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state["idp"], state
    finally:
        server.shutdown()
        thread.join(10)


def test_a_saml_login_clicked_through_in_chromium_signs_the_person_in(b2b, project, tmp_path):
    if xmlsec1() is None:
        if IN_CI:
            pytest.fail("the xmlsec1 program is not installed; CI needs it (Debian package xmlsec1)")
        pytest.skip("the xmlsec1 program is not installed (Debian package xmlsec1)")
    org = make_org(b2b, sso_jit_provisioning="ALL_ALLOWED")
    email = new_email("ada")
    with idp_serving(tmp_path / "idp", email) as (idp, state), app_serving(project) as app_url:
        created = b2b.sso.saml.create_connection(organization_id=org.organization_id).connection
        connection = b2b.sso.saml.update_connection(
            organization_id=org.organization_id,
            connection_id=created.connection_id,
            idp_entity_id=idp.entity_id,
            idp_sso_url=idp.sso_url,
            x509_certificate=idp.certificate,
            attribute_mapping={"email": "user.email"},
        ).connection
        state["sp_metadata"] = requests.get(connection.audience_uri, timeout=10).content
        state["acs_url"], state["audience"] = connection.acs_url, connection.audience_uri
        back_to = f"{app_url}/authenticate"
        with chromium() as page:
            page.open(
                start_url(
                    project,
                    connection_id=connection.connection_id,
                    login_redirect_url=back_to,
                    signup_redirect_url=back_to,
                )
            )
            page.wait_for_url(lambda url: url.startswith(back_to), "the app", timeout=30)
            page.wait_for("the signed-in page", lambda: f"Signed in as {email}" in page.html(), timeout=30)

    members = b2b.organizations.members.search(organization_ids=[org.organization_id]).members
    assert email in [m.email_address for m in members]
