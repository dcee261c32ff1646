"""panva's oidc-provider (npm, a certified OpenID provider) as the identity provider of the
OIDC SSO and OAuth tests: `tests/idp/oidc_provider.mjs` started on a loopback port once per
test process, with clients and accounts registered per test, and its login and consent pages
driven over plain HTTP like a browser would.

    def test_login(oidc_provider):
        client = oidc_provider.add_client(redirect_uris=["http://127.0.0.1:4010/callback"])
        ada = oidc_provider.add_account(email="ada@acme.test", name="Ada", hd="acme.test")
        http = requests.Session()
        back = oidc_provider.sign_in(start_url, ada, http=http)  # the redirect to the callback
        ...

`oidc_provider` is a session fixture in tests/conftest.py (one node process per pytest
worker); a test that wants one of its own (another issuer) uses `start_oidc_provider()`.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests

from tests.support import IN_CI

TESTS_DIR = Path(__file__).resolve().parent.parent
NODE_DIR = TESTS_DIR / "node"
SCRIPT = Path(__file__).resolve().parent / "oidc_provider.mjs"


def _missing_tool(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"{reason}; CI needs it for the OpenID provider tests")
    pytest.skip(reason)


def node_with_modules() -> str:
    """The `node` binary, with tests/node's dependencies (oidc-provider, stytch) installed."""
    node_bin = shutil.which("node")
    if node_bin is None:
        _missing_tool("node is not installed")
    if not (NODE_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            _missing_tool("npm is not installed")
        command = [npm, "ci", "--no-audit", "--no-fund"]
        done = subprocess.run(command, cwd=NODE_DIR, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"{' '.join(command)} failed in {NODE_DIR}:\n{done.stdout}\n{done.stderr}"
    return node_bin  # type: ignore[return-value]


@dataclass(frozen=True)
class Client:
    """A client registered at the provider: what a connection or provider config is given."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


@dataclass(frozen=True)
class Account:
    """A person who can sign in at the provider, and the claims it releases about them."""

    login: str
    password: str
    claims: dict[str, Any] = field(default_factory=dict)

    @property
    def sub(self) -> str:
        return str(self.claims["sub"])


class SignInFailed(AssertionError):
    """The provider did not send the browser back to the relying party."""


class _Forms(HTMLParser):
    """The forms of a page: (action, method, {input name: value}), and an error paragraph."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, dict[str, str]]] = []
        self.error: str | None = None
        self._in_error = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append((values.get("action", ""), values.get("method", "get").lower(), {}))
        elif tag == "input" and self.forms and values.get("name"):
            self.forms[-1][2][values["name"]] = values.get("value", "")
        elif tag == "p" and values.get("id") == "error":
            self._in_error = True

    def handle_data(self, data: str) -> None:
        if self._in_error:
            self.error = (self.error or "") + data

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self._in_error = False


def _forms(html: str) -> _Forms:
    parser = _Forms()
    parser.feed(html)
    return parser


class OpenIDProvider:
    """A running oidc-provider: its issuer, and the calls that set it up and sign in at it."""

    def __init__(self, process: subprocess.Popen[str], issuer: str) -> None:
        self.process = process
        self.issuer = issuer
        self.discovery_url = f"{issuer}/.well-known/openid-configuration"

    def _post(self, path: str, body: dict[str, Any]) -> None:
        resp = requests.post(f"{self.issuer}/_fixture/{path}", json=body, timeout=10)
        assert resp.status_code == 200, f"oidc-provider refused {path}: {resp.text}"

    def add_client(
        self,
        *,
        redirect_uris: list[str],
        client_id: str | None = None,
        client_secret: str | None = None,
        **metadata: Any,
    ) -> Client:
        """Register a confidential client (client_secret_basic unless `metadata` says
        otherwise, e.g. token_endpoint_auth_method="client_secret_post")."""
        client = Client(
            client_id or f"client-{secrets.token_hex(8)}",
            client_secret or secrets.token_urlsafe(32),
            tuple(redirect_uris),
        )
        self._post(
            "clients",
            {
                "client_id": client.client_id,
                "client_secret": client.client_secret,
                "redirect_uris": list(redirect_uris),
                **metadata,
            },
        )
        return client

    def add_account(
        self,
        *,
        email: str,
        email_verified: bool = True,
        name: str | None = None,
        sub: str | None = None,
        password: str | None = None,
        login: str | None = None,
        **claims: Any,
    ) -> Account:
        """A person who signs in with `login` (the email unless given) and `password`; the ID
        token and userinfo carry `email`, `email_verified`, `name` and every extra claim (hd,
        tid, groups, ... or any name listed in OIDC_PROVIDER_EXTRA_CLAIMS) for the scopes asked."""
        all_claims: dict[str, Any] = {
            "sub": sub or f"sub-{secrets.token_hex(8)}",
            "email": email,
            "email_verified": email_verified,
            **claims,
        }
        if name is not None:
            all_claims["name"] = name
        account = Account(login or email, password or secrets.token_urlsafe(12), all_claims)
        self._post("accounts", {"login": account.login, "password": account.password, "claims": all_claims})
        return account

    def tamper(self, client: Client, *, alg: str | None = None, **claims: Any) -> None:
        """From now on, the ID tokens `client` receives carry `claims` (None removes one),
        re-signed with the provider's own key, or unsigned with `alg="none"`."""
        self._post("tamper", {"client_id": client.client_id, "claims": claims or None, "alg": alg})

    def stop_tampering(self, client: Client) -> None:
        self._post("tamper", {"client_id": client.client_id})

    def is_provider(self, url: str) -> bool:
        return url == self.issuer or url.startswith(self.issuer + "/")

    def sign_in(
        self,
        url: str,
        account: Account | None,
        *,
        http: requests.Session | None = None,
        password: str | None = None,
        consent: bool = True,
        max_hops: int = 20,
    ) -> str:
        """Follow `url` (a relying party's start URL or the provider's authorization URL) like a
        browser, sign in as `account` and consent, and return the URL the provider sends the
        browser back to (the relying party's callback, with `code` and `state`), not followed.
        `http` keeps the cookies (pass the one the rest of the test uses). An account already
        signed in at the provider in `http` may pass None."""
        http = http or requests.Session()
        current = url
        for _ in range(max_hops):
            resp = http.get(current, allow_redirects=False, timeout=10)
            if resp.is_redirect:
                target = urljoin(current, resp.headers["location"])
                if self.is_provider(current) and not self.is_provider(target):
                    return target
                current = target
                continue
            if resp.status_code != 200 or not self.is_provider(current):
                raise SignInFailed(f"{current} answered {resp.status_code}: {resp.text[:500]}")
            page = _forms(resp.text)
            if page.error:
                raise SignInFailed(page.error.strip())
            action, _, fields = page.forms[0] if page.forms else ("", "", {})
            if "password" in fields:
                if account is None:
                    raise SignInFailed("the provider asks to sign in and no account was given")
                fields.update(login=account.login, password=password or account.password)
            elif not consent:
                action = page.forms[-1][0]  # the Cancel form
            resp = http.post(urljoin(current, action), data=fields, allow_redirects=False, timeout=10)
            if resp.status_code == 200:
                page = _forms(resp.text)
                raise SignInFailed((page.error or resp.text[:500]).strip())
            if not resp.is_redirect:
                raise SignInFailed(f"{action} answered {resp.status_code}: {resp.text[:500]}")
            current = urljoin(current, resp.headers["location"])
            if not self.is_provider(current):
                return current
        raise SignInFailed(f"more than {max_hops} redirects from {url}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()


def follow(http: requests.Session, url: str, *, until: str, max_hops: int = 20) -> str:
    """Follow redirects from `url` with `http` until one points under `until` (an app's
    redirect URL, not served by anyone in the tests); that URL, not followed."""
    current = url
    for _ in range(max_hops):
        if current.startswith(until):
            return current
        resp = http.get(current, allow_redirects=False, timeout=10)
        if not resp.is_redirect:
            raise AssertionError(f"{current} answered {resp.status_code}, not a redirect: {resp.text[:500]}")
        current = urljoin(current, resp.headers["location"])
    raise AssertionError(f"more than {max_hops} redirects from {url}")


@contextmanager
def start_oidc_provider(*, extra_claims: tuple[str, ...] = ()) -> Iterator[OpenIDProvider]:
    """Start tests/idp/oidc_provider.mjs on a free loopback port; stopped on leaving."""
    node = node_with_modules()
    env_extra = {"OIDC_PROVIDER_EXTRA_CLAIMS": ",".join(extra_claims)} if extra_claims else {}
    with tempfile.TemporaryFile("w+") as errors:
        # stdin stays open: the provider exits when it closes, so it never outlives the tests.
        process = subprocess.Popen(
            [node, str(SCRIPT)],
            cwd=TESTS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
            env={**os.environ, **env_extra},
        )
        stdout = process.stdout
        assert stdout is not None
        ready: list[str] = []
        reader = threading.Thread(target=lambda: ready.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(30)
        if not (ready and ready[0]):
            process.kill()
            process.wait(10)
            errors.seek(0)
            raise AssertionError(f"oidc-provider did not start:\n{errors.read()}")
        provider = OpenIDProvider(process, json.loads(ready[0])["issuer"])
        try:
            yield provider
        finally:
            provider.stop()
