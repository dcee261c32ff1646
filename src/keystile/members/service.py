"""Members: creation and the status changes every login flow shares."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import email_links, emails, events, ids, outbox, phones, redirect_urls, search, tokens
from keystile.core.context import Context
from keystile.core.redirect_urls import RedirectType
from keystile.core.search import FilterKind
from keystile.core.tokens import TokenKind
from keystile.members import messages, repository
from keystile.members.serializers import member_json
from keystile.organizations import repository as orgs_repo
from keystile.organizations.service import merge_metadata, validate_external_id


async def get(ctx: Context, organization_id: str, ref: str) -> Row[Any]:
    """The organization's member by id or email; member_not_found if none."""
    return await repository.get(ctx.conn, ctx.project_id, organization_id, ref)


async def find_by_id(ctx: Context, member_id: str) -> Row[Any] | None:
    return await repository.find_by_id(ctx.conn, ctx.project_id, member_id)


async def retired_emails(ctx: Context, member_ids: list[str]) -> dict[str, list[dict[str, str]]]:
    """Each member's retired addresses (PY `Member.retired_email_addresses`)."""
    return await repository.retired_emails(ctx.conn, ctx.project_id, member_ids)


async def create_member(
    ctx: Context,
    organization: Row[Any],
    *,
    email: str,
    status: str,
    name: str | None = None,
    email_verified: bool = False,
    roles: list[str] | None = None,
    external_id: str | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    is_breakglass: bool = False,
    mfa_enrolled: bool = False,
    mfa_phone_number: str | None = None,
) -> Row[Any]:
    """Add a Member to an Organization; one per email address per organization."""
    email = emails.validate(email)
    if await repository.find_by_email(ctx.conn, ctx.project_id, organization.organization_id, email):
        raise errors.DuplicateMemberEmail()
    if await repository.find_retired(ctx.conn, ctx.project_id, organization.organization_id, email):
        raise errors.DesiredEmailDeactivatedByDifferentMember()
    if external_id is not None and await repository.find(
        ctx.conn, ctx.project_id, organization.organization_id, external_id
    ):
        raise errors.DuplicateMemberExternalId()
    phone = mfa_phone(None, mfa_phone_number)
    now = ctx.clock.now()
    # A savepoint: the loser of two concurrent creates gets a clean 400, and the
    # request's transaction stays usable (PostgreSQL aborts it on a constraint error).
    try:
        async with ctx.conn.begin_nested():
            return await repository.create(
                ctx.conn,
                member_id=ids.member_id(ctx.live),
                project_id=ctx.project_id,
                organization_id=organization.organization_id,
                email=email,
                email_normalized=emails.normalize(email),
                email_id=ids.email_id(ctx.live),
                status=status,
                name=name or "",
                external_id=external_id,
                email_address_verified=email_verified,
                mfa_enrolled=mfa_enrolled,
                is_breakglass=is_breakglass,
                roles=list(dict.fromkeys(roles or [])),
                trusted_metadata=trusted_metadata or {},
                untrusted_metadata=untrusted_metadata or {},
                **phone,
                created_at=now,
                updated_at=now,
            )
    except IntegrityError:
        raise errors.DuplicateMemberEmail() from None


async def activate(ctx: Context, member: Row[Any]) -> Row[Any]:
    """First authentication: pending/invited → active, and the email is now verified."""
    if member.status == "active" and member.email_address_verified:
        return member
    return await repository.update(
        ctx.conn,
        ctx.project_id,
        member.member_id,
        status="active",
        email_address_verified=True,
        updated_at=ctx.clock.now(),
    )


async def get_existing(ctx: Context, organization_id: str, ref: str) -> Row[Any]:
    """A Member by id or external id that has not been deleted, else `member_not_found`."""
    row = await repository.find(ctx.conn, ctx.project_id, organization_id, ref)
    if row is None or row.status == "deleted":
        raise errors.MemberNotFound()
    return row


