"""The members area: an organization's members, their email changes, reactivation and search."""

from __future__ import annotations

from keystile import errors
from keystile.core.area import Area
from keystile.members import messages, routes

area = Area(
    name="members",
    routers=[routes.router],
    errors=[
        errors.DefaultMfaMemberMissingFactor,
        errors.MemberPhoneNumberAlreadySet,
        errors.MemberNotFound,
        errors.DuplicateMemberEmail,
        errors.DuplicateMemberExternalId,
        errors.MemberSearchOrganizationIdsEmpty,
        errors.NoDeletedMemberFoundForReactivation,
        errors.EmailUnverifiedForReactivation,
        errors.ReactivationEmailBelongsToAnotherMember,
        errors.DesiredEmailDeactivatedByDifferentMember,
        errors.RetiredEmailMissingEmailIdentifiers,
        *errors.search_errors("member_search").values(),
    ],
    id_prefixes=["member"],
    messages=messages.ALL,
)
