"""Emailed links go through keystile's redirect page (ADR 0015): what email scanners, link
previews and prefetches do there never reaches the app nor spends the token; a browser's click
(or its script) is forwarded to exactly the URL the app received before the page existed; a
project can turn the page off. Plus the truthful messages of a token that cannot be used."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from keystile.core.redirect_urls import RedirectType
from keystile.projects import service as projects
from tests.flows import discovery_signup, error_of, new_email, new_slug
from tests.support import (
    BROWSER_HEADERS,
    REDIRECT_PATH,
    REDIRECT_URL,
    ProjectInfo,
    allow_redirect,
    keystile_in_process,
    link_params,
    redirect_page_form,
    through_redirect_page,
)

CHROME = BROWSER_HEADERS["User-Agent"]
# Requests the page must never forward: (what, method, headers).
SCANNERS = [
    ("python-requests", {}),
    ("curl", {"User-Agent": "curl/8.5.0"}),
    ("no user agent", {"User-Agent": ""}),
    ("Slack preview", {"User-Agent": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"}),
    ("Teams/Skype preview", {"User-Agent": "Mozilla/5.0 (Windows NT 6.1; WOW64) SkypeUriPreview Preview/0.5"}),
    ("Facebook preview", {"User-Agent": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"}),
    ("Mimecast", {"User-Agent": "Mozilla/5.0 (compatible; Mimecast URL Protect)"}),
    ("Proofpoint", {"User-Agent": "Mozilla/5.0 Proofpoint URL Defense"}),
    ("Barracuda", {"User-Agent": "Mozilla/5.0 (compatible; Barracuda Link Protection)"}),
    ("browser-like scanner (Safe Links)", {"User-Agent": CHROME}),
    ("browser prefetch", {"User-Agent": CHROME, "Sec-Purpose": "prefetch"}),
]


def send_consumer_link(consumer: Any, inbox: Any) -> tuple[str, str]:
    email = new_email("scanned")
    consumer.magic_links.email.login_or_create(email=email)
    return email, inbox.latest_emailed_link(email)


def assert_token_still_works(consumer: Any, token: str) -> None:
    resp = consumer.magic_links.authenticate(token=token, session_duration_minutes=60)
    assert resp.session_token


def set_redirect(project: ProjectInfo, on: bool) -> None:
    server = project.server

    async def work() -> None:
        async with server.state.transaction() as conn:
            await projects.set_email_link_redirect(conn, project.project_id, on)

    server.run(work())


def opened(link: str, headers: dict[str, str], method: str = "GET") -> requests.Response:
    return requests.request(method, link, headers=headers, allow_redirects=False, timeout=10)


class TestEmailedLinks:
    def test_consumer_link_is_keystiles_page_with_stytchs_query(self, consumer, inbox, project):
        _, link = send_consumer_link(consumer, inbox)
        parts = urlsplit(link)
        assert f"{parts.scheme}://{parts.netloc}/" == project.server.base_url
        assert parts.path == REDIRECT_PATH
        params = link_params(link)
        assert list(params) == ["public_token", "stytch_token_type", "token"]
        assert params["public_token"] == project.public_token
        assert params["stytch_token_type"] == "magic_links"

    def test_the_app_receives_what_it_received_before(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        token = link_params(link)["token"]
        assert through_redirect_page(link) == f"{REDIRECT_URL}?stytch_token_type=magic_links&token={token}"

    def test_b2b_organization_link_keeps_the_slug_and_the_apps_own_query(self, b2b, inbox, project):
        allow_redirect(project, "http://localhost:3000/join?from=mail", RedirectType.INVITE)
        org = b2b.organizations.create(organization_name="Acme", organization_slug=new_slug())
        email = new_email("invitee")
        b2b.magic_links.email.invite(
            organization_id=org.organization.organization_id,
            email_address=email,
            invite_redirect_url="http://localhost:3000/join?from=mail",
        )
        link = inbox.latest_emailed_link(email)
        assert urlsplit(link).path == REDIRECT_PATH
        assert link_params(link)["stytch_token_type"] == "multi_tenant_magic_links"
        token = link_params(link)["token"]
        assert through_redirect_page(link) == (
            "http://localhost:3000/join?from=mail"
            f"&slug={org.organization.organization_slug}&stytch_token_type=multi_tenant_magic_links&token={token}"
        )

    def test_discovery_link_goes_through_the_page(self, b2b, inbox):
        email = new_email("discoverer")
        b2b.magic_links.email.discovery.send(email_address=email)
        link = inbox.latest_emailed_link(email)
        assert urlsplit(link).path == REDIRECT_PATH
        assert link_params(link)["stytch_token_type"] == "discovery"
        resp = b2b.magic_links.discovery.authenticate(
            discovery_magic_links_token=link_params(through_redirect_page(link))["token"]
        )
        assert resp.email_address == email

    def test_a_project_with_the_page_off_links_straight_to_the_app(self, consumer, inbox, project):
        set_redirect(project, False)
        _, link = send_consumer_link(consumer, inbox)
        assert link.startswith(REDIRECT_URL + "?stytch_token_type=magic_links&token=")
        set_redirect(project, True)
        _, link = send_consumer_link(consumer, inbox)
        assert urlsplit(link).path == REDIRECT_PATH


class TestScannersNeverSpendTheToken:
    @pytest.mark.parametrize(("what", "headers"), SCANNERS, ids=[s[0] for s in SCANNERS])
    def test_get_renders_the_page_and_forwards_nothing(self, consumer, inbox, what, headers):
        _, link = send_consumer_link(consumer, inbox)
        for _ in range(2):  # a scanner that fetches twice
            resp = opened(link, headers)
            assert resp.status_code == 200, what
            assert "location" not in resp.headers
            assert "localhost:3000" not in resp.text  # the app's URL is not on the page
        assert_token_still_works(consumer, link_params(link)["token"])

    def test_known_scanners_and_previews_get_no_script(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        for what, headers in SCANNERS:
            page = opened(link, headers).text
            assert ("<script" in page) is (what == "browser-like scanner (Safe Links)"), what

    def test_head_forwards_nothing(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        resp = opened(link, {"User-Agent": CHROME}, "HEAD")
        assert resp.status_code == 200 and "location" not in resp.headers
        assert_token_still_works(consumer, link_params(link)["token"])

    def test_post_without_the_pages_cookie_is_not_forwarded(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        form = redirect_page_form(opened(link, {"User-Agent": CHROME}).text)
        resp = requests.post(link.split("?")[0], data=form, headers=BROWSER_HEADERS, allow_redirects=False, timeout=10)
        assert resp.status_code == 200 and "location" not in resp.headers
        assert_token_still_works(consumer, link_params(link)["token"])

    @pytest.mark.parametrize(
        ("what", "change"),
        [
            ("a scanner's user agent", {"User-Agent": "Mozilla/5.0 (compatible; Mimecast URL Protect)"}),
            ("another site's form", {"Sec-Fetch-Site": "cross-site"}),
            ("a browser's submit nobody clicked", {"Sec-Fetch-User": None}),
        ],
    )
    def test_button_post_with_the_cookie_but_not_a_persons_click_is_not_forwarded(self, consumer, inbox, what, change):
        _, link = send_consumer_link(consumer, inbox)
        headers = {k: v for k, v in {**BROWSER_HEADERS, **change}.items() if v is not None}
        with requests.Session() as scanner:
            form = redirect_page_form(scanner.get(link, headers={"User-Agent": CHROME}, timeout=10).text)
            resp = scanner.post(link.split("?")[0], data=form, headers=headers, allow_redirects=False, timeout=10)
        assert resp.status_code == 200 and "location" not in resp.headers, what
        assert_token_still_works(consumer, link_params(link)["token"])

    def test_script_post_without_the_scripts_proof_is_not_forwarded(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        headers = {k: v for k, v in BROWSER_HEADERS.items() if k != "Sec-Fetch-User"}
        with requests.Session() as scanner:
            form = redirect_page_form(scanner.get(link, headers={"User-Agent": CHROME}, timeout=10).text)
            resp = scanner.post(
                link.split("?")[0], data={**form, "via": "script"}, headers=headers, allow_redirects=False, timeout=10
            )
        assert resp.status_code == 200 and "location" not in resp.headers
        assert_token_still_works(consumer, link_params(link)["token"])


class TestBrowsersAreForwarded:
    def test_a_click_is_forwarded_with_a_303_and_the_token_works(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        with requests.Session() as browser:
            page = browser.get(link, headers={"User-Agent": CHROME}, timeout=10)
            assert page.headers["cache-control"] == "no-store"
            assert "script-src 'nonce-" in page.headers["content-security-policy"]
            form = redirect_page_form(page.text)
            resp = browser.post(
                link.split("?")[0], data=form, headers=BROWSER_HEADERS, allow_redirects=False, timeout=10
            )
        assert resp.status_code == 303
        assert resp.headers["location"] == f"{REDIRECT_URL}?stytch_token_type=magic_links&token={form['token']}"
        assert_token_still_works(consumer, link_params(resp.headers["location"])["token"])

    def test_the_pages_script_is_forwarded_without_a_click(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        headers = {k: v for k, v in BROWSER_HEADERS.items() if k != "Sec-Fetch-User"}
        with requests.Session() as browser:
            form = redirect_page_form(browser.get(link, headers={"User-Agent": CHROME}, timeout=10).text)
            proof = form["nonce"][::-1]  # what the page's script computes
            resp = browser.post(
                link.split("?")[0],
                data={**form, "via": "script", "proof": proof},
                headers=headers,
                allow_redirects=False,
                timeout=10,
            )
        assert resp.status_code == 303
        assert_token_still_works(consumer, link_params(resp.headers["location"])["token"])

    def test_the_page_forwards_a_used_token_and_the_app_gets_the_reason(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        assert_token_still_works(consumer, link_params(link)["token"])
        forwarded = through_redirect_page(link)
        details = error_of(lambda: consumer.magic_links.authenticate(token=link_params(forwarded)["token"]))
        assert details.error_type == "unable_to_auth_magic_link"
        assert "already used" in details.error_message

    @pytest.mark.parametrize("change", ["token", "public_token"])
    def test_an_unknown_link_is_a_404_page(self, consumer, inbox, change):
        _, link = send_consumer_link(consumer, inbox)
        params = link_params(link)
        params[change] = params[change][:-4] + "AAAA"
        resp = requests.get(link.split("?")[0], params=params, headers={"User-Agent": CHROME}, timeout=10)
        assert resp.status_code == 404
        assert "not valid" in resp.text and "<form" not in resp.text


class TestWhyATokenCannotBeUsed:
    """Stytch's error_type stays; the message says which of the reasons it was."""

    def test_used(self, consumer, inbox):
        _, link = send_consumer_link(consumer, inbox)
        token = link_params(link)["token"]
        assert_token_still_works(consumer, token)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token))
        assert (details.status_code, details.error_type) == (401, "unable_to_auth_magic_link")
        assert "already used, at " in details.error_message

    def test_expired(self, consumer, inbox, server):
        email = new_email("late")
        consumer.magic_links.email.login_or_create(email=email, login_expiration_minutes=5, signup_expiration_minutes=5)
        token = inbox.latest_token(email)
        server.clock.advance(minutes=6)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token))
        assert details.error_type == "unable_to_auth_magic_link"
        assert "expired at " in details.error_message

    def test_revoked(self, consumer, inbox):
        email = new_email("invitee")
        consumer.magic_links.email.invite(email=email)
        token = inbox.latest_token(email)
        consumer.magic_links.email.revoke_invite(email=email)
        details = error_of(lambda: consumer.magic_links.authenticate(token=token))
        assert details.error_type == "unable_to_auth_magic_link"
        assert "revoked" in details.error_message

    def test_superseded_by_a_newer_email_update_link(self, b2b, inbox):
        member = discovery_signup(b2b, inbox, new_email("founder")).member
        first, second = new_email("first"), new_email("second")
        for address in (first, second):
            b2b.organizations.members.start_email_update(
                organization_id=member.organization_id, member_id=member.member_id, email_address=address
            )
        b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(second))
        details = error_of(lambda: b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(first)))
        assert details.error_type == "unable_to_auth_magic_link"
        assert "superseded" in details.error_message

    def test_unknown(self, consumer):
        details = error_of(lambda: consumer.magic_links.authenticate(token="A" * 44))
        assert (details.status_code, details.error_type) == (404, "magic_link_not_found")
        assert "never sent" in details.error_message


