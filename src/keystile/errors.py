"""Stytch's error catalogue: one class per `error_type`, rendered in one place (app.py).

Every failure a client can cause is one of these. A 500 is a bug.
"""

from __future__ import annotations

from typing import ClassVar


class StytchError(Exception):
    status_code: ClassVar[int] = 400
    error_type: ClassVar[str] = "bad_request"
    error_message: ClassVar[str] = "The request was malformed."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.error_message
        super().__init__(self.message)

    @property
    def error_url(self) -> str:
        return f"https://stytch.com/docs/api/errors/{self.status_code}#{self.error_type}"


def _error(name: str, status: int, error_type: str, message: str) -> type[StytchError]:
    return type(name, (StytchError,), {"status_code": status, "error_type": error_type, "error_message": message})


def define(name: str, status: int, error_type: str, message: str) -> type[StytchError]:
    """A Stytch error class: how an area defines errors of its own (`<area>/errors.py`)."""
    return _error(name, status, error_type, message)


# Generic
BadRequest = _error("BadRequest", 400, "bad_request", "The request was malformed.")
InvalidArgument = _error("InvalidArgument", 400, "invalid_argument", "A request field was invalid.")
RequestTooLarge = _error("RequestTooLarge", 413, "request_too_large", "The request body is too large.")
UnauthorizedCredentials = _error(
    "UnauthorizedCredentials", 401, "unauthorized_credentials", "Unauthorized credentials."
)
TooManyRequests = _error("TooManyRequests", 429, "too_many_requests", "Too many requests have been made.")
RouteNotFound = _error("RouteNotFound", 404, "route_not_found", "The requested route was not found.")
MethodNotAllowed = _error(
    "MethodNotAllowed", 405, "method_not_allowed", "The HTTP method is not allowed on this route."
)
# A path of Stytch's API that keystile does not serve yet (core/stytch_api.py), so that it does
# not read like a wrong base URL.
EndpointNotImplemented = _error(
    "EndpointNotImplemented", 501, "endpoint_not_implemented", "keystile does not serve this Stytch endpoint yet."
)
InternalServerError = _error(
    "InternalServerError",
    500,
    "internal_server_error",
    "Oops, something seems to have gone wrong, please reach out to support@stytch.com to let us know what went wrong.",
)
InvalidEmail = _error("InvalidEmail", 400, "invalid_email", "Email format is invalid.")
# Phone numbers (core/phones.py): raised where a number enters, and where a text is queued.
InvalidPhoneNumber = _error(
    "InvalidPhoneNumber",
    400,
    "invalid_phone_number",
    "Phone number format is invalid. Phone numbers must be in E.164 format, e.g. +12025550142.",
)
InvalidPhoneNumberCountryCode = _error(
    "InvalidPhoneNumberCountryCode",
    400,
    "invalid_phone_number_country_code",
    "This project does not send text messages to phone numbers of this country.",
)
InvalidSessionDuration = _error(
    "InvalidSessionDuration",
    400,
    "invalid_session_duration_minutes",
    "session_duration_minutes must be between 5 and 527040 minutes (366 days).",
)
InvalidExpiration = _error(
    "InvalidExpiration",
    400,
    "invalid_expiration_minutes",
    "Expiration minutes must be between 5 and 10080 minutes (7 days).",
)
CustomClaimsTooLarge = _error(
    "CustomClaimsTooLarge", 400, "custom_claims_too_large", "Session custom claims must be at most 4KB."
)
ReservedClaims = _error(
    "ReservedClaims",
    400,
    "reserved_claims_in_custom_claims",
    "Session custom claims may not use the reserved claims iss, sub, aud, exp, nbf, iat or jti.",
)
StytchClaims = _error(
    "StytchClaims",
    400,
    "stytch_claims_in_custom_claims",
    "Session custom claims may not use claims under the https://stytch.com/ namespace.",
)