async def get_existing_by_email(ctx: Context, organization_id: str, email: str) -> Row[Any]:
    row = await repository.find_by_email(ctx.conn, ctx.project_id, organization_id, email)
    if row is None or row.status == "deleted":
        raise errors.MemberNotFound()
    return row


def direct_roles(roles: list[str]) -> list[str]:
    """Explicitly assigned role ids, deduplicated; `stytch_member` is everyone's implicitly."""
    for role in roles:
        if not role.strip():
            raise errors.InvalidArgument("roles must be non-empty role ids.")
    return [r for r in dict.fromkeys(roles) if r != "stytch_member"]


MFA_METHODS = frozenset({"sms_otp", "totp"})


def mfa_phone(member: Row[Any] | None, mfa_phone_number: str | None) -> dict[str, Any]:
    """The columns a given `mfa_phone_number` sets (stytch.com/docs/b2b/api/update-member): the
    number in E.164, unverified until an SMS passcode sent to it is accepted. A Member keeps one
    number: a different one needs `delete_mfa_phone_number` first."""
    if not mfa_phone_number:
        return {}
    phone = phones.normalize(mfa_phone_number)
    if member is not None and member.mfa_phone_number:
        if member.mfa_phone_number != phone:
            raise errors.MemberPhoneNumberAlreadySet()
        return {}
    return {"mfa_phone_number": phone, "mfa_phone_number_verified": False}


def mfa_settings(
    member: Row[Any] | None, *, mfa_enrolled: bool | None, default_mfa_method: str | None
) -> dict[str, Any]:
    """The columns `mfa_enrolled` and `default_mfa_method` set (stytch.com/docs/b2b/api/update-member):
    a default method must be one the Member has registered."""
    values: dict[str, Any] = {}
    if mfa_enrolled is not None:
        values["mfa_enrolled"] = mfa_enrolled
    if default_mfa_method is not None:
        if default_mfa_method not in MFA_METHODS:
            raise errors.InvalidArgument("default_mfa_method must be sms_otp or totp.")
        registered = member is not None and (
            member.totp_registration_id if default_mfa_method == "totp" else member.mfa_phone_number_verified
        )
        if not registered:
            raise errors.DefaultMfaMemberMissingFactor()
        values["default_mfa_method"] = default_mfa_method
    return values


async def update_member(
    ctx: Context,
    member: Row[Any],
    *,
    name: str | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    is_breakglass: bool | None = None,
    roles: list[str] | None = None,
    external_id: str | None = None,
    email_address: str | None = None,
    unlink_email: bool | None = None,
    mfa_enrolled: bool | None = None,
    default_mfa_method: str | None = None,
    mfa_phone_number: str | None = None,
) -> Row[Any]:
    """Update a Member (stytch.com/docs/b2b/api/update-member): absent fields stay unchanged,
    metadata merges at the top level, `roles` replaces the direct roles. A replaced email
    address is retired (kept on the Member, unusable by others) unless `unlink_email`."""
    values: dict[str, Any] = mfa_settings(member, mfa_enrolled=mfa_enrolled, default_mfa_method=default_mfa_method)
    values.update(mfa_phone(member, mfa_phone_number))
    if name is not None:
        values["name"] = name
    if trusted_metadata is not None:
        values["trusted_metadata"] = merge_metadata(member.trusted_metadata, trusted_metadata)
    if untrusted_metadata is not None:
        values["untrusted_metadata"] = merge_metadata(member.untrusted_metadata, untrusted_metadata)
    if is_breakglass is not None:
        values["is_breakglass"] = is_breakglass
    if roles is not None:
        values["roles"] = direct_roles(roles)
    if external_id is not None and external_id != member.external_id:
        validate_external_id(external_id, "external_id")
        other = await repository.find(ctx.conn, ctx.project_id, member.organization_id, external_id)
        if other is not None and other.member_id != member.member_id:
            raise errors.DuplicateMemberExternalId()
        values["external_id"] = external_id
    if email_address is not None:
        email = emails.validate(email_address)
        if emails.normalize(email) != member.email_normalized:
            if await repository.find_by_email(ctx.conn, ctx.project_id, member.organization_id, email):
                raise errors.DuplicateMemberEmail()
            reused_id = await _take_back_retired(ctx, member, email)
            if not unlink_email:
                await _retire(ctx, member)
            # A new address must be proven again (PY `members.update` docstring).
            values.update(
                email_normalized=emails.normalize(email),
                email_id=reused_id or ids.email_id(ctx.live),
                email_address_verified=False,
            )
        values["email"] = email
    values["updated_at"] = ctx.clock.now()
    return await repository.update(ctx.conn, ctx.project_id, member.member_id, **values)


