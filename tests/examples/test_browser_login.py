"""The Flask examples log in through a real browser (headless Chromium) with keystile's redirect
page on (ADR 0015): the browser fills the app's login form, opens the emailed link, and lands
on the app signed in: with JavaScript on, without a click on keystile's page; with it off,
after one click on its Continue button; and through an organization that requires MFA, with a
new TOTP. Each example serves on a port of its own."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pyotp
from werkzeug.serving import make_server

from keystile.core.redirect_urls import RedirectType
from tests.browser import Page, chromium
from tests.examples.conftest import example_config, load_example
from tests.support import REDIRECT_PATH, allow_redirect


@contextmanager
def serving(folder: str, project: Any) -> Iterator[str]:
    """examples/<folder> served on a free port, allowed as the project's redirect URL; its URL."""
    apps: dict[str, Any] = {}  # the app needs its own URL, known once the port is bound
    server = make_server("127.0.0.1", 0, lambda environ, start: apps["app"](environ, start), threaded=True)
    app_url = f"http://127.0.0.1:{server.server_port}"
    apps["app"] = load_example(folder).create_app({**example_config(project), "APP_URL": app_url})
    allow_redirect(project, f"{app_url}/authenticate", *RedirectType)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app_url
    finally:
        server.shutdown()
        thread.join(10)


def request_link(page: Page, app_url: str, login_path: str, email: str, inbox: Any) -> str:
    """Fill the app's login form in the browser and submit it; the emailed link."""
    page.open(app_url + login_path)
    page.wait_for("the login form", lambda: page.has('input[name="email"]'))
    page.type_into('input[name="email"]', email)
    page.click('button[type="submit"]')
    page.wait_for("the app's answer", lambda: "Check your email" in page.html())
    link = inbox.latest_emailed_link(email)
    assert urlsplit(link).path == REDIRECT_PATH  # the redirect page is on
    return link


def test_consumer_example_with_javascript_lands_signed_in_without_a_click(project, inbox, email):
    with serving("consumer-magic-link", project) as app_url, chromium() as page:
        link = request_link(page, app_url, "/login", email, inbox)
        page.open(link)
        page.wait_for_url(lambda url: url == f"{app_url}/dashboard", "the app's dashboard")
        page.wait_for("the signed-in page", lambda: email in page.html())


def test_consumer_example_without_javascript_lands_signed_in_after_one_click(project, inbox, email):
    with serving("consumer-magic-link", project) as app_url, chromium(javascript=False) as page:
        link = request_link(page, app_url, "/login", email, inbox)
        page.open(link)
        page.wait_for("keystile's Continue button", lambda: page.has("form#continue button"))
        assert urlsplit(page.url).path == REDIRECT_PATH  # no script: the page waits for the person
        page.click("form#continue button")
        page.wait_for_url(lambda url: url == f"{app_url}/dashboard", "the app's dashboard")
        page.wait_for("the signed-in page", lambda: email in page.html())


def test_b2b_discovery_example_with_javascript_lands_on_the_organization_picker(project, inbox, email):
    with serving("b2b-discovery-flask", project) as app_url, chromium() as page:
        link = request_link(page, app_url, "/", email, inbox)
        page.open(link)
        page.wait_for_url(lambda url: url == f"{app_url}/organizations", "the organization picker")
        page.wait_for("the signed-in page", lambda: email in page.html())


def test_b2b_discovery_example_creates_an_mfa_organization_and_signs_in_with_a_new_totp(project, inbox, email):
    with serving("b2b-discovery-flask", project) as app_url, chromium() as page:
        page.open(request_link(page, app_url, "/", email, inbox))
        page.wait_for_url(lambda url: url == f"{app_url}/organizations", "the organization picker")
        page.wait_for("the create form", lambda: page.has('input[name="organization_name"]'))
        page.type_into('input[name="organization_name"]', "Acme Vault")
        page.click('input[name="require_mfa"]')
        page.click('form[action="/organizations/create"] button')
        page.wait_for_url(lambda url: url == f"{app_url}/mfa/enroll", "the TOTP enrolment page")
        page.wait_for("the QR code", lambda: page.has("img[src^='data:image/png']"))
        secret = re.search(r'<code id="secret">([A-Z2-7]+)</code>', page.html())
        assert secret, page.html()
        page.type_into('input[name="code"]', pyotp.TOTP(secret.group(1)).now())
        page.click('form[action="/mfa"] button')
        page.wait_for_url(lambda url: url == f"{app_url}/dashboard", "the app's dashboard")
        page.wait_for("the signed-in page", lambda: f"Welcome, {email}" in page.html())