# Redirect URLs: three errors per redirect type, looked up by `redirect_url_errors(type)`.
_REDIRECT_URL_ERRORS: dict[str, tuple[type[StytchError], type[StytchError], type[StytchError]]] = {}
for _type in ("login", "signup", "invite", "discovery", "reset_password"):
    _REDIRECT_URL_ERRORS[_type] = (
        _error(
            "NoRedirectURLsSet",
            400,
            f"no_{_type}_redirect_urls_set",
            f"No {_type} redirect URLs are set for this project. Add one with "
            f"`keystile redirect-urls add --type {_type}`.",
        ),
        _error(
            "NoDefaultRedirectURLSet",
            400,
            f"no_default_{_type}_redirect_url_set",
            f"No default {_type} redirect URL is set for this project; pass one in the request or set a "
            f"default with `keystile redirect-urls add --type {_type} --default`.",
        ),
        _error(
            "InvalidRedirectURL",
            400,
            f"invalid_{_type}_redirect_url",
            f"The {_type} redirect URL is not in this project's redirect URL allowlist for type {_type}.",
        ),
    )


def redirect_url_errors(redirect_type: str) -> tuple[type[StytchError], type[StytchError], type[StytchError]]:
    """(none set, no default, not allowed) for one redirect type."""
    return _REDIRECT_URL_ERRORS[redirect_type]


# Magic links and tokens
UnableToAuthMagicLink = _error(
    "UnableToAuthMagicLink",
    401,
    "unable_to_auth_magic_link",
    "The magic link could not be authenticated because it was either already used or expired. "
    "Send another magic link to this user.",
)
MagicLinkNotFound = _error(
    "MagicLinkNotFound",
    404,
    "magic_link_not_found",
    "The magic link could not be authenticated, try sending another magic link to the user.",
)
# A browser-facing route (SSO or OAuth start, a callback) whose public_token names no project;
# declared by the sso area.
InvalidPublicToken = _error(
    "InvalidPublicToken", 401, "invalid_public_token", "The public_token does not name a project."
)
PKCEMismatch = _error("PKCEMismatch", 400, "pkce_mismatch", "The PKCE code verifier does not match the challenge.")
PKCEExpectedCodeVerifier = _error(
    "PKCEExpectedCodeVerifier",
    400,
    "pkce_expected_code_verifier",
    "This token was sent with a PKCE code challenge; a pkce_code_verifier is required.",
)
PKCEDidNotExpectCodeVerifier = _error(
    "PKCEDidNotExpectCodeVerifier",
    400,
    "pkce_did_not_expect_code_verifier",
    "This token was sent without a PKCE code challenge; do not pass a pkce_code_verifier.",
)
IntermediateSessionNotFound = _error(
    "IntermediateSessionNotFound",
    404,
    "intermediate_session_not_found",
    "Intermediate session could not be found.",
)
TooManyDiscoveryArguments = _error(
    "TooManyDiscoveryArguments",
    400,
    "too_many_session_arguments",
    "Pass exactly one of intermediate_session_token, session_token or session_jwt.",
)
NoDiscoveryArguments = _error(
    "NoDiscoveryArguments",
    400,
    "no_session_arguments",
    "One of intermediate_session_token, session_token or session_jwt is required.",
)
InvalidIntermediateSessionForOrganization = _error(
    "InvalidIntermediateSessionForOrganization",
    403,
    "invalid_intermediate_session_token_for_organization",
    "The intermediate session cannot be exchanged for a session in this organization.",
)
EmailJITProvisioningNotAllowed = _error(
    "EmailJITProvisioningNotAllowed",
    403,
    "email_jit_provisioning_not_allowed",
    "This organization does not allow just-in-time provisioning for this email address.",
)
OAuthTenantJITProvisioningNotAllowed = _error(
    "OAuthTenantJITProvisioningNotAllowed",
    403,
    "oauth_tenant_jit_provisioning_not_allowed",
    "This organization does not allow just-in-time provisioning for this OAuth provider's tenant.",
)

