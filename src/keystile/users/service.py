"""Consumer users: create, read, update, delete, search (stytch.com/docs/api/users).

Emails are looked up normalized and returned as given. A user's `user_id` and its
`external_id` are interchangeable wherever a user is named.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from sqlalchemy.engine import Row
from sqlalchemy.exc import IntegrityError

from keystile import errors
from keystile.core import emails as email_rules
from keystile.core import events, ids, passcodes, phones, search
from keystile.core.context import Context
from keystile.core.search import FilterKind
from keystile.users import repository
from keystile.users.serializers import NAME_FIELDS, user_json

EXTERNAL_ID = re.compile(r"^[A-Za-z0-9._|-]{1,128}$")
MAX_METADATA_KEYS = 20
MAX_METADATA_BYTES = 4096
STATUSES = repository.STATUSES
SEARCH_PREFIX = repository.SEARCH_PREFIX


def check_external_id(external_id: str) -> str:
    if not EXTERNAL_ID.match(external_id):
        raise errors.InvalidArgument(
            "external_id must be 1 to 128 characters of letters, digits, '.', '_', '-' or '|'."
        )
    return external_id


def merge_metadata(field: str, existing: dict[str, Any] | None, changes: dict[str, Any] | None) -> dict[str, Any]:
    """Stytch's metadata update: merged at the top level, a null value deletes a key."""
    merged = dict(existing or {})
    for key, value in (changes or {}).items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_METADATA_KEYS:
        raise errors.InvalidArgument(f"{field} may have at most {MAX_METADATA_KEYS} top-level keys.")
    if len(orjson.dumps(merged)) > MAX_METADATA_BYTES:
        raise errors.InvalidArgument(f"{field} may be at most 4KB.")
    return merged


def merge_name(existing: dict[str, Any] | None, changes: dict[str, Any] | None) -> dict[str, Any] | None:
    if changes is None:
        return existing
    merged = {field: (existing or {}).get(field) for field in NAME_FIELDS}
    merged.update({k: v for k, v in changes.items() if k in NAME_FIELDS and v is not None})
    return merged


async def load(ctx: Context, user_id: str) -> Row[Any]:
    row = await repository.find_user(ctx.conn, ctx.project_id, user_id)
    if row is None:
        raise errors.UserNotFound(f"No user {user_id!r} in this project.")
    return row


async def user_body(ctx: Context, row: Row[Any]) -> dict[str, Any]:
    found = await repository.emails_of(ctx.conn, ctx.project_id, [row.user_id])
    totps = await repository.totps_of(ctx.conn, ctx.project_id, [row.user_id], ctx.clock.now())
    phones = await repository.phones_of(ctx.conn, ctx.project_id, [row.user_id])
    return user_json(row, found[row.user_id], totps[row.user_id], phones[row.user_id])


async def _insert_email(
    ctx: Context, user_id: str, email: str, *, verified: bool = False, email_id: str | None = None
) -> Row[Any]:
    return await repository.insert_email(
        ctx.conn,
        {
            "email_id": email_id or ids.email_id(ctx.live),
            "project_id": ctx.project_id,
            "user_id": user_id,
            "email": email,
            "email_normalized": email_rules.normalize(email),
            "verified": verified,
            "created_at": ctx.clock.now(),
        },
    )


async def add_email(ctx: Context, user_id: str, email: str, *, verified: bool, email_id: str | None = None) -> Row[Any]:
    """Attach an email to a user; `duplicate_email` if any user of the project has it."""
    try:
        async with ctx.conn.begin_nested():
            return await _insert_email(ctx, user_id, email, verified=verified, email_id=email_id)
    except IntegrityError:
        raise errors.DuplicateEmail() from None


