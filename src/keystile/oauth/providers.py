"""The OAuth providers keystile logs people in with: where each one's authorize, token, user
and key endpoints are, which scopes it is asked for by default, and how to read a person
(subject, email, whether the provider verified it, name, picture, locale, tenant) from what
it answers.

Stytch's consumer list, less the providers that do not speak OAuth 2 or OpenID Connect
(Steam speaks OpenID 2.0) or whose endpoints belong to each customer's own shop (Shopify).
Every URL here is a default: a project's client configuration (`oauth_clients`, keystile.toml
`[projects.oauth.<provider>]`, `keystile oauth set`) may point any of them elsewhere, which is
how tests reach a local OpenID provider.

Nothing here performs I/O; `oauth/client.py` talks to the providers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

# The signature algorithms an ID token may use: never `none`, never an HMAC keyed with the
# client secret (a provider's token is verified against its published keys).
ID_TOKEN_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")

# The URL fields a configuration may override (besides `scopes`).
URL_FIELDS = ("authorize_url", "token_url", "userinfo_url", "jwks_url", "issuer", "emails_url", "orgs_url")


@dataclass(frozen=True)
class Profile:
    """A person as a provider describes them, in Stytch's terms."""

    subject: str
    email: str | None = None
    email_verified: bool = False
    first_name: str = ""
    last_name: str = ""
    name: str = ""
    picture: str = ""
    locale: str = ""
    # The provider's tenants the person belongs to: Google's hosted domain (`hd`), Microsoft's
    # tenant (`tid`), Slack's team, HubSpot's hub, GitHub's organizations (by id).
    tenants: tuple[str, ...] = ()
    # The one tenant the login was made in, where the provider has one (`hd`, `tid`, team, hub).
    tenant: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "subject": self.subject,
            "email": self.email,
            "email_verified": self.email_verified,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "name": self.name,
            "picture": self.picture,
            "locale": self.locale,
            "tenants": list(self.tenants),
            "tenant": self.tenant,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Profile:
        return cls(
            subject=data["subject"],
            email=data.get("email"),
            email_verified=bool(data.get("email_verified")),
            first_name=data.get("first_name") or "",
            last_name=data.get("last_name") or "",
            name=data.get("name") or "",
            picture=data.get("picture") or "",
            locale=data.get("locale") or "",
            tenants=tuple(data.get("tenants") or ()),
            tenant=data.get("tenant"),
        )


class ProfileError(ValueError):
    """The provider's answer names no subject: nobody can be logged in from it."""


# What a provider answered at the callback: the ID token's verified claims (OIDC), its user
# endpoint's JSON, and any further answers (GitHub's `emails`, `orgs`), by name.
Answers = Mapping[str, Any]
Reader = Callable[[Answers], Profile]


@dataclass(frozen=True)
class Provider:
    """One provider's defaults. `issuer` is set for OpenID Connect providers only: for them an
    ID token is required and verified (issuer, audience = client id, expiry, nonce, algorithm)
    against `jwks_url`. `{tenant}` in an issuer stands for the token's own tenant (Microsoft's
    multi-tenant endpoints), checked to be the token's `tid`."""

    name: str
    authorize_url: str
    token_url: str
    scopes: tuple[str, ...]
    read: Reader
    userinfo_url: str = ""
    jwks_url: str = ""
    issuer: str = ""
    emails_url: str = ""
    orgs_url: str = ""
    # How the client authenticates at the token endpoint (RFC 6749 §2.3.1).
    token_auth: Literal["client_secret_post", "client_secret_basic"] = "client_secret_post"
    # The name of the client id in the authorize request (TikTok calls it `client_key`).
    client_id_param: str = "client_id"
    scope_separator: str = " "
    # Added to every authorize request (a caller's provider params may replace them).
    authorize_params: Mapping[str, str] = field(default_factory=dict)
    # Where to paste the callback URL; for docs/sso.md and `keystile oauth providers`.
    console: str = ""

    @property
    def oidc(self) -> bool:
        return bool(self.issuer)

    def configured(self, overrides: Mapping[str, Any]) -> Provider:
        """This provider with a project's overrides applied (URLs, `scopes`)."""
        changes: dict[str, Any] = {k: str(overrides[k]) for k in URL_FIELDS if overrides.get(k) is not None}
        if overrides.get("scopes"):
            changes["scopes"] = tuple(overrides["scopes"])
        return replace(self, **changes) if changes else self