# Sessions
SessionNotFound = _error("SessionNotFound", 404, "session_not_found", "Session could not be found.")
TooManySessionArguments = _error(
    "TooManySessionArguments",
    400,
    "too_many_session_arguments",
    "Pass either session_token or session_jwt, not both.",
)
NoSessionArguments = _error(
    "NoSessionArguments", 400, "no_session_arguments", "Either session_token or session_jwt is required."
)
NoSessionRevokeArguments = _error(
    "NoSessionRevokeArguments",
    400,
    "no_session_revoke_arguments",
    "One of the session id, session_token or session_jwt is required.",
)
TooManySessionRevokeArguments = _error(
    "TooManySessionRevokeArguments",
    400,
    "too_many_session_revoke_arguments",
    "Pass only one of the session id, session_token or session_jwt.",
)
UnableToParseSessionJWT = _error(
    "UnableToParseSessionJWT", 401, "unable_to_parse_session_jwt", "The session JWT could not be parsed."
)
InvalidSessionJWT = _error(
    "InvalidSessionJWT", 401, "jwt_invalid_claims", "The session JWT is not valid for this project."
)
SessionNotMutableImpersonated = _error(
    "SessionNotMutableImpersonated",
    400,
    "session_not_mutable_impersonated",
    "This session was started by impersonation: it cannot be extended, changed, exchanged or given other "
    "factors. Start a new session to do that.",
)
SessionAuthorizationTenancyError = _error(
    "SessionAuthorizationTenancyError",
    403,
    "session_authorization_tenancy_error",
    "The session's organization does not match the organization in the authorization check.",
)

# Organizations and members
OrganizationNotFound = _error("OrganizationNotFound", 404, "organization_not_found", "Organization could not be found.")
OrganizationSlugAlreadyUsed = _error(
    "OrganizationSlugAlreadyUsed",
    400,
    "organization_slug_already_used",
    "The provided organization_slug is already used in another organization.",
)
InvalidOrganizationSlug = _error(
    "InvalidOrganizationSlug",
    400,
    "invalid_organization_slug",
    "The organization_slug must be at least 2 characters long and may only contain alphanumerics and the "
    "reserved characters '-', '.', '_', or '~'. At least one character must be alphanumeric.",
)
InvalidOrganizationName = _error(
    "InvalidOrganizationName",
    400,
    "invalid_organization_name",
    "The organization_name must be between 1 and 128 characters.",
)
OrganizationNameMissing = _error(
    "OrganizationNameMissing", 400, "organization_name_missing", "organization_name is required."
)
DuplicateOrganizationExternalId = _error(
    "DuplicateOrganizationExternalId",
    400,
    "duplicate_organization_external_id",
    "The provided organization_external_id is already used by another organization.",
)
InvalidOrganizationSettings = _error(
    "InvalidOrganizationSettings",
    400,
    "invalid_organization_auth_factor_setting",
    "The organization's authentication settings are invalid.",
)
AllowedAuthMethodsRequiredForRestricted = _error(
    "AllowedAuthMethodsRequiredForRestricted",
    400,
    "allowed_auth_methods_required_for_restricted",
    "allowed_auth_methods must be set when auth_methods is RESTRICTED.",
)
InvalidRestrictedEmailSetting = _error(
    "InvalidRestrictedEmailSetting",
    400,
    "invalid_restricted_email_setting",
    "email_allowed_domains must be set to restrict email_jit_provisioning or email_invites.",
)
OrganizationSettingsInvalidDomain = _error(
    "OrganizationSettingsInvalidDomain",
    400,
    "organization_settings_invalid_domain",
    "One of the email domains is not a valid domain.",
)
OrganizationSettingsDomainTooCommon = _error(
    "OrganizationSettingsDomainTooCommon",
    400,
    "organization_settings_domain_too_common",
    "Common email provider domains cannot be used as allowed domains.",
)
MemberNotFound = _error("MemberNotFound", 404, "member_not_found", "Member could not be found.")
DuplicateMemberEmail = _error(
    "DuplicateMemberEmail",
    400,
    "duplicate_member_email",
    "A member with this email address already exists in this organization.",
)
DuplicateMemberExternalId = _error(
    "DuplicateMemberExternalId",
    400,
    "duplicate_member_external_id",
    "A member with this external_id already exists in this organization.",
)
MemberAlreadyActive = _error(
    "MemberAlreadyActive",
    400,
    "member_already_active",
    "This member is already active in the organization and cannot be invited.",
)
InvalidEmailForInvites = _error(
    "InvalidEmailForInvites",
    403,
    "invalid_email_for_invites",
    "This organization does not allow invites to this email address.",
)
MemberDeleted = _error("MemberDeleted", 400, "member_deleted", "This member has been deleted; reactivate it first.")

