"""Email addresses: validated once, looked up normalized, returned as given."""

from __future__ import annotations

import email_validator

from keystile import errors


def validate(address: str) -> str:
    """The address as given (trimmed), or `invalid_email`."""
    address = address.strip()
    try:
        email_validator.validate_email(address, check_deliverability=False, test_environment=True)
    except email_validator.EmailNotValidError as exc:
        raise errors.InvalidEmail(f"Email format is invalid: {exc}") from None
    return address


def normalize(address: str) -> str:
    """The lookup key: trimmed and lower-cased (local parts are case-insensitive in practice)."""
    return address.strip().lower()


def domain(address: str) -> str:
    return normalize(address).rsplit("@", 1)[-1]