def test_cli_turns_the_page_off_and_on(tmp_path: Path):
    env = {"KEYSTILE_DATA_DIR": str(tmp_path)}
    created = keystile_in_process(env, "projects", "create", "--name", "app", "--json")
    project_id = json.loads(created.stdout)["project_id"]

    def listed() -> bool:
        rows = json.loads(keystile_in_process(env, "projects", "list", "--json").stdout)
        return next(r for r in rows if r["project_id"] == project_id)["email_link_redirect"]

    assert listed() is True
    off = keystile_in_process(env, "projects", "email-link-redirect", "--project", project_id, "--off")
    assert off.returncode == 0 and "straight to the app" in off.stderr
    assert listed() is False
    assert keystile_in_process(env, "projects", "email-link-redirect", "--project", project_id, "--on").returncode == 0
    assert listed() is True
    missing = keystile_in_process(env, "projects", "email-link-redirect", "--project", "project-test-nope", "--off")
    assert missing.returncode == 2


class TestHostileInput:
    @pytest.mark.parametrize(
        ("what", "body"),
        [
            ("a NUL in the token", b"public_token=p&stytch_token_type=magic_links&token=a%00b&nonce=n&via=button"),
            ("a NUL in the public token", b"public_token=a%00b&stytch_token_type=magic_links&token=t"),
            ("bytes that are not UTF-8", b"public_token=%ff%fe&token=%c3%28&via=%80"),
            ("a field past the string limit", b"token=" + b"a" * 5000 + b"&public_token=p"),
            ("no fields", b""),
            ("not a form", b'{"token": "t"}'),
        ],
    )
    def test_a_hostile_form_is_an_unknown_link_not_an_error(self, server, what, body):
        resp = requests.post(
            f"{server.base_url}{REDIRECT_PATH.lstrip('/')}",
            data=body,
            headers={**BROWSER_HEADERS, "Content-Type": "application/x-www-form-urlencoded"},
            allow_redirects=False,
            timeout=10,
        )
        assert resp.status_code == 404, what
        assert "not valid" in resp.text

    def test_a_hostile_query_is_refused_at_the_edge(self, server):
        resp = requests.get(
            f"{server.base_url}{REDIRECT_PATH.lstrip('/')}?public_token=a%00b&token=t",
            headers=BROWSER_HEADERS,
            timeout=10,
        )
        assert resp.status_code == 400