# Search: the same failures under each search's prefix, looked up by `search_errors(prefix)`.
_SEARCH_FAILURES = {
    "invalid_cursor": "The cursor is invalid; pass the next_cursor of a previous response.",
    "invalid_limit": "limit must be between 1 and 1000.",
    "invalid_operator": "query.operator must be AND or OR.",
    "filter_name_not_recognized": "The filter_name is not recognized.",
    "missing_filter_name": "Every operand needs a filter_name.",
    "missing_filter_value": "Every operand needs a filter_value.",
    "expected_string": "This filter_value must be a string.",
    "expected_array_of_strings": "This filter_value must be an array of strings.",
    "expected_boolean": "This filter_value must be a boolean.",
    "fuzzy_too_short": "Fuzzy search filters need at least 3 characters.",
    "maximum_filter_value_count_exceeded": "A filter_value may hold at most 1000 values.",
    "invalid_timestamp": "This filter_value must be an RFC 3339 timestamp.",
}
_SEARCH_ERRORS: dict[str, dict[str, type[StytchError]]] = {
    prefix: {
        failure: _error("SearchError", 400, f"{prefix}_{failure}", message)
        for failure, message in _SEARCH_FAILURES.items()
    }
    for prefix in ("organization_search", "member_search", "user_search")
}


def search_errors(prefix: str) -> dict[str, type[StytchError]]:
    """The search errors of one search endpoint, keyed by failure (`invalid_cursor`, …)."""
    return _SEARCH_ERRORS[prefix]


MemberSearchOrganizationIdsEmpty = _error(
    "MemberSearchOrganizationIdsEmpty",
    400,
    "member_search_organization_ids_empty",
    "organization_ids must contain at least one organization.",
)

# Consumer
UserNotFound = _error("UserNotFound", 404, "user_not_found", "User could not be found.")
EmailNotFound = _error("EmailNotFound", 404, "email_not_found", "Email could not be found.")
DuplicateEmail = _error(
    "DuplicateEmail", 400, "duplicate_email", "A user with this email address already exists in this project."
)
PhoneNumberNotFound = _error("PhoneNumberNotFound", 404, "phone_number_not_found", "Phone number could not be found.")
DuplicatePhoneNumber = _error(
    "DuplicatePhoneNumber", 400, "duplicate_phone_number", "A user with this phone number already exists."
)
DuplicateUserExternalId = _error(
    "DuplicateUserExternalId",
    400,
    "duplicate_user_external_id",
    "A user with this external_id already exists in this project.",
)
UserAlreadyActive = _error(
    "UserAlreadyActive", 400, "user_already_active", "This user is already active and cannot be invited."
)
InviteNotFound = _error("InviteNotFound", 404, "invite_not_found", "No pending invite exists for this email.")
ProjectNotFound = _error("ProjectNotFound", 404, "project_not_found", "Project could not be found.")

