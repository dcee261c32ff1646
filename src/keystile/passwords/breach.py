"""Breached passwords: offline, a shipped list of the passwords most common in breaches;
online, when the operator turns it on, Have I Been Pwned's Pwned Passwords range API.

The shipped list is the 30,000 most frequent passwords of the breach corpus that zxcvbn ships
with (Xato's ten million leaked passwords; zxcvbn's `frequency_lists`, a dependency already):
a password is breached when it, or its lower-case form, is one of them. Nothing leaves the
machine for it.

With `KEYSTILE_PWNED_PASSWORDS_URL` set (https://api.pwnedpasswords.com), keystile also asks
the range API with k-anonymity (haveibeenpwned.com/API/v3#SearchingPwnedPasswordsByRange): only
the first 5 hexadecimal characters of the password's SHA-1 are sent; the answer lists every
suffix of that prefix with its count, and the match is made here. The request carries
`Add-Padding: true` so the answer's size does not hint at the prefix either.

It fails open: when the API does not answer within `KEYSTILE_PWNED_PASSWORDS_TIMEOUT` seconds
(2 by default) or answers an error, the password counts as not breached by it (the shipped list
still applies) and a warning is logged. A breach check guards against reuse of leaked
passwords; an outage of a third party must not stop every signup, reset and login with it.
"""

from __future__ import annotations

import hashlib
import logging
from functools import cache

import httpx

log = logging.getLogger("keystile.passwords")

MIN_COUNT = 1  # one sighting in a breach is enough (Stytch's rule)


@cache
def shipped() -> frozenset[str]:
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def in_shipped_list(password: str) -> bool:
    listed = shipped()
    return password in listed or password.lower() in listed


async def pwned_count(base_url: str, password: str, *, seconds: float) -> int | None:
    """How often the range API has seen `password`; None when it could not be asked."""
    digest = hashlib.sha1(password.encode()).hexdigest().upper()
    prefix, suffix = digest[:5], digest[5:]
    url = f"{base_url.rstrip('/')}/range/{prefix}"
    try:
        async with httpx.AsyncClient(timeout=seconds) as client:
            answer = await client.get(url, headers={"Add-Padding": "true", "User-Agent": "keystile"})
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        log.warning("Pwned Passwords did not answer (%s); counting the password as not breached", exc)
        return None
    for line in answer.text.splitlines():
        found, _, count = line.strip().partition(":")
        if found.upper() == suffix:
            try:
                return int(count)
            except ValueError:
                return 0
    return 0


async def is_breached(password: str, *, pwned_url: str | None, seconds: float) -> bool:
    """Whether `password` is known breached: the shipped list, then the range API if on."""
    if in_shipped_list(password):
        return True
    if pwned_url:
        count = await pwned_count(pwned_url, password, seconds=seconds)
        return count is not None and count >= MIN_COUNT
    return False
