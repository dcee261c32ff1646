"""The organizations area: B2B organizations, their settings and search."""

from __future__ import annotations

from keystile import errors
from keystile.core.area import Area
from keystile.organizations import routes

area = Area(
    name="organizations",
    routers=[routes.router],
    errors=[
        errors.OrganizationNotFound,
        errors.OrganizationSlugAlreadyUsed,
        errors.InvalidOrganizationSlug,
        errors.InvalidOrganizationName,
        errors.OrganizationNameMissing,
        errors.DuplicateOrganizationExternalId,
        errors.InvalidOrganizationSettings,
        errors.AllowedAuthMethodsRequiredForRestricted,
        errors.InvalidRestrictedEmailSetting,
        errors.OrganizationSettingsInvalidDomain,
        errors.OrganizationSettingsDomainTooCommon,
        errors.ActionNotAllowedEmailDomainIsClaimed,
        errors.OrganizationSettingsInvalidClaimedDomain,
        errors.OrganizationSettingsClaimedDomainTooCommon,
        errors.OrganizationSettingsDuplicateClaimedDomain,
        errors.OrganizationSettingsDuplicateDomain,
        errors.AllowedMfaMethodsRequiredForRestricted,
        errors.InvalidOrganizationAllowedAuthMethods,
        errors.InvalidOrganizationAllowedMfaMethods,
        *errors.search_errors("organization_search").values(),
    ],
    id_prefixes=["organization"],
)
