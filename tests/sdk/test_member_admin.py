"""Member administration through the official SDK: get by any identifier, dangerously_get,
reactivate, external ids, retired emails, the self-serve email update, implicit roles in
search, and organization metrics."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from stytch.b2b.models import organizations as org_models
from stytch.b2b.models import organizations_members as member_models
from stytch.core.response_base import StytchError

from tests.flows import acting, add_member, discovery_signup, error_type, login, new_email


@pytest.fixture
def org(b2b: Any) -> Any:
    return b2b.organizations.create(
        organization_name="Acme",
        organization_slug=f"acme-{uuid.uuid4().hex[:8]}",
        organization_external_id=f"crm-{uuid.uuid4().hex[:8]}",
    ).organization


def create(b2b: Any, org: Any, email: str | None = None, **fields: Any) -> Any:
    return b2b.organizations.members.create(
        organization_id=org.organization_id, email_address=email or new_email(), **fields
    ).member


def verified(b2b: Any, inbox: Any, org: Any, email: str | None = None) -> Any:
    """An active Member whose email is verified (it logged in once); returns the login response."""
    email = email or new_email()
    create(b2b, org, email)
    return login(b2b, inbox, org.organization_id, email)


class TestGet:
    def test_by_member_id(self, b2b, org):
        member = create(b2b, org)
        resp = b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert resp.member.member_id == member.member_id
        assert resp.organization.organization_id == org.organization_id

    def test_by_email_address_in_any_case(self, b2b, org):
        email = new_email()
        member = create(b2b, org, email)
        resp = b2b.organizations.members.get(organization_id=org.organization_id, email_address=email.upper())
        assert resp.member_id == member.member_id

    def test_by_external_id(self, b2b, org):
        member = create(b2b, org, external_id="emp-7")
        resp = b2b.organizations.members.get(organization_id=org.organization_id, member_id="emp-7")
        assert resp.member_id == member.member_id

    def test_organization_by_slug_and_by_external_id(self, b2b, org):
        member = create(b2b, org)
        for ref in (org.organization_slug, org.organization_external_id):
            resp = b2b.organizations.members.get(organization_id=ref, member_id=member.member_id)
            assert resp.member_id == member.member_id

    def test_deleted_member_is_not_found(self, b2b, org):
        member = create(b2b, org)
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert error_type(caught) == "member_not_found"

    def test_member_of_another_organization_is_not_found(self, b2b, org):
        other = b2b.organizations.create(organization_name="Other").organization
        member = create(b2b, other)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert error_type(caught) == "member_not_found"


class TestDangerouslyGet:
    def test_finds_a_member_without_its_organization(self, b2b, org):
        member = create(b2b, org)
        resp = b2b.organizations.members.dangerously_get(member_id=member.member_id)
        assert resp.member.member_id == member.member_id
        assert resp.organization.organization_id == org.organization_id

    # The SDK's async client cannot send a boolean query parameter (yarl refuses it before any
    # request is made), so `include_deleted` is exercised through the sync client only, here and
    # over plain HTTP in tests/http/test_member_admin_http.py.
    def test_deleted_member_only_with_include_deleted(self, b2b, org):
        member = create(b2b, org)
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.dangerously_get(member_id=member.member_id)
        assert error_type(caught) == "member_not_found"
        resp = b2b.organizations.members.dangerously_get(member_id=member.member_id, include_deleted=True)
        assert resp.member.status == "deleted"

    def test_unknown_member_is_not_found(self, b2b):
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.dangerously_get(member_id="member-test-00000000-0000-0000-0000-000000000000")
        assert caught.value.details.status_code == 404
        assert error_type(caught) == "member_not_found"


class TestReactivate:
    def test_deleted_verified_member_becomes_active(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        resp = b2b.organizations.members.reactivate(organization_id=org.organization_id, member_id=member.member_id)
        assert resp.member.status == "active"
        assert resp.member.email_address == member.email_address
        got = b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert got.member.status == "active"

    def test_reactivated_member_can_log_in_again(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        b2b.organizations.members.reactivate(organization_id=org.organization_id, member_id=member.member_id)
        resp = login(b2b, inbox, org.organization_id, member.email_address)
        assert resp.member_session.member_id == member.member_id

    def test_member_whose_email_was_never_verified_is_refused(self, b2b, org):
        member = create(b2b, org)
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.reactivate(organization_id=org.organization_id, member_id=member.member_id)
        assert error_type(caught) == "email_unverified_for_reactivation"
        with pytest.raises(StytchError):
            b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)

    def test_member_that_is_not_deleted_is_refused(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.reactivate(organization_id=org.organization_id, member_id=member.member_id)
        assert error_type(caught) == "no_deleted_member_found_for_reactivation"

    def test_email_taken_meanwhile_is_refused(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        create(b2b, org, member.email_address)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.reactivate(organization_id=org.organization_id, member_id=member.member_id)
        assert error_type(caught) == "reactivation_email_belongs_to_another_member"

    def test_external_id_is_not_accepted(self, b2b, inbox, org):
        email = new_email()
        create(b2b, org, email, external_id="emp-9")
        member = login(b2b, inbox, org.organization_id, email).member
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.reactivate(organization_id=org.organization_id, member_id="emp-9")
        assert error_type(caught) == "member_not_found"


class TestDeleteExternalId:
    def test_clears_the_external_id(self, b2b, org):
        member = create(b2b, org, external_id="emp-1")
        resp = b2b.organizations.members.delete_external_id(organization_id=org.organization_id, member_id="emp-1")
        assert resp.member_id == member.member_id
        assert resp.member.external_id is None
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.get(organization_id=org.organization_id, member_id="emp-1")
        assert error_type(caught) == "member_not_found"

    def test_the_external_id_is_free_for_another_member(self, b2b, org):
        member = create(b2b, org, external_id="emp-2")
        b2b.organizations.members.delete_external_id(organization_id=org.organization_id, member_id=member.member_id)
        other = create(b2b, org, external_id="emp-2")
        assert other.external_id == "emp-2"

    def test_plain_member_may_not_clear_anothers(self, b2b, inbox):
        admin = discovery_signup(b2b, inbox, new_email())
        org_id = admin.organization.organization_id
        target = create(b2b, admin.organization, external_id="emp-3")
        bob = add_member(b2b, inbox, org_id)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.delete_external_id(
                organization_id=org_id,
                member_id=target.member_id,
                method_options=acting(member_models.DeleteExternalIdRequestOptions, bob),
            )
        assert error_type(caught) == "unauthorized_action"
        got = b2b.organizations.members.get(organization_id=org_id, member_id=target.member_id)
        assert got.member.external_id == "emp-3"


class TestRetiredEmails:
    def test_a_replaced_email_is_retired(self, b2b, org):
        member = create(b2b, org)
        new = new_email()
        resp = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new
        )
        assert resp.member.email_address == new
        assert [r.email_address for r in resp.member.retired_email_addresses] == [member.email_address]
        assert resp.member.retired_email_addresses[0].email_id.startswith("email-test-")
        got = b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert [r.email_address for r in got.member.retired_email_addresses] == [member.email_address]

    def test_another_member_cannot_take_a_retired_email(self, b2b, org):
        member = create(b2b, org)
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        )
        with pytest.raises(StytchError) as caught:
            create(b2b, org, member.email_address)
        assert error_type(caught) == "desired_email_deactivated_by_different_member"

    def test_another_organization_may_use_it(self, b2b, org):
        member = create(b2b, org)
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        )
        other = b2b.organizations.create(organization_name="Other").organization
        assert create(b2b, other, member.email_address).email_address == member.email_address

    def test_the_member_may_return_to_its_retired_email(self, b2b, org):
        member = create(b2b, org)
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        )
        resp = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=member.email_address
        )
        assert resp.member.email_address == member.email_address
        assert [r.email_address for r in resp.member.retired_email_addresses] != [member.email_address]
        assert member.email_address not in [r.email_address for r in resp.member.retired_email_addresses]

    def test_unlink_email_deletes_instead_of_retiring(self, b2b, org):
        member = create(b2b, org)
        resp = b2b.organizations.members.update(
            organization_id=org.organization_id,
            member_id=member.member_id,
            email_address=new_email(),
            unlink_email=True,
        )
        assert resp.member.retired_email_addresses == []
        assert create(b2b, org, member.email_address).email_address == member.email_address

    def test_unlink_by_email_id_frees_the_address(self, b2b, org):
        member = create(b2b, org)
        retired = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        ).member.retired_email_addresses[0]
        resp = b2b.organizations.members.unlink_retired_email(
            organization_id=org.organization_id, member_id=member.member_id, email_id=retired.email_id
        )
        assert resp.organization_id == org.organization_id
        assert resp.member.retired_email_addresses == []
        assert create(b2b, org, member.email_address).email_address == member.email_address

    def test_unlink_by_email_address(self, b2b, org):
        member = create(b2b, org, external_id="emp-4")
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        )
        resp = b2b.organizations.members.unlink_retired_email(
            organization_id=org.organization_id, member_id="emp-4", email_address=member.email_address.upper()
        )
        assert resp.member.retired_email_addresses == []

    def test_unlink_needs_an_identifier(self, b2b, org):
        member = create(b2b, org)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.unlink_retired_email(
                organization_id=org.organization_id, member_id=member.member_id
            )
        assert error_type(caught) == "retired_email_missing_email_identifiers"

    def test_unlink_of_an_unknown_email_is_not_found(self, b2b, org):
        member = create(b2b, org)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.unlink_retired_email(
                organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
            )
        assert error_type(caught) == "email_not_found"

    def test_unlink_with_id_and_address_of_different_emails_is_refused_and_nothing_changes(self, b2b, org):
        member = create(b2b, org)
        second = new_email()
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=second
        )
        first = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        ).member.retired_email_addresses[0]
        assert first.email_address == member.email_address
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.unlink_retired_email(
                organization_id=org.organization_id,
                member_id=member.member_id,
                email_id=first.email_id,
                email_address=second,
            )
        assert error_type(caught) == "bad_request"
        got = b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert len(got.member.retired_email_addresses) == 2

    def test_the_current_email_cannot_be_unlinked(self, b2b, org):
        member = create(b2b, org)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.unlink_retired_email(
                organization_id=org.organization_id, member_id=member.member_id, email_address=member.email_address
            )
        assert error_type(caught) == "bad_request"


class TestStartEmailUpdate:
    def test_sends_a_link_to_the_new_address_and_changes_nothing_yet(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        new = new_email()
        resp = b2b.organizations.members.start_email_update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new
        )
        assert resp.member.email_address == member.email_address
        message = inbox.latest(new)
        assert "new email" in message["subject"].lower()
        assert "Acme" in message["subject"]

    def test_authenticating_the_link_switches_the_email_and_retires_the_old_one(self, b2b, inbox, org):
        session = verified(b2b, inbox, org)
        member = session.member
        new = new_email()
        b2b.organizations.members.start_email_update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new
        )
        resp = b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(new))
        assert resp.member_authenticated is True
        assert resp.member.member_id == member.member_id
        assert resp.member.email_address == new
        assert resp.member.email_address_verified is True
        assert [(r.email_id, r.email_address) for r in resp.member.retired_email_addresses] == [
            (session.method_id, member.email_address)
        ]
        assert resp.method_id != session.method_id

    def test_the_link_expires_after_five_minutes(self, b2b, inbox, org, server):
        member = verified(b2b, inbox, org).member
        new = new_email()
        b2b.organizations.members.start_email_update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new
        )
        server.clock.advance(minutes=6)
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(new))
        assert error_type(caught) == "unable_to_auth_magic_link"

    def test_an_address_in_use_is_refused_and_nothing_is_sent(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        taken = create(b2b, org).email_address
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.start_email_update(
                organization_id=org.organization_id, member_id=member.member_id, email_address=taken
            )
        assert error_type(caught) == "duplicate_member_email"
        assert inbox.messages(taken) == []

    def test_two_members_cannot_update_to_the_same_address_at_once(self, b2b, inbox, org):
        first = verified(b2b, inbox, org).member
        second = verified(b2b, inbox, org).member
        new = new_email()
        b2b.organizations.members.start_email_update(
            organization_id=org.organization_id, member_id=first.member_id, email_address=new
        )
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.start_email_update(
                organization_id=org.organization_id, member_id=second.member_id, email_address=new
            )
        assert error_type(caught) == "duplicate_member_email"

    def test_member_without_a_verified_email_is_refused(self, b2b, inbox, org):
        member = create(b2b, org)
        new = new_email()
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.start_email_update(
                organization_id=org.organization_id, member_id=member.member_id, email_address=new
            )
        assert caught.value.details.status_code == 400
        assert inbox.messages(new) == []

    def test_email_otp_delivery_is_refused(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.start_email_update(
                organization_id=org.organization_id,
                member_id=member.member_id,
                email_address=new_email(),
                delivery_method="EMAIL_OTP",
            )
        assert error_type(caught) == "bad_request"

    def test_link_is_void_once_the_email_changed_another_way(self, b2b, inbox, org):
        member = verified(b2b, inbox, org).member
        new = new_email()
        b2b.organizations.members.start_email_update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new
        )
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        )
        with pytest.raises(StytchError) as caught:
            b2b.magic_links.authenticate(magic_links_token=inbox.latest_token(new))
        assert error_type(caught) == "unable_to_auth_magic_link"

    def test_a_member_may_start_its_own_update(self, b2b, inbox, org):
        session = verified(b2b, inbox, org)
        new = new_email()
        b2b.organizations.members.start_email_update(
            organization_id=org.organization_id,
            member_id=session.member.member_id,
            email_address=new,
            method_options=acting(member_models.StartEmailUpdateRequestOptions, session),
        )
        assert inbox.messages(new)

    def test_a_plain_member_may_not_start_anothers_update(self, b2b, inbox, org):
        bob = verified(b2b, inbox, org)
        target = verified(b2b, inbox, org).member
        new = new_email()
        with pytest.raises(StytchError) as caught:
            b2b.organizations.members.start_email_update(
                organization_id=org.organization_id,
                member_id=target.member_id,
                email_address=new,
                method_options=acting(member_models.StartEmailUpdateRequestOptions, bob),
            )
        assert error_type(caught) == "unauthorized_action"
        assert inbox.messages(new) == []


class TestSearchByImplicitRole:
    def test_member_roles_matches_roles_granted_by_email_domain(self, b2b, org):
        b2b.organizations.update(
            organization_id=org.organization_id,
            rbac_email_implicit_role_assignments=[{"domain": "admins.test", "role_id": "stytch_admin"}],
        )
        granted = create(b2b, org, new_email(domain="admins.test"))
        direct = create(b2b, org, roles=["stytch_admin"])
        create(b2b, org)
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id],
            query={"operator": "AND", "operands": [{"filter_name": "member_roles", "filter_value": ["stytch_admin"]}]},
        )
        assert {m.member_id for m in resp.members} == {granted.member_id, direct.member_id}

    def test_an_assignment_of_another_organization_does_not_count(self, b2b, org):
        other = b2b.organizations.create(organization_name="Other").organization
        b2b.organizations.update(
            organization_id=other.organization_id,
            rbac_email_implicit_role_assignments=[{"domain": "admins.test", "role_id": "stytch_admin"}],
        )
        create(b2b, org, new_email(domain="admins.test"))
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id],
            query={"operator": "AND", "operands": [{"filter_name": "member_roles", "filter_value": ["stytch_admin"]}]},
        )
        assert resp.members == []


class TestOrganizationMetrics:
    def test_counts_members_that_are_not_deleted(self, b2b, org):
        kept = [create(b2b, org), create(b2b, org, create_member_as_pending=True)]
        gone = create(b2b, org)
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=gone.member_id)
        assert len(kept) == b2b.organizations.metrics(organization_id=org.organization_id).member_count

    def test_by_slug(self, b2b, org):
        create(b2b, org)
        assert b2b.organizations.metrics(organization_id=org.organization_slug).member_count == 1

    def test_unknown_organization_is_not_found(self, b2b):
        with pytest.raises(StytchError) as caught:
            b2b.organizations.metrics(organization_id="no-such-org")
        assert error_type(caught) == "organization_not_found"


class TestOrganizationDeleteExternalId:
    def test_clears_the_external_id(self, b2b, org):
        resp = b2b.organizations.delete_external_id(organization_id=org.organization_external_id)
        assert resp.organization.organization_id == org.organization_id
        assert resp.organization.organization_external_id is None
        with pytest.raises(StytchError) as caught:
            b2b.organizations.get(organization_id=org.organization_external_id)
        assert error_type(caught) == "organization_not_found"

    def test_plain_member_may_not_clear_it(self, b2b, inbox):
        admin = discovery_signup(b2b, inbox, new_email(), organization_external_id=f"x-{uuid.uuid4().hex[:8]}")
        org = admin.organization
        bob = add_member(b2b, inbox, org.organization_id)
        with pytest.raises(StytchError) as caught:
            b2b.organizations.delete_external_id(
                organization_id=org.organization_id,
                method_options=acting(org_models.DeleteExternalIdRequestOptions, bob),
            )
        assert error_type(caught) == "unauthorized_action"
        assert b2b.organizations.get(organization_id=org.organization_id).organization.organization_external_id

    def test_admin_may_clear_it(self, b2b, inbox):
        admin = discovery_signup(b2b, inbox, new_email(), organization_external_id=f"x-{uuid.uuid4().hex[:8]}")
        resp = b2b.organizations.delete_external_id(
            organization_id=admin.organization.organization_id,
            method_options=acting(org_models.DeleteExternalIdRequestOptions, admin),
        )
        assert resp.organization.organization_external_id is None


class TestDeletedMembersFreeTheirAddresses:
    def test_a_deleted_members_retired_address_is_free_again(self, b2b, org):
        member = create(b2b, org)
        b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new_email()
        )
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        assert create(b2b, org, member.email_address).email_address == member.email_address


class TestRetiredAddressesInLoginResponses:
    def test_login_or_signup_and_discovery_show_the_retired_address(self, b2b, inbox):
        old = new_email("old")
        signup = discovery_signup(b2b, inbox, old)
        org_id = signup.organization.organization_id
        new = new_email("new")
        b2b.organizations.members.update(organization_id=org_id, member_id=signup.member_id, email_address=new)

        sent = b2b.magic_links.email.login_or_signup(organization_id=org_id, email_address=new)
        assert [r.email_address for r in sent.member.retired_email_addresses] == [old]

        b2b.magic_links.email.discovery.send(email_address=new)
        ist = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(new))
        (found,) = ist.discovered_organizations
        assert [r.email_address for r in found.membership.member.retired_email_addresses] == [old]

    def test_sessions_authenticate_shows_the_retired_address_as_members_get_does(self, b2b, inbox):
        old = new_email("old")
        signup = discovery_signup(b2b, inbox, old)
        org_id = signup.organization.organization_id
        before = b2b.sessions.authenticate(session_token=signup.session_token)
        assert before.member.retired_email_addresses == []

        new = new_email("new")
        b2b.organizations.members.update(organization_id=org_id, member_id=signup.member_id, email_address=new)
        after = b2b.sessions.authenticate(session_token=signup.session_token)
        by_jwt = b2b.sessions.authenticate(session_jwt=after.session_jwt)
        got = b2b.organizations.members.get(organization_id=org_id, member_id=signup.member_id)

        assert [r.email_address for r in after.member.retired_email_addresses] == [old]
        assert after.member.retired_email_addresses == got.member.retired_email_addresses
        assert by_jwt.member.retired_email_addresses == got.member.retired_email_addresses
        assert after.member.email_address == new
