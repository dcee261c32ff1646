"""Discovery: which organizations an email may enter, and turning an intermediate session
into a member session (stytch.com/docs/b2b/api/discovery-overview, reference §6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails, events
from keystile.core.area import Factor
from keystile.core.clock import rfc3339
from keystile.core.context import Context
from keystile.members import repository as members_repo
from keystile.members import service as members_service
from keystile.members.serializers import member_json
from keystile.organizations import repository as orgs_repo
from keystile.organizations import service as orgs_service
from keystile.organizations.repository import settings_of
from keystile.organizations.serializers import organization_json
from keystile.sessions import intermediate, logins
from keystile.sessions import service as sessions

MEMBERSHIP_TYPES = {"active": "active_member", "pending": "pending_member", "invited": "invited_member"}
# Where the email's own domain says little about the organization, its name comes from
# the local part instead (PY `discovery_organizations.create`, `organization_name`).
SECOND_LEVEL_LABELS = frozenset({"co", "com", "ac", "org", "net", "gov", "edu"})


def jit_allowed(org: Row[Any], email: str) -> bool:
    """The organization provisions members just in time for this email's domain."""
    settings = settings_of(org)
    allowed = {d.lower() for d in settings["email_allowed_domains"]}
    return settings["email_jit_provisioning"] == "RESTRICTED" and emails.domain(email) in allowed


def oauth_tenant_jit_allowed(org: Row[Any], provider: str | None, tenants: list[str] | tuple[str, ...]) -> bool:
    """The organization provisions members just in time for one of these tenants of this OAuth
    provider (`oauth_tenant_jit_provisioning` RESTRICTED to `allowed_oauth_tenants`: Google
    hosted domains, Microsoft tenants, Slack and HubSpot workspaces, GitHub organizations)."""
    settings = settings_of(org)
    if not provider or not tenants or settings.get("oauth_tenant_jit_provisioning") != "RESTRICTED":
        return False
    allowed = (settings.get("allowed_oauth_tenants") or {}).get(provider) or []
    wanted = {str(t).lower() for t in tenants if t}
    return any(isinstance(a, str) and a.lower() in wanted for a in allowed)


def ist_oauth(ist: Row[Any]) -> dict[str, Any]:
    """What an OAuth login put into an intermediate session: its `provider` and `tenants`
    (empty for other factors)."""
    found = (ist.data or {}).get("oauth")
    return found if isinstance(found, dict) else {}


def ist_email_verified(ist: Row[Any]) -> bool:
    """Whether the factor of an intermediate session proved its email (GitHub, Slack and HubSpot
    logins do not)."""
    return (ist.data or {}).get("email_verified", True) is not False


# The auth method (`allowed_auth_methods`) each primary factor of an intermediate session stands
# for: by type for emailed factors, by delivery method for OAuth.
AUTH_METHODS = {
    "magic_link": "magic_link",
    "otp": "email_otp",
    "password": "password",
    "oauth_google": "google_oauth",
    "oauth_microsoft": "microsoft_oauth",
    "oauth_slack": "slack_oauth",
    "oauth_github": "github_oauth",
    "oauth_hubspot": "hubspot_oauth",
}
# The session factor of a password, as the passwords area (above this one) declares it.
PASSWORD_FACTOR = Factor("password", "knowledge")
# The methods that prove an email address, offered when a factor did not (primary_required).
EMAIL_VERIFYING_METHODS = ("magic_link", "email_otp", "google_oauth", "microsoft_oauth")


def ist_primary_factor(ist: Row[Any]) -> dict[str, Any]:
    factors = (ist.data or {}).get("factors") or [{}]
    return factors[0] if isinstance(factors[0], dict) else {}


def ist_factor_type(ist: Row[Any]) -> str:
    """The primary factor an intermediate session carries, as AUTH_METHODS names it: magic_link,
    otp (email), password (a cross-organization password, passwords.discovery.authenticate) or
    the OAuth delivery method (oauth_google, ...)."""
    factor = ist_primary_factor(ist)
    kind = factor.get("delivery_method") if factor.get("type") == "oauth" else factor.get("type")
    return kind if kind in AUTH_METHODS else "magic_link"


def email_unverified_required(org: Row[Any], member: Row[Any] | None) -> dict[str, Any] | None:
    """The primary_required of a login whose factor did not prove the email (GitHub, Slack,
    HubSpot) for a Member whose email is not verified yet: one of the organization's methods
    that does (PY `oauth.authenticate`, "a provider that does not fully verify the email")."""
    if member is not None and (member.email_address_verified or member.is_breakglass):
        return None
    settings = settings_of(org)
    methods = list(EMAIL_VERIFYING_METHODS)
    if settings["auth_methods"] == "RESTRICTED":
        methods = [m for m in methods if m in settings["allowed_auth_methods"]]
    return {"allowed_auth_methods": methods}