# --- Reading a person from a provider's answers ---


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _subject(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        raise ProfileError("the provider's answer names no subject")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return value
    raise ProfileError("the provider's answer names no subject")


def _verified(value: Any) -> bool:
    """`email_verified` as providers send it: a boolean, or (Apple) the string "true"."""
    return value is True or value == "true"


def _split(name: str) -> tuple[str, str]:
    first, _, last = name.strip().partition(" ")
    return first, last.strip()


def _claims(answers: Answers) -> dict[str, Any]:
    """An OIDC provider's ID token claims, completed by its userinfo answer (whose `sub` must
    be the ID token's: oauth/client.py checks it)."""
    merged = dict(answers.get("id_token") or {})
    merged.update(answers.get("userinfo") or {})
    return merged


def _oidc(answers: Answers, tenant_claim: str | None = None) -> Profile:
    c = _claims(answers)
    name = _text(c.get("name"))
    first, last = _text(c.get("given_name")), _text(c.get("family_name"))
    if not (first or last) and name:
        first, last = _split(name)
    tenant = _text(c.get(tenant_claim)) if tenant_claim else ""
    return Profile(
        subject=_subject(c.get("sub")),
        email=_text(c.get("email")) or None,
        email_verified=_verified(c.get("email_verified")),
        first_name=first,
        last_name=last,
        name=name or f"{first} {last}".strip(),
        picture=_text(c.get("picture")),
        locale=_text(c.get("locale")),
        tenants=(tenant,) if tenant else (),
        tenant=tenant or None,
    )


def read_google(answers: Answers) -> Profile:
    return _oidc(answers, "hd")


def read_microsoft(answers: Answers) -> Profile:
    c = _claims(answers)
    profile = _oidc(answers, "tid")
    # Entra ID does not verify email claims; `xms_edov` says the domain owner verified it.
    verified = _verified(c.get("email_verified")) or _verified(c.get("xms_edov"))
    email = profile.email or _text(c.get("preferred_username")) or None
    return replace(profile, email=email if email and "@" in email else None, email_verified=verified)


def read_slack(answers: Answers) -> Profile:
    return _oidc(answers, "https://slack.com/team_id")


def read_salesforce(answers: Answers) -> Profile:
    c = _claims(answers)
    profile = _oidc(answers)
    org = _text(c.get("organization_id"))
    return replace(profile, tenants=(org,) if org else (), tenant=org or None)


def read_apple(answers: Answers) -> Profile:
    """Apple has no user endpoint: the ID token says who, and the first authorization's
    form post (`user`, sent once) says the name."""
    profile = _oidc(answers)
    user = answers.get("apple_user") or {}
    name = user.get("name") if isinstance(user, dict) else None
    if isinstance(name, dict):
        first, last = _text(name.get("firstName")), _text(name.get("lastName"))
        profile = replace(profile, first_name=first, last_name=last, name=f"{first} {last}".strip())
    return profile


def read_github(answers: Answers) -> Profile:
    """GET /user; the primary verified address from GET /user/emails when fetched; the
    organizations (ids) from GET /user/orgs when fetched."""
    u = answers.get("userinfo") or {}
    email, verified = _text(u.get("email")) or None, False
    for entry in answers.get("emails") or []:
        if isinstance(entry, dict) and entry.get("primary"):
            email, verified = _text(entry.get("email")) or None, entry.get("verified") is True
    name = _text(u.get("name")) or _text(u.get("login"))
    first, last = _split(name)
    orgs = tuple(str(o["id"]) for o in answers.get("orgs") or [] if isinstance(o, dict) and o.get("id") is not None)
    return Profile(
        subject=_subject(u.get("id")),
        email=email,
        email_verified=verified,
        first_name=first,
        last_name=last,
        name=name,
        picture=_text(u.get("avatar_url")),
        tenants=orgs,
    )


def read_hubspot(answers: Answers) -> Profile:
    """HubSpot's access-token information: `user` (the address), `user_id`, `hub_id`."""
    u = answers.get("userinfo") or {}
    hub = u.get("hub_id")
    tenant = str(hub) if hub is not None and not isinstance(hub, bool) else ""
    return Profile(
        subject=_subject(u.get("user_id")),
        email=_text(u.get("user")) or None,
        email_verified=bool(_text(u.get("user"))),
        tenants=(tenant,) if tenant else (),
        tenant=tenant or None,
    )


def read_discord(answers: Answers) -> Profile:
    u = answers.get("userinfo") or {}
    subject = _subject(u.get("id"))
    name = _text(u.get("global_name")) or _text(u.get("username"))
    avatar = _text(u.get("avatar"))
    first, last = _split(name)
    return Profile(
        subject=subject,
        email=_text(u.get("email")) or None,
        email_verified=u.get("verified") is True,
        first_name=first,
        last_name=last,
        name=name,
        picture=f"https://cdn.discordapp.com/avatars/{subject}/{avatar}.png" if avatar else "",
        locale=_text(u.get("locale")),
    )


def read_facebook(answers: Answers) -> Profile:
    u = answers.get("userinfo") or {}
    picture = ((u.get("picture") or {}).get("data") or {}).get("url") if isinstance(u.get("picture"), dict) else ""
    email = _text(u.get("email")) or None
    return Profile(
        subject=_subject(u.get("id")),
        # Facebook returns an address only once its owner confirmed it.
        email=email,
        email_verified=email is not None,
        first_name=_text(u.get("first_name")),
        last_name=_text(u.get("last_name")),
        name=_text(u.get("name")),
        picture=_text(picture),
    )


def _plain(
    subject: str, email: str = "email", name: str = "name", picture: str = "", *, data: str = "", verified: str = ""
) -> Reader:
    """A reader for a user endpoint answering flat JSON (under `data` when named)."""

    def read(answers: Answers) -> Profile:
        u = answers.get("userinfo") or {}
        for key in data.split(".") if data else ():
            u = u.get(key) or {} if isinstance(u, dict) else {}
        full = _text(u.get(name))
        first, last = _split(full)
        address = _text(u.get(email)) or None
        return Profile(
            subject=_subject(u.get(subject)),
            email=address,
            email_verified=(u.get(verified) is True) if verified else False,
            first_name=first,
            last_name=last,
            name=full,
            picture=_text(u.get(picture)) if picture else "",
        )

    return read


def read_spotify(answers: Answers) -> Profile:
    profile = _plain("id", name="display_name")(answers)
    images = (answers.get("userinfo") or {}).get("images") or []
    url = images[0].get("url") if images and isinstance(images[0], dict) else ""
    return replace(profile, picture=_text(url))


def read_bitbucket(answers: Answers) -> Profile:
    u = answers.get("userinfo") or {}
    name = _text(u.get("display_name"))
    first, last = _split(name)
    email, verified = None, False
    for entry in (answers.get("emails") or {}).get("values") or [] if isinstance(answers.get("emails"), dict) else []:
        if isinstance(entry, dict) and entry.get("is_primary"):
            email, verified = _text(entry.get("email")) or None, entry.get("is_confirmed") is True
    avatar = ((u.get("links") or {}).get("avatar") or {}).get("href") if isinstance(u.get("links"), dict) else ""
    return Profile(
        subject=_subject(u.get("uuid") or u.get("account_id")),
        email=email,
        email_verified=verified,
        first_name=first,
        last_name=last,
        name=name,
        picture=_text(avatar),
    )


def read_snapchat(answers: Answers) -> Profile:
    me = ((answers.get("userinfo") or {}).get("data") or {}).get("me") or {}
    name = _text(me.get("displayName"))
    first, last = _split(name)
    avatar = (me.get("bitmoji") or {}).get("avatar") if isinstance(me.get("bitmoji"), dict) else ""
    return Profile(
        subject=_subject(me.get("externalId")), first_name=first, last_name=last, name=name, picture=_text(avatar)
    )


PROVIDERS: dict[str, Provider] = {
    p.name: p
    for p in (
        Provider(
            "google",
            "https://accounts.google.com/o/oauth2/v2/auth",
            "https://oauth2.googleapis.com/token",
            ("openid", "email", "profile"),
            read_google,
            userinfo_url="https://openidconnect.googleapis.com/v1/userinfo",
            jwks_url="https://www.googleapis.com/oauth2/v3/certs",
            issuer="https://accounts.google.com",
            authorize_params={"access_type": "offline"},
            console="Google Cloud console, APIs & Services > Credentials > OAuth client ID (Web application)",
        ),
        Provider(
            "microsoft",
            "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            ("openid", "email", "profile", "offline_access"),
            read_microsoft,
            userinfo_url="https://graph.microsoft.com/oidc/userinfo",
            jwks_url="https://login.microsoftonline.com/common/discovery/v2.0/keys",
            issuer="https://login.microsoftonline.com/{tenant}/v2.0",
            console="Microsoft Entra admin center, App registrations > New registration (Web platform)",
        ),
        Provider(
            "apple",
            "https://appleid.apple.com/auth/authorize",
            "https://appleid.apple.com/auth/token",
            ("name", "email"),
            read_apple,
            jwks_url="https://appleid.apple.com/auth/keys",
            issuer="https://appleid.apple.com",
            # Apple posts the code (and, the first time, the name) back as a form.
            authorize_params={"response_mode": "form_post"},
            console="Apple Developer, Certificates, Identifiers & Profiles > Services IDs (Sign in with Apple)",
        ),
        Provider(
            "github",
            "https://github.com/login/oauth/authorize",
            "https://github.com/login/oauth/access_token",
            ("read:user", "user:email"),
            read_github,
            userinfo_url="https://api.github.com/user",
            emails_url="https://api.github.com/user/emails",
            console="GitHub, Settings > Developer settings > OAuth Apps > New OAuth App",
        ),
        Provider(
            "gitlab",
            "https://gitlab.com/oauth/authorize",
            "https://gitlab.com/oauth/token",
            ("openid", "email", "profile"),
            _oidc,
            userinfo_url="https://gitlab.com/oauth/userinfo",
            jwks_url="https://gitlab.com/oauth/discovery/keys",
            issuer="https://gitlab.com",
            console="GitLab, User settings > Applications",
        ),
        Provider(
            "discord",
            "https://discord.com/oauth2/authorize",
            "https://discord.com/api/oauth2/token",
            ("identify", "email"),
            read_discord,
            userinfo_url="https://discord.com/api/users/@me",
            console="Discord Developer Portal, Applications > OAuth2 > Redirects",
        ),
        Provider(
            "facebook",
            "https://www.facebook.com/v19.0/dialog/oauth",
            "https://graph.facebook.com/v19.0/oauth/access_token",
            ("email", "public_profile"),
            read_facebook,
            userinfo_url="https://graph.facebook.com/v19.0/me?fields=id,name,first_name,last_name,email,picture",
            scope_separator=",",
            console="Meta for Developers, your app > Facebook Login > Settings > Valid OAuth Redirect URIs",
        ),
        Provider(
            "linkedin",
            "https://www.linkedin.com/oauth/v2/authorization",
            "https://www.linkedin.com/oauth/v2/accessToken",
            ("openid", "profile", "email"),
            _oidc,
            userinfo_url="https://api.linkedin.com/v2/userinfo",
            jwks_url="https://www.linkedin.com/oauth/openid/jwks",
            issuer="https://www.linkedin.com/oauth",
            console="LinkedIn Developers, your app > Auth > Authorized redirect URLs",
        ),
        Provider(
            "slack",
            "https://slack.com/openid/connect/authorize",
            "https://slack.com/api/openid.connect.token",
            ("openid", "email", "profile"),
            read_slack,
            userinfo_url="https://slack.com/api/openid.connect.userInfo",
            jwks_url="https://slack.com/openid/connect/keys",
            issuer="https://slack.com",
            console="Slack API, Your Apps > OAuth & Permissions > Redirect URLs",
        ),
        Provider(
            "hubspot",
            "https://app.hubspot.com/oauth/authorize",
            "https://api.hubapi.com/oauth/v1/token",
            ("oauth",),
            read_hubspot,
            # The access token's own information names the user and the hub.
            userinfo_url="https://api.hubapi.com/oauth/v1/access-tokens/{access_token}",
            console="HubSpot developer account, Apps > your app > Auth > Redirect URLs",
        ),
        Provider(
            "amazon",
            "https://www.amazon.com/ap/oa",
            "https://api.amazon.com/auth/o2/token",
            ("profile",),
            _plain("user_id"),
            userinfo_url="https://api.amazon.com/user/profile",
            console="Amazon Developer Console, Login with Amazon > Security Profiles > Web Settings",
        ),
        Provider(
            "bitbucket",
            "https://bitbucket.org/site/oauth2/authorize",
            "https://bitbucket.org/site/oauth2/access_token",
            ("account", "email"),
            read_bitbucket,
            userinfo_url="https://api.bitbucket.org/2.0/user",
            emails_url="https://api.bitbucket.org/2.0/user/emails",
            token_auth="client_secret_basic",
            console="Bitbucket, Workspace settings > OAuth consumers > Add consumer",
        ),
        Provider(
            "coinbase",
            "https://login.coinbase.com/oauth2/auth",
            "https://login.coinbase.com/oauth2/token",
            ("wallet:user:read", "wallet:user:email"),
            _plain("id", picture="avatar_url", data="data"),
            userinfo_url="https://api.coinbase.com/v2/user",
            console="Coinbase Developer Platform, OAuth > Create client",
        ),
        Provider(
            "figma",
            "https://www.figma.com/oauth",
            "https://api.figma.com/v1/oauth/token",
            ("current_user:read",),
            _plain("id", name="handle", picture="img_url"),
            userinfo_url="https://api.figma.com/v1/me",
            token_auth="client_secret_basic",
            console="Figma, Developers > My apps > Create a new app > Callback",
        ),
        Provider(
            "salesforce",
            "https://login.salesforce.com/services/oauth2/authorize",
            "https://login.salesforce.com/services/oauth2/token",
            ("openid", "email", "profile", "refresh_token"),
            read_salesforce,
            userinfo_url="https://login.salesforce.com/services/oauth2/userinfo",
            jwks_url="https://login.salesforce.com/id/keys",
            issuer="https://login.salesforce.com",
            console="Salesforce Setup, App Manager > New Connected App > Callback URL",
        ),
        Provider(
            "snapchat",
            "https://accounts.snapchat.com/accounts/oauth2/auth",
            "https://accounts.snapchat.com/accounts/oauth2/token",
            (
                "https://auth.snapchat.com/oauth2/api/user.display_name",
                "https://auth.snapchat.com/oauth2/api/user.bitmoji.avatar",
                "https://auth.snapchat.com/oauth2/api/user.external_id",
            ),
            read_snapchat,
            userinfo_url="https://kit.snapchat.com/v1/me?query=%7Bme%7BexternalId%20displayName%20bitmoji%7Bavatar%7D%7D%7D",
            token_auth="client_secret_basic",
            console="Snap Kit developer portal, your app > Login Kit > Redirect URIs",
        ),
        Provider(
            "spotify",
            "https://accounts.spotify.com/authorize",
            "https://accounts.spotify.com/api/token",
            ("user-read-email", "user-read-private"),
            read_spotify,
            userinfo_url="https://api.spotify.com/v1/me",
            token_auth="client_secret_basic",
            console="Spotify for Developers, Dashboard > your app > Settings > Redirect URIs",
        ),
        Provider(
            "tiktok",
            "https://www.tiktok.com/v2/auth/authorize/",
            "https://open.tiktokapis.com/v2/oauth/token/",
            ("user.info.basic",),
            _plain("open_id", email="", name="display_name", picture="avatar_url", data="data.user"),
            userinfo_url="https://open.tiktokapis.com/v2/user/info/?fields=open_id,avatar_url,display_name",
            client_id_param="client_key",
            scope_separator=",",
            console="TikTok for Developers, your app > Login Kit > Redirect URI",
        ),
        Provider(
            "twitch",
            "https://id.twitch.tv/oauth2/authorize",
            "https://id.twitch.tv/oauth2/token",
            ("openid", "user:read:email"),
            _oidc,
            userinfo_url="https://id.twitch.tv/oauth2/userinfo",
            jwks_url="https://id.twitch.tv/oauth2/keys",
            issuer="https://id.twitch.tv/oauth2",
            console="Twitch Developer Console, Applications > Register Your Application > OAuth Redirect URLs",
        ),
        Provider(
            "twitter",
            "https://twitter.com/i/oauth2/authorize",
            "https://api.twitter.com/2/oauth2/token",
            ("users.read", "tweet.read", "offline.access"),
            _plain("id", email="", picture="profile_image_url", data="data"),
            userinfo_url="https://api.twitter.com/2/users/me?user.fields=profile_image_url",
            token_auth="client_secret_basic",
            console="X Developer Portal, Projects & Apps > your app > User authentication settings",
        ),
        Provider(
            "yahoo",
            "https://api.login.yahoo.com/oauth2/request_auth",
            "https://api.login.yahoo.com/oauth2/get_token",
            ("openid", "email", "profile"),
            _oidc,
            userinfo_url="https://api.login.yahoo.com/openid/v1/userinfo",
            jwks_url="https://api.login.yahoo.com/openid/v1/certs",
            issuer="https://api.login.yahoo.com",
            console="Yahoo Developer Network, My Apps > Create an App > Redirect URI(s)",
        ),
        Provider(
            "instagram",
            "https://www.instagram.com/oauth/authorize",
            "https://api.instagram.com/oauth/access_token",
            ("instagram_business_basic",),
            _plain("user_id", email="", name="username", picture="profile_picture_url"),
            userinfo_url="https://graph.instagram.com/me?fields=user_id,username,profile_picture_url",
            scope_separator=",",
            console="Meta for Developers, your app > Instagram > API setup with Instagram login > Business login",
        ),
    )
}

# Stytch's consumer providers that keystile does not serve, and why.
NOT_SERVED = {
    "steam": "Steam signs people in with OpenID 2.0, not OAuth 2 or OpenID Connect",
    "shopify": "Shopify's endpoints belong to each shop (<shop>.myshopify.com), not to one provider",
}


def get(name: str) -> Provider | None:
    return PROVIDERS.get(name)