async def create_user(
    ctx: Context,
    *,
    email: str | None,
    pending: bool = False,
    name: dict[str, Any] | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    external_id: str | None = None,
) -> tuple[Row[Any], Row[Any] | None]:
    """Create a user (stytch.com/docs/api/create-user) with its email, if one is given."""
    if email is not None:
        email = email_rules.validate(email)
        if await repository.find_email(ctx.conn, ctx.project_id, email_rules.normalize(email)):
            raise errors.DuplicateEmail()
    if external_id is not None:
        check_external_id(external_id)
        if await repository.external_id_owner(ctx.conn, ctx.project_id, external_id):
            raise errors.DuplicateUserExternalId()
    now = ctx.clock.now()
    try:
        async with ctx.conn.begin_nested():
            row = await repository.insert_user(
                ctx.conn,
                {
                    "user_id": ids.user_id(ctx.live),
                    "project_id": ctx.project_id,
                    "status": "pending" if pending else "active",
                    "name": merge_name(None, name),
                    "external_id": external_id,
                    "trusted_metadata": merge_metadata("trusted_metadata", {}, trusted_metadata),
                    "untrusted_metadata": merge_metadata("untrusted_metadata", {}, untrusted_metadata),
                    "created_at": now,
                    "updated_at": now,
                },
            )
    except IntegrityError:
        raise errors.DuplicateUserExternalId() from None
    email_row = await add_email(ctx, row.user_id, email, verified=False) if email is not None else None
    return row, email_row


async def create_user_with(
    ctx: Context,
    *,
    email: str | None,
    phone_number: str | None,
    pending: bool,
    name: dict[str, Any] | None,
    trusted_metadata: dict[str, Any] | None,
    untrusted_metadata: dict[str, Any] | None,
    external_id: str | None,
) -> tuple[Row[Any], Row[Any] | None, Row[Any] | None]:
    """users.create with an email, a phone number (E.164 after `phones.normalize`) or both:
    (user, email row, phone row). A number another user has is `duplicate_phone_number`."""
    number = phones.normalize(phone_number) if phone_number is not None else None
    if number is not None and await repository.find_phone(ctx.conn, ctx.project_id, number):
        raise errors.DuplicatePhoneNumber()
    row, email_row = await create_user(
        ctx,
        email=email,
        pending=pending,
        name=name,
        trusted_metadata=trusted_metadata,
        untrusted_metadata=untrusted_metadata,
        external_id=external_id,
    )
    phone = await add_phone(ctx, row.user_id, number) if number is not None else None
    return row, email_row, phone


async def find_or_create_by_email(
    ctx: Context,
    email: str,
    *,
    pending: bool,
    name: dict[str, Any] | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
) -> tuple[Row[Any], Row[Any], bool]:
    """The user owning `email`, or a new one: (user, email row, created).

    Two concurrent calls for one new address create one user: the loser of the unique
    index re-reads the winner's row."""
    email = email_rules.validate(email)
    normalized = email_rules.normalize(email)
    for _ in range(2):
        existing = await repository.find_email(ctx.conn, ctx.project_id, normalized)
        if existing is not None:
            return await load(ctx, existing.user_id), existing, False
        try:
            async with ctx.conn.begin_nested():
                row, email_row = await _create_plain(ctx, email, pending, name, trusted_metadata, untrusted_metadata)
            return row, email_row, True
        except IntegrityError:
            continue
    raise errors.DuplicateEmail()


async def _create_plain(
    ctx: Context,
    email: str,
    pending: bool,
    name: dict[str, Any] | None,
    trusted_metadata: dict[str, Any] | None,
    untrusted_metadata: dict[str, Any] | None,
) -> tuple[Row[Any], Row[Any]]:
    now = ctx.clock.now()
    row = await repository.insert_user(
        ctx.conn,
        {
            "user_id": ids.user_id(ctx.live),
            "project_id": ctx.project_id,
            "status": "pending" if pending else "active",
            "name": merge_name(None, name),
            "external_id": None,
            "trusted_metadata": merge_metadata("trusted_metadata", {}, trusted_metadata),
            "untrusted_metadata": merge_metadata("untrusted_metadata", {}, untrusted_metadata),
            "created_at": now,
            "updated_at": now,
        },
    )
    return row, await _insert_email(ctx, row.user_id, email)


