"""The scim area's own Stytch errors (connection management; the SCIM service answers
SCIM error bodies, scim/protocol.py)."""

from keystile.errors import define

ScimConnectionNotFound = define(
    "ScimConnectionNotFound", 404, "scim_connection_not_found", "The SCIM connection could not be found."
)
ScimConnectionAlreadyExists = define(
    "ScimConnectionAlreadyExists",
    400,
    "scim_connection_already_exists",
    "The organization already has a SCIM connection: an organization has at most one.",
)
ScimTokenRotationNotStarted = define(
    "ScimTokenRotationNotStarted",
    400,
    "scim_token_rotation_not_started",
    "No bearer token rotation is in progress for this SCIM connection: call rotate_start first.",
)
InvalidScimIdentityProvider = define(
    "InvalidScimIdentityProvider",
    400,
    "invalid_identity_provider",
    "identity_provider must be one of generic, okta, microsoft-entra, cyberark, jumpcloud, onelogin, "
    "pingfederate, rippling.",
)
ScimGroupNotFound = define(
    "ScimGroupNotFound",
    400,
    "scim_group_not_found",
    "A scim_group_implicit_role_assignments entry names a group_id that this SCIM connection has not provisioned.",
)
