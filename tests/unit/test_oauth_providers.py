"""The provider registry (oauth/providers.py): each provider's answer read as Stytch reads it,
and a project's overrides applied. Pure functions: the answers are the providers' documented
shapes (the login tests speak to a real OpenID provider)."""

from __future__ import annotations

import pytest

from keystile.oauth import providers
from keystile.oauth.registrations import check_settings


def read(name: str, **answers: object) -> providers.Profile:
    return providers.PROVIDERS[name].read(answers)


def test_google_reads_the_id_token_and_userinfo_with_its_hosted_domain():
    profile = read(
        "google",
        id_token={"sub": "1080", "email": "ada@acme.test", "email_verified": True, "hd": "acme.test"},
        userinfo={"sub": "1080", "given_name": "Ada", "family_name": "Lovelace", "picture": "https://p/a"},
    )
    assert (profile.subject, profile.email, profile.email_verified) == ("1080", "ada@acme.test", True)
    assert (profile.first_name, profile.last_name, profile.tenant) == ("Ada", "Lovelace", "acme.test")


def test_microsoft_takes_preferred_username_and_its_tenant():
    profile = read("microsoft", id_token={"sub": "s", "tid": "tenant-1", "preferred_username": "ada@contoso.test"})
    assert (profile.email, profile.email_verified, profile.tenant) == ("ada@contoso.test", False, "tenant-1")
    assert read("microsoft", id_token={"sub": "s", "xms_edov": True, "email": "a@b.test"}).email_verified


def test_apple_reads_the_name_posted_once():
    profile = read(
        "apple",
        id_token={"sub": "001", "email": "x@privaterelay.appleid.com", "email_verified": "true"},
        apple_user={"name": {"firstName": "Ada", "lastName": "Lovelace"}},
    )
    assert profile.email_verified and (profile.first_name, profile.last_name) == ("Ada", "Lovelace")


def test_github_takes_the_primary_verified_address_and_organizations():
    profile = read(
        "github",
        userinfo={"id": 583231, "login": "octocat", "name": None, "email": "public@x.test", "avatar_url": "a"},
        emails=[
            {"email": "other@x.test", "primary": False, "verified": True},
            {"email": "octo@x.test", "primary": True, "verified": True},
        ],
        orgs=[{"id": 1, "login": "acme"}, {"id": 2, "login": "beta"}],
    )
    assert (profile.subject, profile.email, profile.email_verified) == ("583231", "octo@x.test", True)
    assert profile.name == "octocat" and profile.tenants == ("1", "2")


def test_slack_hubspot_and_discord_shapes():
    slack = read("slack", id_token={"sub": "U1", "https://slack.com/team_id": "T9", "email": "a@b.test"})
    assert slack.tenant == "T9"
    hub = read("hubspot", userinfo={"user": "a@b.test", "user_id": 42, "hub_id": 777})
    assert (hub.subject, hub.email, hub.tenant) == ("42", "a@b.test", "777")
    discord = read(
        "discord", userinfo={"id": "80", "username": "ada", "email": "a@b.test", "verified": True, "avatar": "h"}
    )
    assert discord.email_verified and discord.picture == "https://cdn.discordapp.com/avatars/80/h.png"


def test_nested_user_endpoints():
    assert read("coinbase", userinfo={"data": {"id": "c1", "name": "Ada L", "email": "a@b.test"}}).subject == "c1"
    assert read("tiktok", userinfo={"data": {"user": {"open_id": "t1", "display_name": "ada"}}}).subject == "t1"
    assert read("twitter", userinfo={"data": {"id": "x1", "name": "Ada"}}).email is None
    snap = read("snapchat", userinfo={"data": {"me": {"externalId": "s1", "displayName": "Ada"}}})
    assert snap.subject == "s1" and snap.first_name == "Ada"


@pytest.mark.parametrize("answer", [{}, {"sub": ""}, {"sub": True}, {"sub": None}])
def test_an_answer_without_a_subject_names_nobody(answer):
    with pytest.raises(providers.ProfileError):
        read("google", id_token=answer)


def test_every_provider_has_https_endpoints_and_openid_ones_their_keys():
    for provider in providers.PROVIDERS.values():
        assert provider.authorize_url.startswith("https://") and provider.token_url.startswith("https://")
        assert provider.scopes and provider.console
        if provider.oidc:
            assert provider.jwks_url.startswith("https://"), provider.name
    assert not set(providers.NOT_SERVED) & set(providers.PROVIDERS)


def test_overrides_replace_endpoints_and_scopes_and_are_checked():
    google = providers.PROVIDERS["google"]
    local = google.configured({"issuer": "http://127.0.0.1:9/", "scopes": ["openid"], "userinfo_url": ""})
    assert (local.issuer, local.scopes, local.userinfo_url) == ("http://127.0.0.1:9/", ("openid",), "")
    assert local.token_url == google.token_url
    with pytest.raises(ValueError, match="unknown OAuth client setting"):
        check_settings("google", {"token_uri": "https://x"})
    with pytest.raises(ValueError, match="scope names"):
        check_settings("google", {"scopes": ["openid email"]})
    with pytest.raises(ValueError, match="no OAuth provider"):
        check_settings("steam", {})


def test_what_a_provider_says_is_made_storable():
    from keystile.oauth.callback import clean

    said = providers.Profile(
        subject="s1",
        email="not an address",
        email_verified=True,
        name="Ada\x00",
        picture="https://p/" + "x" * 5000,
        tenants=("T1", "\ud800"),
        tenant="T1",
    )
    kept = clean(said)
    assert (kept.email, kept.email_verified, kept.name, kept.picture) == (None, False, "", "")
    assert kept.tenants == ("T1",) and kept.tenant == "T1"
    assert clean(providers.Profile(subject="s", email=" ada@acme.test ", email_verified=True)).email_verified
    for subject in ("x" * 256, "a\x00b"):
        with pytest.raises(providers.ProfileError):
            clean(providers.Profile(subject=subject))