def primary_required(
    org: Row[Any], member: Row[Any] | None = None, factor_type: str = "magic_link"
) -> dict[str, Any] | None:
    """An email magic link (or email code) does not satisfy an organization that restricts
    auth methods to others: the user must complete one of those first. Break-glass Members
    are exempt (PY `organizations.update`, `auth_methods`)."""
    if member is not None and member.is_breakglass:
        return None
    settings = settings_of(org)
    if settings["auth_methods"] == "RESTRICTED" and AUTH_METHODS[factor_type] not in settings["allowed_auth_methods"]:
        return {"allowed_auth_methods": list(settings["allowed_auth_methods"])}
    return None


def _entry(
    org: Row[Any],
    kind: str,
    member: Row[Any] | None,
    *,
    authenticated: bool,
    retired: dict[str, list[dict[str, str]]] | None = None,
) -> dict[str, Any]:
    return {
        "member_authenticated": authenticated,
        "organization": organization_json(org),
        "membership": {
            "type": kind,
            "details": None,
            "member": member_json(member, org, (retired or {}).get(member.member_id)) if member else None,
        },
        "primary_required": primary_required(org, member),
        "mfa_required": logins.mfa_required(org, member),
    }


async def _jit_candidates(ctx: Context, email: str, exclude: set[str]) -> list[Row[Any]]:
    """Organizations an email could join by its domain.

    Stytch lists such an organization when (a) it allows JIT provisioning, (b) its allowed
    domains contain the email's domain and (c) it has at least one other member with a
    verified email on that domain (PY `magic_links_discovery.AuthenticateResponse`). The
    docstring does not say whether all three must hold; keystile requires all three for
    *listing*, so an organization nobody from a domain has vouched for (anyone can create
    one claiming `bank.com`) is never advertised to that domain's users. Exchange into an
    organization the app names explicitly needs only (a) and (b): the organization's own
    policy, which login_or_signup applies too.
    """
    domain = emails.domain(email)
    rows = await orgs_repo.with_restricted_jit(ctx.conn, ctx.project_id)
    candidates = [org for org in rows if org.organization_id not in exclude and jit_allowed(org, email)]
    # A claimed domain's users may join only the organizations that claim it.
    claimants = await orgs_service.domain_claimants(ctx, email) if candidates else set()
    candidates = [org for org in candidates if not claimants or org.organization_id in claimants]
    if not candidates:
        return []
    vouched = await members_repo.organizations_vouching(
        ctx.conn, ctx.project_id, [org.organization_id for org in candidates], domain
    )
    return [org for org in candidates if org.organization_id in vouched]


async def _tenant_candidates(
    ctx: Context, provider: str | None, tenants: list[str] | tuple[str, ...], exclude: set[str]
) -> list[Row[Any]]:
    """Organizations an OAuth login could join by the provider's tenant it proved."""
    if not provider or not tenants:
        return []
    rows = await orgs_repo.with_restricted_oauth_tenant_jit(ctx.conn, ctx.project_id)
    return [
        org for org in rows if org.organization_id not in exclude and oauth_tenant_jit_allowed(org, provider, tenants)
    ]


