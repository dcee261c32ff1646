"""Phone numbers: parsed and written as E.164 (`phonenumbers`), and the countries a project
sends text messages to, the guard against SMS toll fraud.

Every number that enters keystile passes `normalize`, so one person's number is one string
however it was typed. Every text the outbox queues passes `require_allowed_country`: an SMS
to a premium-rate or unexpected country is refused before anything is written or paid for
(stytch.com/docs/guides/passcodes/toll-fraud/guide).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import phonenumbers
from sqlalchemy import select, update

from keystile import errors
from keystile.models.projects import projects

if TYPE_CHECKING:
    from keystile.core.context import Context
    from keystile.core.db import Connection

# What a project sends texts to unless it says otherwise: Stytch's default, which enables
# SMS to the United States and Canada only and international SMS on request. A region, not a
# calling code: +1 is shared by the US, Canada and some twenty Caribbean countries, several of
# them favourite toll-fraud destinations (e.g. Jamaica, +1 876), which stay refused.
DEFAULT_COUNTRY_CODES: tuple[str, ...] = ("US", "CA")

# Longer input is not a phone number; refusing it early keeps the parser's work bounded.
_MAX_INPUT = 64
# A `+`, then digits and the separators people type; no letters (the parser would read
# vanity numbers such as 1-800-FLOWERS), no second `+`.
_TYPED = re.compile(r"\+[0-9][0-9 ().\-]*")


def normalize(raw: str) -> str:
    """`raw` as E.164 (`+12025550142`), or Stytch's `invalid_phone_number` 400.

    The number must carry its country calling code (a leading `+`), as Stytch requires; spaces,
    dashes, dots and parentheses between the digits are accepted. A number no country's
    numbering plan allows (too short, unassigned ranges) is refused."""
    text = raw.strip() if isinstance(raw, str) else ""
    if len(text) > _MAX_INPUT or not _TYPED.fullmatch(text):
        raise errors.InvalidPhoneNumber()
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise errors.InvalidPhoneNumber() from None
    if not phonenumbers.is_valid_number(parsed):
        raise errors.InvalidPhoneNumber()
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def country_of(e164: str) -> str | None:
    """The ISO 3166-1 alpha-2 region of a normalized number (`US`, `JM`), or None."""
    try:
        return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def clean_country_codes(codes: Iterable[str]) -> list[str]:
    """Region codes as stored: upper case, known to `phonenumbers`, sorted, no duplicates.
    Raises ValueError naming the first unknown code (the CLI and keystile.toml show it)."""
    cleaned: set[str] = set()
    for code in codes:
        upper = code.strip().upper()
        if upper not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"{code!r} is not an ISO 3166-1 alpha-2 country code with phone numbers (e.g. US, CA, GB)")
        cleaned.add(upper)
    return sorted(cleaned)


async def allowed_countries(conn: Connection | Any, project_id: str) -> list[str]:
    """The regions this project sends texts to: its own list, or DEFAULT_COUNTRY_CODES."""
    stored = await conn.scalar(select(projects.c.sms_country_codes).where(projects.c.project_id == project_id))
    return list(DEFAULT_COUNTRY_CODES) if stored is None else list(stored)


async def set_allowed_countries(conn: Connection | Any, project_id: str, codes: Sequence[str] | None) -> bool:
    """Store the project's list (None: back to the default); False when there is no such project."""
    value = None if codes is None else clean_country_codes(codes)
    result = await conn.execute(
        update(projects).where(projects.c.project_id == project_id).values(sms_country_codes=value)
    )
    return bool(result.rowcount)


async def require_allowed_country(ctx: Context, e164: str) -> None:
    """Refuse a text to a country the project does not send to (`invalid_phone_number_country_code`)."""
    country = country_of(e164)
    allowed = await allowed_countries(ctx.conn, ctx.project_id)
    if country is None or country not in allowed:
        raise errors.InvalidPhoneNumberCountryCode(
            f"This project does not send text messages to phone numbers of {country or 'this country'} "
            f"(allowed country codes: {', '.join(allowed) or 'none'})."
        )
