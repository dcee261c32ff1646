"""The passwords area's own Stytch errors (both products)."""

from keystile.errors import define

WeakPassword = define(
    "WeakPassword",
    400,
    "weak_password",
    "The password does not meet the project's strength requirements, or has appeared in a data breach: "
    "check it with passwords.strength_check.",
)
# A wrong password, and an email with no account or no password: the same error, so that a
# login does not tell which addresses have accounts.
WrongPassword = define("WrongPassword", 401, "unauthorized_credentials", "Unauthorized credentials.")
# The password is right but must be replaced first: require_reset was called, or the
# password was found in a breach at this login (stytch.com/docs/api/password-authenticate).
ResetPassword = define(
    "ResetPassword",
    400,
    "reset_password",
    "A password reset is required for this account before it can log in with a password. "
    "Reset it by email (passwords.email.reset_start) or with an existing session.",
)
PasswordNotFound = define("PasswordNotFound", 404, "password_not_found", "The password could not be found.")
InvalidPasswordHash = define(
    "InvalidPasswordHash", 400, "invalid_hash", "The hash is not a valid hash of the given hash_type."
)
# passwords.sessions.reset with a session whose email or password was not proven recently.
SessionTooOldToResetPassword = define(
    "SessionTooOldToResetPassword",
    400,
    "session_too_old_to_reset_password",
    "The session must have authenticated with a password, an email magic link or an email passcode "
    "in the last 5 minutes to reset the password: log in again, then reset it.",
)