async def update_user(
    ctx: Context,
    user_id: str,
    *,
    name: dict[str, Any] | None = None,
    trusted_metadata: dict[str, Any] | None = None,
    untrusted_metadata: dict[str, Any] | None = None,
    external_id: str | None = None,
) -> Row[Any]:
    """Update what the request names; an absent (or null) field is unchanged."""
    row = await load(ctx, user_id)
    values: dict[str, Any] = {"updated_at": ctx.clock.now()}
    if name is not None:
        values["name"] = merge_name(row.name, name)
    if trusted_metadata is not None:
        values["trusted_metadata"] = merge_metadata("trusted_metadata", row.trusted_metadata, trusted_metadata)
    if untrusted_metadata is not None:
        values["untrusted_metadata"] = merge_metadata("untrusted_metadata", row.untrusted_metadata, untrusted_metadata)
    if external_id is not None and external_id != row.external_id:
        check_external_id(external_id)
        if await repository.external_id_owner(ctx.conn, ctx.project_id, external_id):
            raise errors.DuplicateUserExternalId()
        values["external_id"] = external_id
    try:
        async with ctx.conn.begin_nested():
            return await repository.update_user(ctx.conn, ctx.project_id, row.user_id, values)
    except IntegrityError:
        raise errors.DuplicateUserExternalId() from None


async def activate(ctx: Context, row: Row[Any]) -> Row[Any]:
    if row.status == "active":
        return row
    return await repository.update_user(
        ctx.conn, ctx.project_id, row.user_id, {"status": "active", "updated_at": ctx.clock.now()}
    )


async def delete_user(ctx: Context, user_id: str) -> str:
    """Delete a user: its sessions are revoked, its emails and open magic links go with it."""
    row = await load(ctx, user_id)
    await events.emit(ctx, events.UserDeleted(row.user_id))  # sessions revokes its sessions
    await repository.void_links(ctx.conn, ctx.project_id, ctx.clock.now(), user_id=row.user_id)
    await repository.delete_user(ctx.conn, ctx.project_id, row.user_id)
    return row.user_id


async def delete_email(ctx: Context, email_id: str) -> Row[Any]:
    """Remove one email from its user (and the magic links sent to it); returns the user."""
    email = await repository.get_email(ctx.conn, ctx.project_id, email_id)
    if email is None:
        raise errors.EmailNotFound(f"No email {email_id!r} in this project.")
    await repository.void_links(ctx.conn, ctx.project_id, ctx.clock.now(), email_id=email_id)
    await passcodes.forget(ctx, email_id)
    await repository.delete_email(ctx.conn, ctx.project_id, email_id)
    return await repository.update_user(ctx.conn, ctx.project_id, email.user_id, {"updated_at": ctx.clock.now()})


async def _insert_phone(ctx: Context, user_id: str, e164: str) -> Row[Any]:
    return await repository.insert_phone(
        ctx.conn,
        {
            "phone_id": ids.new_id("phone-number", ctx.live),
            "project_id": ctx.project_id,
            "user_id": user_id,
            "phone_number": e164,
            "verified": False,
            "created_at": ctx.clock.now(),
        },
    )


async def find_phone(ctx: Context, e164: str) -> Row[Any] | None:
    """The phone row of a normalized number (core/phones.py), or None."""
    return await repository.find_phone(ctx.conn, ctx.project_id, e164)


async def get_phone(ctx: Context, phone_id: str) -> Row[Any] | None:
    return await repository.get_phone(ctx.conn, ctx.project_id, phone_id)


async def add_phone(ctx: Context, user_id: str, e164: str) -> Row[Any]:
    """Attach a normalized number to a user; `duplicate_phone_number` if another user of the
    project has it, the existing row if this user does."""
    existing = await repository.find_phone(ctx.conn, ctx.project_id, e164)
    if existing is not None:
        if existing.user_id != user_id:
            raise errors.DuplicatePhoneNumber()
        return existing
    try:
        async with ctx.conn.begin_nested():
            return await _insert_phone(ctx, user_id, e164)
    except IntegrityError:
        raise errors.DuplicatePhoneNumber() from None


async def find_or_create_by_phone(
    ctx: Context,
    e164: str,
    *,
    pending: bool,
) -> tuple[Row[Any], Row[Any], bool]:
    """The user owning the normalized number, or a new one: (user, phone row, created).
    Two concurrent calls for one new number create one user, as for emails."""
    for _ in range(2):
        existing = await repository.find_phone(ctx.conn, ctx.project_id, e164)
        if existing is not None:
            return await load(ctx, existing.user_id), existing, False
        try:
            async with ctx.conn.begin_nested():
                row, _ = await create_user(ctx, email=None, pending=pending)
                phone = await _insert_phone(ctx, row.user_id, e164)
            return row, phone, True
        except IntegrityError:
            continue
    raise errors.DuplicatePhoneNumber()


