"""Discovery: which organizations an email may enter, and turning an intermediate session
into a member session (stytch.com/docs/b2b/api/discovery-overview, reference §6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row

from keystile import errors
from keystile.core import emails
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


# The auth method (`allowed_auth_methods`) each primary factor type of an intermediate session stands for.
AUTH_METHODS = {"magic_link": "magic_link", "otp": "email_otp", "password": "password"}
# The session factor of a password, as the passwords area (above this one) declares it.
PASSWORD_FACTOR = Factor("password", "knowledge")


def ist_factor_type(ist: Row[Any]) -> str:
    """The type of the primary factor an intermediate session carries: magic_link, otp (email)
    or password (a cross-organization password, passwords.discovery.authenticate)."""
    factors = (ist.data or {}).get("factors") or [{}]
    kind = factors[0].get("type") if isinstance(factors[0], dict) else None
    return kind if kind in AUTH_METHODS else "magic_link"


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


async def discovered_organizations(
    ctx: Context, email: str, *, include_eligible: bool, session_organization_id: str | None = None
) -> list[dict[str, Any]]:
    """The Discovered Organization objects of one email (PY `b2b/models/discovery.py`).

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


async def member_session_fields(
    ctx: Context,
    org: Row[Any],
    member: Row[Any],
    *,
    minutes: int | None,
    custom_claims: dict[str, Any] | None,
    factor_type: str = "magic_link",
) -> dict[str, Any]:
    """The email this intermediate session proved logs the member in, through the one place
    every login ends (sessions/logins.py): a session, or an intermediate session and
    `mfa_required`."""
    if factor_type == "password":  # a cross-organization password (passwords.discovery.authenticate)
        factor = PASSWORD_FACTOR.build(ctx.clock.now())
    else:
        factor = sessions.email_factor(ctx.clock.now(), member.email_id, member.email, factor_type)
    return await logins.complete_primary(ctx, org, member, factor=factor, minutes=minutes, custom_claims=custom_claims)


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
            "discovered_organizations": await discovered_organizations(ctx, email, include_eligible=True),
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
    if member is None and not jit_allowed(org, email):
        raise errors.EmailJITProvisioningNotAllowed()
    if member is None:
        await orgs_service.check_domain_claim(ctx, email, org)
    required = primary_required(org, member, ist_factor_type(ist))
    if required is not None:
        # The magic link is not enough for this organization: the intermediate session stays
        # usable for the missing primary factor (PY `discovery_intermediate_sessions.exchange`).
        if member is None:
            member = await members_service.create_member(ctx, org, email=email, status="pending")
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
    # Redeem before any write: of N concurrent exchanges exactly one gets past this line.
    await intermediate.redeem(ctx, token)
    if member is None:
        member = await members_service.create_member(ctx, org, email=email, status="active", email_verified=True)
    else:
        member = await members_service.activate(ctx, member)
    return await member_session_fields(
        ctx, org, member, minutes=minutes, custom_claims=custom_claims, factor_type=ist_factor_type(ist)
    )


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
    ist = await intermediate.redeem(ctx, token)
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
        ctx, org, email=email, status="active", email_verified=True, roles=["stytch_admin"]
    )
    return await member_session_fields(
        ctx, org, member, minutes=minutes, custom_claims=custom_claims, factor_type=ist_factor_type(ist)
    )