# RBAC: authorization checks and policy validation
SessionAuthorizationError = _error(
    "SessionAuthorizationError",
    403,
    "session_authorization_error",
    "The Member is not authorized to perform the requested action on that resource.",
)
UnauthorizedAction = _error(
    "UnauthorizedAction",
    403,
    "unauthorized_action",
    "The Member Session passed in the request headers does not have permission to perform this action.",
)
CannotUpdateTrustedMetadata = _error(
    "CannotUpdateTrustedMetadata",
    400,
    "cannot_update_trusted_metadata",
    "trusted_metadata cannot be updated when the request acts as a Member (a session header was passed).",
)
InvalidRBACRoleID = _error(
    "InvalidRBACRoleID",
    400,
    "invalid_rbac_role_id",
    "The role_id is not a role of the project's RBAC policy or of the organization's custom roles.",
)
InvalidRBACRoleAssignment = _error(
    "InvalidRBACRoleAssignment",
    400,
    "invalid_rbac_role_assignment",
    "The role assignment provided is not properly formatted. Make sure both a domain and role_id are included.",
)
InvalidRBACCustomRole = _error(
    "InvalidRBACCustomRole", 400, "invalid_rbac_custom_role", "The organization's custom role is invalid."
)
InvalidRBACStytchRoleEdit = _error(
    "InvalidRBACStytchRoleEdit",
    400,
    "invalid_rbac_stytch_role_edit",
    "Roles whose role_id starts with stytch_ are Stytch's default roles and cannot be defined here.",
)
InvalidStytchPrefixedResource = _error(
    "InvalidStytchPrefixedResource",
    400,
    "invalid_stytch_prefixed_resource",
    "A custom resource_id may not start with stytch; that prefix is reserved for Stytch's default resources.",
)
InvalidPermissionResource = _error(
    "InvalidPermissionResource",
    400,
    "invalid_permission_resource",
    "A permission names a resource_id the policy does not declare.",
)
InvalidPermissionAction = _error(
    "InvalidPermissionAction",
    400,
    "invalid_permission_action",
    "A permission names an action its resource does not declare.",
)
RBACRoleDuplicate = _error("RBACRoleDuplicate", 400, "rbac_role_duplicate", "A role_id is declared twice.")
RBACResourceDuplicate = _error(
    "RBACResourceDuplicate", 400, "rbac_resource_duplicate", "A resource_id is declared twice."
)
RBACScopeDuplicate = _error("RBACScopeDuplicate", 400, "rbac_scope_duplicate", "A scope is declared twice.")
RBACActionDuplicate = _error(
    "RBACActionDuplicate", 400, "rbac_action_duplicate", "A resource declares the same action twice."
)
RBACResourceMissingActions = _error(
    "RBACResourceMissingActions", 400, "rbac_resource_missing_actions", "A resource must declare at least one action."
)
EmptyRBACRoleID = _error("EmptyRBACRoleID", 400, "empty_rbac_role_id", "A role_id may not be empty.")
EmptyRBACResourceID = _error("EmptyRBACResourceID", 400, "empty_rbac_resource_id", "A resource_id may not be empty.")
EmptyRBACScope = _error("EmptyRBACScope", 400, "empty_rbac_scope", "A scope may not be empty.")