async def delete_member(ctx: Context, member: Row[Any]) -> None:
    """Delete a Member (stytch.com/docs/b2b/api/delete-member): its status becomes `deleted`
    (so `reactivate` can restore it) and its sessions are revoked."""
    await repository.update(ctx.conn, ctx.project_id, member.member_id, status="deleted", updated_at=ctx.clock.now())
    await events.emit(ctx, events.MemberDeleted(member.member_id))  # sessions revokes its sessions


# --- Search (stytch.com/docs/b2b/api/search-members; reference §7) ---

MEMBER_FILTERS: dict[str, FilterKind] = {
    "member_ids": FilterKind.STRINGS,
    "member_emails": FilterKind.STRINGS,
    "member_email_fuzzy": FilterKind.FUZZY,
    "member_is_breakglass": FilterKind.BOOLEAN,
    "statuses": FilterKind.STRINGS,
    "member_roles": FilterKind.STRINGS,
    "member_phone_numbers": FilterKind.STRINGS,
    "member_phone_number_fuzzy": FilterKind.FUZZY,
}
SEARCH_PREFIX = repository.SEARCH_PREFIX


async def search_members(
    ctx: Context, *, organization_ids: list[str] | None, cursor: str | None, limit: int | None, query: Any
) -> tuple[list[Row[Any]], int, str | None, dict[str, Row[Any]]]:
    """One page of Members of the given Organizations, the total, the next cursor, and the
    Organizations of the page's Members. Deleted Members only when `statuses` is filtered on."""
    if not organization_ids:
        raise errors.MemberSearchOrganizationIdsEmpty()
    parsed = search.parse_query(query, MEMBER_FILTERS, SEARCH_PREFIX)
    page_size = search.check_limit(limit, SEARCH_PREFIX)
    orgs = {}
    for ref in dict.fromkeys(organization_ids):
        org = await orgs_repo.get(ctx.conn, ctx.project_id, ref)
        orgs[org.organization_id] = org
    page, total, next_cursor = await repository.search(
        ctx.conn, ctx.project_id, parsed, orgs, cursor=cursor, limit=page_size
    )
    return page, total, next_cursor, {row.organization_id: orgs[row.organization_id] for row in page}


# --- Retired email addresses (PY `Member.retired_email_addresses`) ---


async def _retire(ctx: Context, member: Row[Any]) -> None:
    """Keep the Member's current address as retired: others in the organization cannot use it."""
    await repository.retire_email(ctx.conn, ctx.project_id, member, ctx.clock.now())


async def _take_back_retired(ctx: Context, member: Row[Any], email: str) -> str | None:
    """A Member may return to one of its own retired addresses (which stops being retired and
    keeps its email_id); another Member's retired address is refused until unlinked."""
    retired = await repository.find_retired(ctx.conn, ctx.project_id, member.organization_id, email)
    if retired is None:
        return None
    if retired.member_id != member.member_id:
        raise errors.DesiredEmailDeactivatedByDifferentMember()
    await repository.forget_retired(ctx.conn, ctx.project_id, retired.email_id)
    return str(retired.email_id)


