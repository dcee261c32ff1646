"""The recovery codes area's own Stytch errors."""

from keystile.errors import define

RecoveryCodesNotFound = define(
    "RecoveryCodesNotFound", 404, "recovery_codes_not_found", "The Member has no recovery codes: create a TOTP first."
)
UnableToAuthenticateRecoveryCode = define(
    "UnableToAuthenticateRecoveryCode",
    401,
    "unable_to_authenticate_recovery_code",
    "The recovery code is incorrect or has already been used.",
)