async def discovered_organizations(
    ctx: Context,
    email: str,
    *,
    include_eligible: bool,
    session_organization_id: str | None = None,
    oauth: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The Discovered Organization objects of one email (PY `b2b/models/discovery.py`). With
    `oauth` (the `provider` and `tenants` an OAuth login proved), organizations that provision
    those tenants are eligible too (`eligible_to_join_by_oauth_tenant`).

    Deleted members are never listed, and their organizations are not offered for JIT
    either (the deleted membership still holds the email)."""
    memberships = await members_repo.all_by_email(ctx.conn, ctx.project_id, email)
    orgs = await orgs_repo.get_many(ctx.conn, ctx.project_id, [m.organization_id for m in memberships])
    found: list[tuple[Row[Any], str, Row[Any] | None]] = [
        (orgs[m.organization_id], MEMBERSHIP_TYPES[m.status], m)
        for m in memberships
        if m.status in MEMBERSHIP_TYPES and m.organization_id in orgs
    ]
    found.sort(key=lambda item: (item[0].created_at, item[0].organization_id))
    if include_eligible:
        exclude = {m.organization_id for m in memberships}
        eligible = await _jit_candidates(ctx, email, exclude)
        eligible.sort(key=lambda org: (org.created_at, org.organization_id))
        found.extend((org, "eligible_to_join_by_email_domain", None) for org in eligible)
        if oauth:
            exclude |= {org.organization_id for org in eligible}
            by_tenant = await _tenant_candidates(ctx, oauth.get("provider"), oauth.get("tenants") or [], exclude)
            by_tenant.sort(key=lambda org: (org.created_at, org.organization_id))
            found.extend((org, "eligible_to_join_by_oauth_tenant", None) for org in by_tenant)
    retired = await members_repo.retired_emails(ctx.conn, ctx.project_id, [m.member_id for _, _, m in found if m])
    return [
        _entry(
            org,
            kind,
            member,
            authenticated=session_organization_id is not None
            and org.organization_id == session_organization_id
            and kind == "active_member",
            retired=retired,
        )
        for org, kind, member in found
    ]


def ist_session_factor(ctx: Context, ist: Row[Any], member: Row[Any]) -> dict[str, Any]:
    """The factor an intermediate session proved, as this Member's session lists it: an
    emailed factor, or the OAuth factor (its `<provider>_oauth_factor` naming the Member's email)."""
    now = ctx.clock.now()
    factor = ist_primary_factor(ist)
    if factor.get("type") == "oauth" and factor.get("delivery_method") in AUTH_METHODS:
        registered = {
            entry.get("provider_subject"): entry.get("member_oauth_registration_id", "")
            for entry in getattr(member, "oauth_registrations", None) or []
            if isinstance(entry, dict)
        }
        details = {
            name: {
                **value,
                "id": registered.get(value.get("provider_subject")) or value.get("id", ""),
                "email_id": member.email_id,
            }
            for name, value in factor.items()
            if name.endswith("_oauth_factor") and isinstance(value, dict)
        }
        return Factor("oauth", factor["delivery_method"]).build(now, **details)
    kind = ist_factor_type(ist)
    if kind == "password":  # a cross-organization password (passwords.discovery.authenticate)
        return PASSWORD_FACTOR.build(now)
    return sessions.email_factor(now, member.email_id, member.email, kind)


async def member_session_fields(
    ctx: Context,
    org: Row[Any],
    member: Row[Any],
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    ist: Row[Any],
) -> dict[str, Any]:
    """The email this intermediate session proved logs the member in, through the one place
    every login ends (sessions/logins.py): a session, or an intermediate session and
    `mfa_required`. An OAuth login's provider registration and tokens follow the Member
    there (`IntermediateSessionJoined`, which the oauth area handles)."""
    if ist_oauth(ist):
        await events.emit(ctx, events.IntermediateSessionJoined(ist.data or {}, org.organization_id, member.member_id))
        member = await members_repo.find(ctx.conn, ctx.project_id, org.organization_id, member.member_id) or member
    return await logins.complete_primary(
        ctx,
        org,
        member,
        factor=ist_session_factor(ctx, ist, member),
        minutes=minutes,
        custom_claims=custom_claims,
    )


async def list_organizations(
    ctx: Context, *, intermediate_session_token: str | None, session_token: str | None, session_jwt: str | None
) -> dict[str, Any]:
    """discovery.organizations.list: by intermediate session (not consumed) or member session."""
    given = [v for v in (intermediate_session_token, session_token, session_jwt) if v]
    if not given:
        raise errors.NoDiscoveryArguments()
    if len(given) > 1:
        raise errors.TooManyDiscoveryArguments()
    if intermediate_session_token:
        ist = await intermediate.peek(ctx, intermediate_session_token)
        email = ist.email
        return {
            "email_address": email,
            "discovered_organizations": await discovered_organizations(
                ctx, email, include_eligible=True, oauth=ist_oauth(ist)
            ),
            "organization_id_hint": ist.organization_id,
        }
    row, _ = await sessions.authenticate(ctx, "b2b", token=session_token, session_jwt=session_jwt)
    member = await members_repo.find(ctx.conn, ctx.project_id, row.organization_id or "", row.member_id or "")
    if member is None or member.status == "deleted":
        raise errors.SessionNotFound()
    return {
        "email_address": member.email,
        "discovered_organizations": await discovered_organizations(
            ctx, member.email, include_eligible=False, session_organization_id=row.organization_id
        ),
        "organization_id_hint": None,
    }


async def primary_still_required(
    ctx: Context, org: Row[Any], member: Row[Any], token: str, ist: Row[Any], required: dict[str, Any] | None
) -> dict[str, Any]:
    """The answer when the factor behind the intermediate session is not enough for `org`: no
    session, and the same intermediate session stays usable for the `required` primary factor."""
    return {
        "member_id": member.member_id,
        "member": await members_service.member_view(ctx, member, org),
        "organization": organization_json(org),
        "session_token": "",
        "session_jwt": "",
        "member_session": None,
        "member_authenticated": False,
        "intermediate_session_token": token,
        "intermediate_session_token_expires_at": rfc3339(ist.expires_at),
        "mfa_required": None,
        "primary_required": required,
    }


async def exchange_intermediate_session(
    ctx: Context,
    token: str,
    organization_ref: str,
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """discovery.intermediate_sessions.exchange: join or log in to one organization.

    Nothing is consumed or written unless the exchange succeeds: every refusal is raised
    before the token is redeemed (and would roll the transaction back anyway)."""
    sessions.check_duration(minutes)
    ist = await intermediate.peek(ctx, token)
    email = ist.email
    org = await orgs_repo.get(ctx.conn, ctx.project_id, organization_ref)
    member = await members_repo.find_by_email(ctx.conn, ctx.project_id, org.organization_id, email)
    if member is not None and member.status == "deleted":
        raise errors.InvalidIntermediateSessionForOrganization(
            "This email's membership of the organization was deleted; it cannot log in to it."
        )
    oauth = ist_oauth(ist)
    by_tenant = member is None and oauth_tenant_jit_allowed(org, oauth.get("provider"), oauth.get("tenants") or [])
    if member is None and not by_tenant and not jit_allowed(org, email):
        if oauth and settings_of(org).get("oauth_tenant_jit_provisioning") == "RESTRICTED":
            raise errors.OAuthTenantJITProvisioningNotAllowed()
        raise errors.EmailJITProvisioningNotAllowed()
    if member is None and not by_tenant:
        await orgs_service.check_domain_claim(ctx, email, org)
    required = primary_required(org, member, ist_factor_type(ist))
    if required is None and not ist_email_verified(ist):
        required = email_unverified_required(org, member)
    if required is not None:
        # The magic link is not enough for this organization: the intermediate session stays
        # usable for the missing primary factor (PY `discovery_intermediate_sessions.exchange`).
        if member is None:
            member = await members_service.create_member(ctx, org, email=email, status="pending")
        return await primary_still_required(ctx, org, member, token, ist, required)
    # Redeem before any write: of N concurrent exchanges exactly one gets past this line.
    await intermediate.redeem(ctx, token)
    if member is None:
        member = await members_service.create_member(ctx, org, email=email, status="active", email_verified=True)
    else:
        member = await members_service.activate(ctx, member)
    return await member_session_fields(ctx, org, member, minutes=minutes, custom_claims=custom_claims, ist=ist)


def default_organization_name(email: str) -> str:
    """From the email's domain, or from its local part for common providers and .edu
    addresses (PY `discovery_organizations.create`, `organization_name`)."""
    local = emails.normalize(email).rsplit("@", 1)[0].split("+", 1)[0]
    domain = emails.domain(email)
    labels = domain.split(".")
    if domain in orgs_service.COMMON_EMAIL_DOMAINS or "edu" in labels[1:]:
        return local or domain
    if len(labels) >= 3 and labels[-2] in SECOND_LEVEL_LABELS:
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else domain


async def create_organization(
    ctx: Context,
    token: str,
    *,
    name: str | None,
    slug: str | None,
    external_id: str | None,
    logo_url: str | None,
    trusted_metadata: dict[str, Any] | None,
    settings: dict[str, Any],
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
) -> dict[str, Any]:
    """discovery.organizations.create: a new organization whose creator is its first admin."""
    sessions.check_duration(minutes)
    peeked = await intermediate.peek(ctx, token)
    # A factor that did not prove the email (GitHub, Slack, HubSpot) makes the organization and
    # its first Member, who must then prove the email: the intermediate session stays usable.
    verified = ist_email_verified(peeked)
    ist = await intermediate.redeem(ctx, token) if verified else peeked
    email = ist.email
    await orgs_service.check_domain_claim(ctx, email, None)  # raising rolls the redemption back
    derived = default_organization_name(email)
    org = await orgs_service.create_organization(
        ctx,
        name=name if name is not None else derived,
        slug=slug,
        # A named organization takes its slug from its name; otherwise both come from the email.
        derive_slug_from=derived if name is None else None,
        settings=settings,
        trusted_metadata=trusted_metadata,
        logo_url=logo_url,
        external_id=external_id,
    )
    member = await members_service.create_member(
        ctx,
        org,
        email=email,
        status="active" if verified else "pending",
        email_verified=verified,
        roles=["stytch_admin"],
    )
    if not verified:
        return await primary_still_required(ctx, org, member, token, ist, email_unverified_required(org, member))
    return await member_session_fields(ctx, org, member, minutes=minutes, custom_claims=custom_claims, ist=ist)