async def unlink_retired_email(
    ctx: Context, member: Row[Any], *, email_id: str | None, email_address: str | None
) -> None:
    """Forget one retired address so other Members may use it
    (stytch.com/docs/b2b/api/unlink-retired-member-email)."""
    if not email_id and not email_address:
        raise errors.RetiredEmailMissingEmailIdentifiers()
    if (email_id and email_id == member.email_id) or (
        email_address and emails.normalize(email_address) == member.email_normalized
    ):
        raise errors.BadRequest("That is the Member's current email address; only retired addresses can be unlinked.")
    retired = (await repository.retired_emails(ctx.conn, ctx.project_id, [member.member_id]))[member.member_id]
    if email_id:
        target = next((r for r in retired if r["email_id"] == email_id), None)
    else:
        wanted = emails.normalize(email_address or "")
        target = next((r for r in retired if emails.normalize(r["email_address"]) == wanted), None)
    if target is None:
        raise errors.EmailNotFound(
            "The Member has no retired email address matching the email_id or email_address given."
        )
    if email_id and email_address and emails.normalize(target["email_address"]) != emails.normalize(email_address):
        raise errors.BadRequest("email_id and email_address must name the same retired email address.")
    await repository.forget_retired(ctx.conn, ctx.project_id, target["email_id"], member_id=member.member_id)


# --- Administration: reactivate, external ids ---


async def reactivate(ctx: Context, organization: Row[Any], member_id: str) -> Row[Any]:
    """Bring a deleted Member back to `active` (stytch.com/docs/b2b/api/reactivate-member): by
    `member_id` only, and only if its email was verified and nobody took the address meanwhile."""
    row = await repository.find_by_id(ctx.conn, ctx.project_id, member_id)
    if row is None or row.organization_id != organization.organization_id:
        raise errors.MemberNotFound()
    if row.status != "deleted":
        raise errors.NoDeletedMemberFoundForReactivation(
            f"The Member is {row.status}, not deleted: there is nothing to reactivate."
        )
    if not row.email_address_verified:
        raise errors.EmailUnverifiedForReactivation()
    taken = await repository.find_by_email(ctx.conn, ctx.project_id, row.organization_id, row.email)
    if taken is not None or await repository.find_retired(ctx.conn, ctx.project_id, row.organization_id, row.email):
        raise errors.ReactivationEmailBelongsToAnotherMember()
    try:
        async with ctx.conn.begin_nested():
            return await repository.update(
                ctx.conn, ctx.project_id, row.member_id, status="active", updated_at=ctx.clock.now()
            )
    except IntegrityError:  # a concurrent create took the address
        raise errors.ReactivationEmailBelongsToAnotherMember() from None


async def delete_external_id(ctx: Context, member: Row[Any]) -> Row[Any]:
    """Clear the Member's `external_id` (PY `members.delete_external_id`)."""
    return await repository.update(
        ctx.conn, ctx.project_id, member.member_id, external_id=None, updated_at=ctx.clock.now()
    )


# --- Self-serve email update (stytch.com/docs/b2b/api/start-email-update) ---

EMAIL_UPDATE_MINUTES = 5
EMAIL_UPDATE_FLOW = "email_update"


async def _pending_update_by_other(ctx: Context, member: Row[Any], email: str) -> bool:
    """Another Member of the organization has a live email-update link for this address."""
    rows = await tokens.live(
        ctx, TokenKind.B2B_MAGIC_LINK, email=emails.normalize(email), organization_id=member.organization_id
    )
    return any(row.member_id != member.member_id and (row.data or {}).get("flow") == EMAIL_UPDATE_FLOW for row in rows)


