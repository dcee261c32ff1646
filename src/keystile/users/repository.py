"""Queries on users and their emails; every one scoped by project."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, case, delete, exists, false, func, insert, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.sql import ColumnElement

from keystile import errors
from keystile.core import db
from keystile.core import emails as email_rules
from keystile.core import search as searching
from keystile.core.db import Connection, Lookup
from keystile.core.search import Operand
from keystile.core.tokens import VOID_REVOKED, TokenKind
from keystile.models.passwords import passwords
from keystile.models.tokens import tokens
from keystile.models.totps import user_totps
from keystile.models.users import user_emails, user_phone_numbers, users
from keystile.users.serializers import NAME_FIELDS

STATUSES = ("active", "pending")
SEARCH_PREFIX = "user_search"


def listed_totp(now: Any) -> ColumnElement[bool]:
    """The TOTPs the User object lists: verified ones, and pending ones not yet expired at `now`."""
    return or_(user_totps.c.verified.is_(True), user_totps.c.expires_at > now)


# For the session lookup (sessions/repository.py), correlated to the user it reads: whether
# the User has phone numbers, and TOTPs it lists. Most have neither, so the lookup only
# says whether to read them, and the common case stays one statement.
HAS_PHONE_NUMBERS = (
    exists()
    .where(user_phone_numbers.c.project_id == users.c.project_id, user_phone_numbers.c.user_id == users.c.user_id)
    .label("has_phone_numbers")
)
HAS_TOTPS = (
    exists()
    .where(
        user_totps.c.project_id == users.c.project_id,
        user_totps.c.user_id == users.c.user_id,
        listed_totp(bindparam("now")),
    )
    .label("has_totps")
)
# One User's phone numbers and listed TOTPs on the read path, when the session lookup says
# there are some: Lookups by user, which concurrent requests share on PostgreSQL (core/db.py;
# a shared TOTP read lists what is live at the latest of its callers' `now`, as the session
# lookup does).
PHONES_OF_USER = Lookup(
    lambda c: (
        select(user_phone_numbers)
        .where(c, user_phone_numbers.c.project_id == bindparam("project_id"))
        .order_by(user_phone_numbers.c.created_at, user_phone_numbers.c.phone_id)
    ),
    user_phone_numbers.c.user_id,
    "user_id",
    latest=(),
)
TOTPS_OF_USER = Lookup(
    lambda c: (
        select(user_totps.c.user_id, user_totps.c.totp_registration_id, user_totps.c.verified)
        .where(c, user_totps.c.project_id == bindparam("project_id"), listed_totp(bindparam("now")))
        .order_by(user_totps.c.created_at, user_totps.c.totp_registration_id)
    ),
    user_totps.c.user_id,
    "user_id",
)


async def find_user(conn: Connection, project_id: str, user_id: str) -> Row[Any] | None:
    """A user by `user_id`, or by the `external_id` the app set on it."""
    rows = (
        await conn.execute(
            select(users).where(
                users.c.project_id == project_id,
                or_(users.c.user_id == user_id, users.c.external_id == user_id),
            )
        )
    ).all()
    # A user_id wins over an external_id that happens to spell it.
    return next((r for r in rows if r.user_id == user_id), rows[0] if rows else None)


async def emails_of(conn: Connection, project_id: str, user_ids: Iterable[str]) -> dict[str, list[Row[Any]]]:
    ids = list(user_ids)
    found: dict[str, list[Row[Any]]] = {user_id: [] for user_id in ids}
    if not ids:
        return found
    rows = await conn.execute(
        select(user_emails)
        .where(user_emails.c.project_id == project_id, user_emails.c.user_id.in_(ids))
        .order_by(user_emails.c.created_at, user_emails.c.email_id)
    )
    for row in rows:
        found[row.user_id].append(row)
    return found


async def totps_of(
    conn: Connection, project_id: str, user_ids: Iterable[str], now: datetime
) -> dict[str, list[Row[Any]]]:
    """The users' TOTPs as the User object lists them: verified ones and pending ones not yet
    expired. The totps area writes `user_totps`; the User object, below it, only reads it."""
    ids = list(user_ids)
    found: dict[str, list[Row[Any]]] = {user_id: [] for user_id in ids}
    if not ids:
        return found
    rows = await conn.execute(
        select(user_totps.c.user_id, user_totps.c.totp_registration_id, user_totps.c.verified)
        .where(
            user_totps.c.project_id == project_id,
            user_totps.c.user_id.in_(ids),
            listed_totp(now),
        )
        .order_by(user_totps.c.created_at, user_totps.c.totp_registration_id)
    )
    for row in rows:
        found[row.user_id].append(row)
    return found


async def phones_of(conn: Connection, project_id: str, user_ids: Iterable[str]) -> dict[str, list[Row[Any]]]:
    ids = list(user_ids)
    found: dict[str, list[Row[Any]]] = {user_id: [] for user_id in ids}
    if not ids:
        return found
    rows = await conn.execute(
        select(user_phone_numbers)
        .where(user_phone_numbers.c.project_id == project_id, user_phone_numbers.c.user_id.in_(ids))
        .order_by(user_phone_numbers.c.created_at, user_phone_numbers.c.phone_id)
    )
    for row in rows:
        found[row.user_id].append(row)
    return found


async def find_phone(conn: Connection, project_id: str, e164: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(user_phone_numbers).where(
                user_phone_numbers.c.project_id == project_id, user_phone_numbers.c.phone_number == e164
            )
        )
    ).first()


async def get_phone(conn: Connection, project_id: str, phone_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(user_phone_numbers).where(
                user_phone_numbers.c.project_id == project_id, user_phone_numbers.c.phone_id == phone_id
            )
        )
    ).first()


async def insert_phone(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    return (await conn.execute(insert(user_phone_numbers).values(**values).returning(user_phone_numbers))).one()


async def verify_phone(conn: Connection, project_id: str, phone_id: str) -> None:
    await conn.execute(
        update(user_phone_numbers)
        .where(user_phone_numbers.c.project_id == project_id, user_phone_numbers.c.phone_id == phone_id)
        .values(verified=True)
    )


async def delete_phone(conn: Connection, project_id: str, phone_id: str) -> None:
    await conn.execute(
        delete(user_phone_numbers).where(
            user_phone_numbers.c.project_id == project_id, user_phone_numbers.c.phone_id == phone_id
        )
    )


async def find_email(conn: Connection, project_id: str, normalized: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(user_emails).where(
                user_emails.c.project_id == project_id, user_emails.c.email_normalized == normalized
            )
        )
    ).first()


async def get_email(conn: Connection, project_id: str, email_id: str) -> Row[Any] | None:
    return (
        await conn.execute(
            select(user_emails).where(user_emails.c.project_id == project_id, user_emails.c.email_id == email_id)
        )
    ).first()


async def external_id_owner(conn: Connection, project_id: str, external_id: str) -> str | None:
    return (
        await conn.execute(
            select(users.c.user_id).where(users.c.project_id == project_id, users.c.external_id == external_id)
        )
    ).scalar()


async def owners_of_emails(conn: Connection, project_id: str, normalized: list[str]) -> dict[str, str]:
    """Normalized email → user_id, for those of `normalized` a user of the project has
    (`keystile import` reads a batch's in one statement)."""
    if not normalized:
        return {}
    rows = await conn.execute(
        select(user_emails.c.email_normalized, user_emails.c.user_id).where(
            user_emails.c.project_id == project_id, user_emails.c.email_normalized.in_(list(set(normalized)))
        )
    )
    return {row.email_normalized: row.user_id for row in rows}


async def owners_of_external_ids(conn: Connection, project_id: str, external_ids: list[str]) -> dict[str, str]:
    """external_id → user_id, for those of `external_ids` a user of the project has."""
    if not external_ids:
        return {}
    rows = await conn.execute(
        select(users.c.external_id, users.c.user_id).where(
            users.c.project_id == project_id, users.c.external_id.in_(list(set(external_ids)))
        )
    )
    return {row.external_id: row.user_id for row in rows}


async def insert_user(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    return (await conn.execute(insert(users).values(**values).returning(users))).one()


async def insert_email(conn: Connection, values: dict[str, Any]) -> Row[Any]:
    return (await conn.execute(insert(user_emails).values(**values).returning(user_emails))).one()


async def update_user(conn: Connection, project_id: str, user_id: str, values: dict[str, Any]) -> Row[Any]:
    return (
        await conn.execute(
            update(users)
            .where(users.c.project_id == project_id, users.c.user_id == user_id)
            .values(**values)
            .returning(users)
        )
    ).one()


async def set_password(
    conn: Connection, project_id: str, user_id: str, password_id: str | None, *, requires_reset: bool = False
) -> None:
    """Keep User.password on the user row (the passwords area holds the hash): its id, None
    when the User has none, and whether it must be reset."""
    await conn.execute(
        update(users)
        .where(users.c.project_id == project_id, users.c.user_id == user_id)
        .values(password_id=password_id, password_requires_reset=requires_reset and password_id is not None)
    )


async def refresh_statistics(conn: Connection) -> None:
    """The planner's statistics of the user tables, after a bulk load (core/db.py)."""
    await db.refresh_statistics(conn, users, user_emails, user_phone_numbers)


async def mirror_passwords(conn: Connection, project_id: str, user_ids: list[str]) -> None:
    """`set_password` for many users at once, in one statement: each one's password_id
    read from `passwords` (which the passwords area has just written), none to reset."""
    if not user_ids:
        return
    await conn.execute(
        update(users)
        .where(users.c.project_id == project_id, users.c.user_id.in_(user_ids))
        .values(
            password_id=select(passwords.c.password_id)
            .where(passwords.c.project_id == project_id, passwords.c.user_id == users.c.user_id)
            .scalar_subquery(),
            password_requires_reset=False,
        )
    )


async def insert_many(
    conn: Connection,
    user_rows: list[dict[str, Any]],
    email_rows: list[dict[str, Any]],
    phone_rows: list[dict[str, Any]],
) -> None:
    """Insert many users with their emails and phone numbers, a statement per table
    (`keystile import`; the caller has checked each as create_user does). A unique
    constraint error is the caller's to handle."""
    if user_rows:
        await conn.execute(insert(users), user_rows)
    if email_rows:
        await conn.execute(insert(user_emails), email_rows)
    if phone_rows:
        await conn.execute(insert(user_phone_numbers), phone_rows)


async def owners_of_phones(conn: Connection, project_id: str, numbers: list[str]) -> dict[str, str]:
    """E.164 number → user_id, for those of `numbers` a user of the project has."""
    if not numbers:
        return {}
    rows = await conn.execute(
        select(user_phone_numbers.c.phone_number, user_phone_numbers.c.user_id).where(
            user_phone_numbers.c.project_id == project_id, user_phone_numbers.c.phone_number.in_(list(set(numbers)))
        )
    )
    return {row.phone_number: row.user_id for row in rows}


async def set_oauth_providers(conn: Connection, project_id: str, user_id: str, providers: list[dict[str, Any]]) -> None:
    """The User's `providers` as the oauth area keeps them on the row (users/serializers.py)."""
    await conn.execute(
        update(users)
        .where(users.c.project_id == project_id, users.c.user_id == user_id)
        .values(oauth_providers=providers)
    )


async def verify_email(conn: Connection, project_id: str, email_id: str) -> str | None:
    """Mark the email verified; the id of its User when it was not verified before, else None."""
    return (
        await conn.execute(
            update(user_emails)
            .where(
                user_emails.c.project_id == project_id,
                user_emails.c.email_id == email_id,
                user_emails.c.verified.is_(False),
            )
            .values(verified=True)
            .returning(user_emails.c.user_id)
        )
    ).scalar()


async def delete_email(conn: Connection, project_id: str, email_id: str) -> None:
    await conn.execute(
        delete(user_emails).where(user_emails.c.project_id == project_id, user_emails.c.email_id == email_id)
    )


async def delete_user(conn: Connection, project_id: str, user_id: str) -> None:
    # Emails and sessions go with the user (ON DELETE CASCADE).
    await conn.execute(delete(users).where(users.c.project_id == project_id, users.c.user_id == user_id))


async def void_links(
    conn: Connection,
    project_id: str,
    now: datetime,
    *,
    user_id: str | None = None,
    email_id: str | None = None,
) -> int:
    """Make a user's (or one email's) outstanding consumer magic links unusable."""
    condition = tokens.c.user_id == user_id if user_id else tokens.c.email_id == email_id
    result = await conn.execute(
        update(tokens)
        .where(
            condition,
            tokens.c.project_id == project_id,
            tokens.c.kind == TokenKind.CONSUMER_MAGIC_LINK.value,
            tokens.c.used_at.is_(None),
        )
        .values(used_at=now, void_reason=VOID_REVOKED)
    )
    return result.rowcount or 0


async def count(conn: Connection, project_id: str, condition: ColumnElement[bool] | None) -> int:
    query = select(func.count()).select_from(users).where(users.c.project_id == project_id)
    if condition is not None:
        query = query.where(condition)
    return int((await conn.execute(query)).scalar() or 0)


# --- Search (stytch.com/docs/api/search-users) ---


async def search(
    conn: Connection, project_id: str, query: searching.Query, *, cursor: str | None, limit: int
) -> tuple[list[Row[Any]], int, str | None]:
    """One page of the project's users matching a parsed search, the total, the next cursor."""
    condition = query.combine([_condition(op) for op in query.operands])
    base = select(users).where(users.c.project_id == project_id)
    if condition is not None:
        base = base.where(condition)
    paged = searching.paginate(
        base, users.c.created_at, users.c.user_id, limit=limit, cursor=cursor, prefix=SEARCH_PREFIX
    )
    rows = list((await conn.execute(paged)).all())
    page, next_cursor = searching.page_results(rows, limit, "created_at", "user_id")
    return page, await count(conn, project_id, condition), next_cursor


def _has_email(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(user_emails.c.email_id).where(
            user_emails.c.user_id == users.c.user_id, user_emails.c.project_id == users.c.project_id, *conditions
        )
    )


def _has_phone(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    return exists(
        select(user_phone_numbers.c.phone_id).where(
            user_phone_numbers.c.user_id == users.c.user_id,
            user_phone_numbers.c.project_id == users.c.project_id,
            *conditions,
        )
    )


def _as_stored(number: str) -> str:
    """A searched number as stored (E.164), with or without its `+`; else as given."""
    text = number.strip()
    return text if text.startswith("+") else f"+{text}"


def _full_name() -> ColumnElement[str]:
    """ "first middle last" (no double space without a middle name), lower-cased."""
    first, middle, last = (func.coalesce(users.c.name[field].as_string(), "") for field in NAME_FIELDS)
    middle_part = case((middle != "", middle + " "), else_="")
    return func.lower(first + " " + middle_part + last)


def _condition(operand: Operand) -> ColumnElement[bool]:
    name, value = operand.name, operand.value
    if name == "email_address":
        return _has_email(user_emails.c.email_normalized.in_([email_rules.normalize(v) for v in value]))
    if name == "email_address_fuzzy":
        return _has_email(user_emails.c.email_normalized.contains(value.strip().lower(), autoescape=True))
    if name == "email_id":
        return _has_email(user_emails.c.email_id.in_(value))
    if name == "email_verified":
        return _has_email(user_emails.c.verified == value)
    if name == "status":
        if value not in STATUSES:
            raise errors.search_errors(SEARCH_PREFIX)["expected_string"](
                f'The status filter_value must be "active" or "pending", not {value!r}.'
            )
        return users.c.status == value
    if name == "user_id":
        return users.c.user_id.in_(value)
    if name == "full_name_fuzzy":
        return _full_name().contains(value.strip().lower(), autoescape=True)
    if name == "created_at_greater_than":
        return users.c.created_at > value
    if name == "created_at_less_than":
        return users.c.created_at < value
    if name == "created_at_between":
        if not value:
            raise errors.search_errors(SEARCH_PREFIX)["invalid_timestamp"](
                "The created_at_between filter_value needs greater_than and/or less_than."
            )
        bounds = []
        if "greater_than" in value:
            bounds.append(users.c.created_at > value["greater_than"])
        if "less_than" in value:
            bounds.append(users.c.created_at < value["less_than"])
        return bounds[0] if len(bounds) == 1 else bounds[0] & bounds[1]
    if name == "phone_number":
        return _has_phone(user_phone_numbers.c.phone_number.in_([_as_stored(v) for v in value]))
    if name == "phone_number_fuzzy":
        return _has_phone(user_phone_numbers.c.phone_number.contains(value.strip().lstrip("+"), autoescape=True))
    if name == "phone_id":
        return _has_phone(user_phone_numbers.c.phone_id.in_(value))
    if name == "phone_verified":
        return _has_phone(user_phone_numbers.c.verified == value)
    if name == "password_exists":
        return users.c.password_id.is_not(None) if value else users.c.password_id.is_(None)
    # Factors keystile does not store yet (OAuth, WebAuthn, wallets, TOTP): no match.
    return false()
