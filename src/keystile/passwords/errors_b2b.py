"""The Stytch errors of the B2B password endpoints that the consumer ones do not raise."""

from __future__ import annotations

from keystile.errors import define

# A password that must be reset (require_reset, or found breached at login) until it is
# (PY `passwords_discovery.authenticate`: "will return a `member_reset_password` error").
MemberResetPassword = define(
    "MemberResetPassword",
    400,
    "member_reset_password",
    "The Member must reset their password before logging in with one: start a password reset by email.",
)
# Reset links: one error for a used, expired or revoked link; a subclass for an unknown one,
# so the rate limit counts only guesses (docs/adding-an-area.md, step 5).
UnableToAuthPasswordResetToken = define(
    "UnableToAuthPasswordResetToken",
    401,
    "unable_to_auth_password_reset_token",
    "The password reset link was already used, expired or was revoked. Send another one.",
)


class PasswordResetTokenNotFound(UnableToAuthPasswordResetToken):  # type: ignore[misc,valid-type]
    """A reset token that never existed in this project: a guess."""


MemberPasswordNotFound = define(
    "MemberPasswordNotFound", 404, "member_password_not_found", "The Member has no password."
)
SessionTooOldToResetPassword = define(
    "SessionTooOldToResetPassword",
    400,
    "session_too_old_to_reset_password",
    "The session must hold a factor authenticated in the last 5 minutes to reset the password; "
    "authenticate again, then reset.",
)
CrossOrgPasswordsNotEnabled = define(
    "CrossOrgPasswordsNotEnabled",
    400,
    "cross_org_passwords_not_enabled",
    "Discovery password endpoints need cross-organization passwords: set cross_org_passwords = true "
    "under [projects.passwords] in keystile.toml.",
)

ALL = (
    MemberResetPassword,
    UnableToAuthPasswordResetToken,
    PasswordResetTokenNotFound,
    MemberPasswordNotFound,
    SessionTooOldToResetPassword,
    CrossOrgPasswordsNotEnabled,
)