# Member administration and organization policy
ActionNotAllowedEmailDomainIsClaimed = _error(
    "ActionNotAllowedEmailDomainIsClaimed",
    400,
    "action_not_allowed_email_domain_is_claimed",
    "Members with this email domain are restricted to organizations that have claimed this domain.",
)
OperationRestrictedByOrganizationAuthMethods = _error(
    "OperationRestrictedByOrganizationAuthMethods",
    403,
    "operation_restricted_by_organization_auth_methods",
    "This organization's allowed_auth_methods do not allow this authentication method.",
)
# MFA (sessions/logins.py): a second factor the organization does not allow, or one alone.
OperationRestrictedByOrganizationMfaMethods = _error(
    "OperationRestrictedByOrganizationMfaMethods",
    403,
    "operation_restricted_by_organization_mfa_methods",
    "This organization's allowed_mfa_methods do not allow this MFA method.",
)
InsufficientFactors = _error(
    "InsufficientFactors",
    400,
    "insufficient_factors",
    "A second factor alone is no login: pass the intermediate_session_token of a primary "
    "authentication, or the session_token or session_jwt of a session of this Member.",
)
DefaultMfaMemberMissingFactor = _error(
    "DefaultMfaMemberMissingFactor",
    400,
    "default_mfa_member_missing_factor",
    "The Member has no registered factor for this default_mfa_method.",
)
MemberPhoneNumberAlreadySet = _error(
    "MemberPhoneNumberAlreadySet",
    400,
    "member_phone_number_already_set",
    "The Member already has a different MFA phone number: delete it first "
    "(organizations.members.delete_mfa_phone_number).",
)
OrganizationSettingsInvalidClaimedDomain = _error(
    "OrganizationSettingsInvalidClaimedDomain",
    400,
    "organization_settings_invalid_claimed_domain",
    "A claimed email domain is not a valid domain.",
)
OrganizationSettingsClaimedDomainTooCommon = _error(
    "OrganizationSettingsClaimedDomainTooCommon",
    400,
    "organization_settings_claimed_domain_too_common",
    "Common email domains cannot be claimed.",
)
OrganizationSettingsDuplicateClaimedDomain = _error(
    "OrganizationSettingsDuplicateClaimedDomain",
    400,
    "organization_settings_duplicate_claimed_domain",
    "A claimed email domain is listed more than once.",
)
OrganizationSettingsDuplicateDomain = _error(
    "OrganizationSettingsDuplicateDomain",
    400,
    "organization_settings_duplicate_domain",
    "An allowed email domain is listed more than once.",
)
AllowedMfaMethodsRequiredForRestricted = _error(
    "AllowedMfaMethodsRequiredForRestricted",
    400,
    "allowed_mfa_methods_required_for_restricted",
    "Allowed mfa methods must be set for 'RESTRICTED' auth methods",
)
NoDeletedMemberFoundForReactivation = _error(
    "NoDeletedMemberFoundForReactivation",
    400,
    "no_deleted_member_found_for_reactivation",
    "No deleted Member with this member_id was found to reactivate.",
)
EmailUnverifiedForReactivation = _error(
    "EmailUnverifiedForReactivation",
    400,
    "email_unverified_for_reactivation",
    "Only a Member whose email address was verified can be reactivated.",
)
ReactivationEmailBelongsToAnotherMember = _error(
    "ReactivationEmailBelongsToAnotherMember",
    400,
    "reactivation_email_belongs_to_another_member",
    "The Member's email address now belongs to another Member of the organization.",
)
DesiredEmailDeactivatedByDifferentMember = _error(
    "DesiredEmailDeactivatedByDifferentMember",
    400,
    "desired_email_deactivated_by_different_member",
    "This email address is a retired email address of another Member of the organization; unlink it first.",
)
RetiredEmailMissingEmailIdentifiers = _error(
    "RetiredEmailMissingEmailIdentifiers",
    400,
    "retired_email_missing_email_identifiers",
    "Pass email_id or email_address to name the retired email to unlink.",
)
InvalidOrganizationAllowedAuthMethods = _error(
    "InvalidOrganizationAllowedAuthMethods",
    400,
    "invalid_organization_allowed_auth_methods",
    "allowed_auth_methods may only list sso, magic_link, email_otp, password, google_oauth, microsoft_oauth, "
    "slack_oauth, github_oauth and hubspot_oauth.",
)
InvalidOrganizationAllowedMfaMethods = _error(
    "InvalidOrganizationAllowedMfaMethods",
    400,
    "invalid_organization_allowed_mfa_methods",
    "allowed_mfa_methods may only list sms_otp and totp.",
)
