"""The TOTP area's own Stytch errors."""

from keystile.errors import define

TotpNotFound = define("TotpNotFound", 404, "totp_not_found", "The Member has no TOTP registration.")
ActiveTotpExists = define(
    "ActiveTotpExists",
    400,
    "active_totp_exists",
    "The Member already has an active TOTP registration: delete it before minting a new one.",
)
UnableToAuthenticateTotp = define(
    "UnableToAuthenticateTotp", 401, "unable_to_authenticate_totp", "The TOTP code is incorrect or expired."
)
TotpCodeAlreadyAuthenticated = define(
    "TotpCodeAlreadyAuthenticated",
    401,
    "totp_code_already_authenticated",
    "This TOTP code has already been authenticated. Please attempt with the next generated code.",
)
