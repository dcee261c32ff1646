"""The OpenID provider fixture does what the SSO and OAuth tests rely on: a code flow with
PKCE signed in over HTTP, ID tokens that verify against its JWKS with the account's claims,
userinfo, a wrong password refused, consent declined, and tampered ID tokens on request."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests

from tests.idp.oidc import Account, Client, OpenIDProvider, SignInFailed

CALLBACK = "http://127.0.0.1:9/callback"  # never followed: sign_in stops at it


def authorize_url(provider: OpenIDProvider, client: Client, *, nonce: str, verifier: str) -> tuple[str, str]:
    config = requests.get(provider.discovery_url, timeout=10).json()
    state = secrets.token_urlsafe(16)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": CALLBACK,
        "scope": "openid email profile",
        "state": state,
        "nonce": nonce,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    return f"{config['authorization_endpoint']}?{urlencode(query)}", state


def sign_in_and_redeem(provider: OpenIDProvider, client: Client, account: Account) -> tuple[dict[str, Any], str]:
    """The token endpoint's answer after a whole sign-in, and the nonce sent."""
    nonce, verifier = secrets.token_urlsafe(16), secrets.token_urlsafe(48)
    url, state = authorize_url(provider, client, nonce=nonce, verifier=verifier)
    back = provider.sign_in(url, account)
    params = parse_qs(urlsplit(back).query)
    assert back.startswith(CALLBACK) and params["state"] == [state]
    config = requests.get(provider.discovery_url, timeout=10).json()
    resp = requests.post(
        config["token_endpoint"],
        data={
            "grant_type": "authorization_code",
            "code": params["code"][0],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
        auth=(client.client_id, client.client_secret),
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    return resp.json(), nonce


def verified_claims(provider: OpenIDProvider, client: Client, id_token: str) -> dict[str, Any]:
    config = requests.get(provider.discovery_url, timeout=10).json()
    key = jwt.PyJWKClient(config["jwks_uri"]).get_signing_key_from_jwt(id_token)
    return jwt.decode(id_token, key.key, algorithms=["RS256"], audience=client.client_id, issuer=provider.issuer)


@pytest.fixture
def client(oidc_provider: OpenIDProvider) -> Client:
    return oidc_provider.add_client(redirect_uris=[CALLBACK])


def test_a_code_flow_with_pkce_gives_a_verified_id_token_with_the_accounts_claims(oidc_provider, client):
    ada = oidc_provider.add_account(email="ada@acme.test", name="Ada Lovelace", hd="acme.test", tid="tenant-1")

    answer, nonce = sign_in_and_redeem(oidc_provider, client, ada)

    claims = verified_claims(oidc_provider, client, answer["id_token"])
    assert claims["sub"] == ada.sub and claims["nonce"] == nonce
    assert (claims["email"], claims["email_verified"], claims["name"]) == ("ada@acme.test", True, "Ada Lovelace")
    assert (claims["hd"], claims["tid"]) == ("acme.test", "tenant-1")
    config = requests.get(oidc_provider.discovery_url, timeout=10).json()
    userinfo = requests.get(
        config["userinfo_endpoint"], headers={"Authorization": f"Bearer {answer['access_token']}"}, timeout=10
    ).json()
    assert userinfo["email"] == "ada@acme.test" and userinfo["hd"] == "acme.test"


def test_a_wrong_password_is_refused(oidc_provider, client):
    ada = oidc_provider.add_account(email="ada@wrong.test")
    url, _ = authorize_url(oidc_provider, client, nonce="n", verifier=secrets.token_urlsafe(48))

    with pytest.raises(SignInFailed, match="Wrong login or password"):
        oidc_provider.sign_in(url, ada, password="not-it")


def test_declining_consent_sends_access_denied_back(oidc_provider, client):
    ada = oidc_provider.add_account(email="ada@decline.test")
    url, state = authorize_url(oidc_provider, client, nonce="n", verifier=secrets.token_urlsafe(48))

    back = oidc_provider.sign_in(url, ada, consent=False)

    params = parse_qs(urlsplit(back).query)
    assert params["error"] == ["access_denied"] and params["state"] == [state]


def test_tampered_id_tokens_carry_the_claims_asked_for_under_the_providers_key(oidc_provider, client):
    ada = oidc_provider.add_account(email="ada@tamper.test")
    oidc_provider.tamper(client, aud="someone-else")

    answer, _ = sign_in_and_redeem(oidc_provider, client, ada)

    with pytest.raises(jwt.InvalidAudienceError):
        verified_claims(oidc_provider, client, answer["id_token"])
    oidc_provider.tamper(client, alg="none")
    answer, _ = sign_in_and_redeem(oidc_provider, client, ada)
    header = json.loads(base64.urlsafe_b64decode(answer["id_token"].split(".")[0] + "=="))
    assert header == {"alg": "none"} and answer["id_token"].endswith(".")
    oidc_provider.stop_tampering(client)
    answer, _ = sign_in_and_redeem(oidc_provider, client, ada)
    assert verified_claims(oidc_provider, client, answer["id_token"])["aud"] == client.client_id
