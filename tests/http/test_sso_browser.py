"""One whole OIDC SSO login clicked through in headless Chromium: the app's start link,
keystile's start route, the IdP's (panva's oidc-provider) login form and consent button, the
callback, and the app, which redeems the token with the SDK and shows who signed in. Cookies,
redirects and clicks are the browser's own."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs

import stytch
from werkzeug.serving import make_server

from keystile.core.redirect_urls import RedirectType
from tests.browser import chromium
from tests.flows import new_email
from tests.sdk.test_sso_oidc import make_org, oidc_connection, start_url
from tests.support import ProjectInfo, allow_redirect


@contextmanager
def app_serving(project: ProjectInfo) -> Iterator[str]:
    """A minimal app: /authenticate redeems the SSO token with the Python SDK and says who
    signed in. Its URL, allowed as a login and signup redirect URL."""
    client = stytch.B2BClient(project.project_id, project.secret, environment=project.server.base_url)

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        if environ["PATH_INFO"] != "/authenticate" or query.get("stytch_token_type") != ["sso"]:
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        resp = client.sso.authenticate(sso_token=query["token"][0])
        body = f"<p id='who'>Signed in as {html.escape(resp.member.email_address)}</p>"
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    server = make_server("127.0.0.1", 0, app, threaded=True)
    app_url = f"http://127.0.0.1:{server.server_port}"
    allow_redirect(project, f"{app_url}/authenticate", RedirectType.LOGIN, RedirectType.SIGNUP)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app_url
    finally:
        server.shutdown()
        thread.join(10)


def test_an_sso_login_clicked_through_in_chromium_signs_the_person_in(b2b, project, oidc_provider):
    org = make_org(b2b)
    connection = oidc_connection(b2b, oidc_provider, org.organization_id)
    email = new_email()
    account = oidc_provider.add_account(email=email, name="Ada", password="correct horse battery")

    with app_serving(project) as app_url, chromium() as page:
        back_to = f"{app_url}/authenticate"
        page.open(
            start_url(
                project,
                connection_id=connection.connection_id,
                login_redirect_url=back_to,
                signup_redirect_url=back_to,
            )
        )
        page.wait_for("the IdP's sign-in form", lambda: page.has("#login"))
        page.type_into("#login", account.login)
        page.type_into("#password", account.password)
        page.click("#sign-in")
        page.wait_for("the IdP's consent button", lambda: page.has("#continue"))
        page.click("#continue")
        page.wait_for_url(lambda url: url.startswith(back_to), "the app")
        page.wait_for("the signed-in page", lambda: f"Signed in as {email}" in page.html())

    members = b2b.organizations.members.search(organization_ids=[org.organization_id]).members
    assert [m.email_address for m in members] == [email]