async def verify_phone(ctx: Context, phone_id: str) -> None:
    await repository.verify_phone(ctx.conn, ctx.project_id, phone_id)


async def get_email(ctx: Context, email_id: str) -> Row[Any] | None:
    return await repository.get_email(ctx.conn, ctx.project_id, email_id)


async def find_email(ctx: Context, email: str) -> Row[Any] | None:
    return await repository.find_email(ctx.conn, ctx.project_id, email_rules.normalize(email))


async def verify_email(ctx: Context, email_id: str) -> None:
    """Mark the email verified; the first time, other areas hear of it (`UserEmailVerified`)."""
    user_id = await repository.verify_email(ctx.conn, ctx.project_id, email_id)
    if user_id is not None:
        await events.emit(ctx, events.UserEmailVerified(user_id, email_id))


async def delete_phone(ctx: Context, phone_id: str) -> Row[Any]:
    """Remove one phone number from its user (stytch.com/docs/api/delete-user-phone-number); returns the user."""
    phone = await repository.get_phone(ctx.conn, ctx.project_id, phone_id)
    if phone is None:
        raise errors.PhoneNumberNotFound(f"No phone number {phone_id!r} in this project.")
    await passcodes.forget(ctx, phone_id)
    await repository.delete_phone(ctx.conn, ctx.project_id, phone_id)
    return await repository.update_user(ctx.conn, ctx.project_id, phone.user_id, {"updated_at": ctx.clock.now()})


async def delete_external_id(ctx: Context, user_id: str) -> Row[Any]:
    row = await load(ctx, user_id)
    return await repository.update_user(
        ctx.conn, ctx.project_id, row.user_id, {"external_id": None, "updated_at": ctx.clock.now()}
    )


# Search (stytch.com/docs/api/search-users). Filters on factors keystile does not store
# yet (OAuth, WebAuthn, wallets, TOTP) are accepted and match no user
# holding one, which is every user.
FILTERS: dict[str, FilterKind] = {
    "email_address": FilterKind.STRINGS,
    "email_address_fuzzy": FilterKind.FUZZY,
    "email_id": FilterKind.STRINGS,
    "email_verified": FilterKind.BOOLEAN,
    "status": FilterKind.STRING,
    "user_id": FilterKind.STRINGS,
    "full_name_fuzzy": FilterKind.FUZZY,
    "created_at_greater_than": FilterKind.TIMESTAMP,
    "created_at_less_than": FilterKind.TIMESTAMP,
    "created_at_between": FilterKind.RANGE,
    "phone_number": FilterKind.STRINGS,
    "phone_id": FilterKind.STRINGS,
    "phone_number_fuzzy": FilterKind.FUZZY,
    "phone_verified": FilterKind.BOOLEAN,
    "oauth_provider": FilterKind.STRINGS,
    "webauthn_registration_id": FilterKind.STRINGS,
    "webauthn_registration_verified": FilterKind.BOOLEAN,
    "crypto_wallet_id": FilterKind.STRINGS,
    "crypto_wallet_address": FilterKind.STRINGS,
    "crypto_wallet_verified": FilterKind.BOOLEAN,
    "totp_id": FilterKind.STRINGS,
    "totp_verified": FilterKind.BOOLEAN,
    "password_exists": FilterKind.BOOLEAN,
}


async def search_users(
    ctx: Context, *, raw_query: Any, limit: int | None, cursor: str | None
) -> tuple[list[dict[str, Any]], int, str | None]:
    """One page of users matching the query: (users, total, next_cursor)."""
    query = search.parse_query(raw_query, FILTERS, SEARCH_PREFIX)
    page_size = search.check_limit(limit, SEARCH_PREFIX)
    page, total, next_cursor = await repository.search(ctx.conn, ctx.project_id, query, cursor=cursor, limit=page_size)
    found = await repository.emails_of(ctx.conn, ctx.project_id, [r.user_id for r in page])
    totps = await repository.totps_of(ctx.conn, ctx.project_id, [r.user_id for r in page], ctx.clock.now())
    phones = await repository.phones_of(ctx.conn, ctx.project_id, [r.user_id for r in page])
    return [user_json(r, found[r.user_id], totps[r.user_id], phones[r.user_id]) for r in page], total, next_cursor