async def start_email_update(
    ctx: Context,
    organization: Row[Any],
    member: Row[Any],
    email_address: str,
    *,
    login_redirect_url: str | None,
    delivery_method: str | None,
) -> None:
    """Email a 5-minute magic link to the new address; authenticating it (magic_links.authenticate)
    makes it the Member's address and retires the old one. Nothing about the Member changes now."""
    if delivery_method not in (None, "EMAIL_MAGIC_LINK"):
        if delivery_method == "EMAIL_OTP":
            raise errors.BadRequest("keystile does not support email OTP yet: use delivery_method EMAIL_MAGIC_LINK.")
        raise errors.BadRequest(f"delivery_method must be EMAIL_MAGIC_LINK or EMAIL_OTP, not {delivery_method!r}.")
    email = emails.validate(email_address)
    if member.status != "active" or not member.email_address_verified:
        raise errors.BadRequest(
            "Only an active Member with a verified email address can start an email update; "
            f"this Member is {member.status} and its email is {'' if member.email_address_verified else 'not '}verified."
        )
    if emails.normalize(email) == member.email_normalized:
        raise errors.BadRequest("That is already the Member's email address.")
    if await repository.find_by_email(ctx.conn, ctx.project_id, member.organization_id, email):
        raise errors.DuplicateMemberEmail()
    retired = await repository.find_retired(ctx.conn, ctx.project_id, member.organization_id, email)
    if retired is not None and retired.member_id != member.member_id:
        raise errors.DesiredEmailDeactivatedByDifferentMember()
    if await _pending_update_by_other(ctx, member, email):
        raise errors.DuplicateMemberEmail(
            "Another Member of the organization is already updating to this email address."
        )
    url = await redirect_urls.resolve(ctx.conn, ctx.project_id, login_redirect_url, RedirectType.LOGIN)
    link_url = email_links.app_url(url, slug=organization.slug, stytch_token_type="multi_tenant_magic_links")
    token, _ = await tokens.issue(
        ctx,
        TokenKind.B2B_MAGIC_LINK,
        minutes=EMAIL_UPDATE_MINUTES,
        email=emails.normalize(email),
        organization_id=organization.organization_id,
        member_id=member.member_id,
        email_id=member.email_id,
        data={"flow": EMAIL_UPDATE_FLOW, "email_address": email, "from_email_id": member.email_id},
        link_url=link_url,
    )
    link = await email_links.emailed_link(ctx, link_url, token)
    await outbox.enqueue(
        ctx,
        messages.EMAIL_UPDATE,
        to=email,
        link=link,
        expires_minutes=EMAIL_UPDATE_MINUTES,
        organization_name=organization.name,
    )


def is_email_update(token_row: Row[Any]) -> bool:
    return (token_row.data or {}).get("flow") == EMAIL_UPDATE_FLOW


async def complete_email_update(ctx: Context, member: Row[Any] | None, token_row: Row[Any]) -> Row[Any]:
    """The new address is proven: it becomes the Member's (verified) address and the old one is
    retired. A link is void once the Member is no longer active or its address changed since."""
    data = token_row.data or {}
    email = str(data.get("email_address") or token_row.email)
    if member is None or member.status != "active":
        raise errors.UnableToAuthMagicLink("This magic link was revoked: its Member is no longer active.")
    if member.email_id != data.get("from_email_id"):
        raise errors.UnableToAuthMagicLink(
            "This magic link was superseded: the Member's email address changed after it was sent."
        )
    other = await repository.find_by_email(ctx.conn, ctx.project_id, member.organization_id, email)
    if other is not None and other.member_id != member.member_id:
        raise errors.DuplicateMemberEmail()
    reused_id = await _take_back_retired(ctx, member, email)
    await _retire(ctx, member)
    try:
        async with ctx.conn.begin_nested():
            return await repository.update(
                ctx.conn,
                ctx.project_id,
                member.member_id,
                email=email,
                email_normalized=emails.normalize(email),
                email_id=reused_id or ids.email_id(ctx.live),
                email_address_verified=True,
                updated_at=ctx.clock.now(),
            )
    except IntegrityError:
        raise errors.DuplicateMemberEmail() from None


async def member_view(ctx: Context, member: Row[Any], organization: Row[Any]) -> dict[str, Any]:
    """The Member object with its roles and retired addresses loaded (one extra query)."""
    retired = await repository.retired_emails(ctx.conn, ctx.project_id, [member.member_id])
    return member_json(member, organization, retired[member.member_id])
