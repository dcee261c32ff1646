"""B2B Members through the official SDK: create, get, update, delete, search."""

from __future__ import annotations

import uuid

import pytest
from stytch.core.response_base import StytchError

from tests.flows import discovery_signup, error_type, new_email


@pytest.fixture
def org(b2b):
    return b2b.organizations.create(
        organization_name="Acme", organization_slug=f"acme-{uuid.uuid4().hex[:8]}"
    ).organization


@pytest.fixture
def member(b2b, org):
    return b2b.organizations.members.create(
        organization_id=org.organization_id,
        email_address=new_email(),
        name="Ada",
        trusted_metadata={"a": 1, "b": 2},
        external_id="emp-1",
    ).member


class TestCreate:
    def test_is_active_by_default(self, b2b, org):
        email = new_email()
        resp = b2b.organizations.members.create(organization_id=org.organization_id, email_address=email, name="Ada")
        assert resp.member.status == "active"
        assert resp.member.email_address == email
        assert resp.member.name == "Ada"
        assert resp.member.email_address_verified is False
        assert resp.member_id == resp.member.member_id
        assert resp.member.member_id.startswith("member-test-")
        assert resp.organization.organization_id == org.organization_id

    def test_as_pending(self, b2b, org):
        resp = b2b.organizations.members.create(
            organization_id=org.organization_id, email_address=new_email(), create_member_as_pending=True
        )
        assert resp.member.status == "pending"

    def test_with_roles_metadata_breakglass_and_external_id(self, b2b, org):
        member = b2b.organizations.members.create(
            organization_id=org.organization_id,
            email_address=new_email(),
            roles=["stytch_admin"],
            trusted_metadata={"t": 1},
            untrusted_metadata={"u": 2},
            is_breakglass=True,
            external_id="emp|9",
        ).member
        assert [r.role_id for r in member.roles] == ["stytch_member", "stytch_admin"]
        assert member.is_admin is True
        assert member.trusted_metadata == {"t": 1}
        assert member.untrusted_metadata == {"u": 2}
        assert member.is_breakglass is True
        assert member.external_id == "emp|9"

    def test_in_organization_named_by_slug(self, b2b, org):
        resp = b2b.organizations.members.create(organization_id=org.organization_slug, email_address=new_email())
        assert resp.member.organization_id == org.organization_id

    def test_duplicate_email_is_refused(self, b2b, org, member):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.create(
                organization_id=org.organization_id, email_address=member.email_address.upper()
            )
        assert error_type(exc) == "duplicate_member_email"

    def test_duplicate_external_id_is_refused(self, b2b, org, member):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.create(
                organization_id=org.organization_id, email_address=new_email(), external_id="emp-1"
            )
        assert error_type(exc) == "duplicate_member_external_id"

    def test_invalid_email_is_refused(self, b2b, org):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.create(organization_id=org.organization_id, email_address="not-an-email")
        assert error_type(exc) == "invalid_email"

    def test_in_unknown_organization_is_not_found(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.create(organization_id="no-such-org", email_address=new_email())
        assert error_type(exc) == "organization_not_found"


class TestGet:
    def test_by_member_id(self, b2b, org, member):
        resp = b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert resp.member == member
        assert resp.organization.organization_id == org.organization_id

    def test_by_external_id(self, b2b, org, member):
        resp = b2b.organizations.members.get(organization_id=org.organization_id, member_id="emp-1")
        assert resp.member_id == member.member_id

    def test_by_email_address(self, b2b, org, member):
        resp = b2b.organizations.members.get(organization_id=org.organization_id, email_address=member.email_address)
        assert resp.member_id == member.member_id

    def test_in_another_organization_is_not_found(self, b2b, member):
        other = b2b.organizations.create(organization_name="Other").organization
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.get(organization_id=other.organization_id, member_id=member.member_id)
        assert error_type(exc) == "member_not_found"
        assert exc.value.details.status_code == 404

    def test_without_id_or_email_is_refused(self, b2b, org):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.get(organization_id=org.organization_id)
        assert error_type(exc) == "bad_request"


class TestUpdate:
    def test_changes_only_the_given_fields(self, b2b, org, member):
        resp = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, name="Ada L."
        )
        assert resp.member.name == "Ada L."
        assert resp.member.email_address == member.email_address
        assert resp.member.trusted_metadata == {"a": 1, "b": 2}
        assert resp.organization.organization_id == org.organization_id

    def test_metadata_merges_top_level_keys_and_null_deletes(self, b2b, org, member):
        updated = b2b.organizations.members.update(
            organization_id=org.organization_id,
            member_id=member.member_id,
            trusted_metadata={"a": None, "c": {"d": 1}},
            untrusted_metadata={"theme": "dark"},
        ).member
        assert updated.trusted_metadata == {"b": 2, "c": {"d": 1}}
        assert updated.untrusted_metadata == {"theme": "dark"}

    def test_roles_replace_the_direct_roles(self, b2b, org, member):
        ids = org.organization_id, member.member_id
        b2b.organizations.members.update(organization_id=ids[0], member_id=ids[1], roles=["stytch_admin"])
        updated = b2b.organizations.members.update(organization_id=ids[0], member_id=ids[1], roles=[]).member
        assert [r.role_id for r in updated.roles] == ["stytch_member"]
        assert updated.is_admin is False

    def test_is_breakglass(self, b2b, org, member):
        updated = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, is_breakglass=True
        ).member
        assert updated.is_breakglass is True

    def test_by_external_id(self, b2b, org, member):
        resp = b2b.organizations.members.update(organization_id=org.organization_id, member_id="emp-1", name="X")
        assert resp.member_id == member.member_id

    def test_external_id_of_another_member_is_refused(self, b2b, org, member):
        other = b2b.organizations.members.create(
            organization_id=org.organization_id, email_address=new_email(), external_id="emp-2"
        ).member
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.update(
                organization_id=org.organization_id, member_id=other.member_id, external_id="emp-1"
            )
        assert error_type(exc) == "duplicate_member_external_id"

    def test_email_address_change_must_be_verified_again(self, b2b, org, member):
        new = new_email("lovelace")
        updated = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=member.member_id, email_address=new
        ).member
        assert updated.email_address == new
        assert updated.email_address_verified is False
        got = b2b.organizations.members.get(organization_id=org.organization_id, email_address=new)
        assert got.member_id == member.member_id

    def test_email_address_of_another_member_is_refused(self, b2b, org, member):
        other = b2b.organizations.members.create(organization_id=org.organization_id, email_address=new_email())
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.update(
                organization_id=org.organization_id, member_id=other.member_id, email_address=member.email_address
            )
        assert error_type(exc) == "duplicate_member_email"

    def test_unknown_member_is_not_found(self, b2b, org):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.update(
                organization_id=org.organization_id, member_id=f"member-test-{uuid.uuid4()}", name="X"
            )
        assert error_type(exc) == "member_not_found"


class TestDelete:
    def test_then_get_is_not_found(self, b2b, org, member):
        resp = b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        assert resp.member_id == member.member_id
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.get(organization_id=org.organization_id, member_id=member.member_id)
        assert error_type(exc) == "member_not_found"

    def test_marks_the_member_deleted(self, b2b, org, member):
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id],
            query={"operator": "AND", "operands": [{"filter_name": "statuses", "filter_value": ["deleted"]}]},
        )
        assert [(m.member_id, m.status) for m in resp.members] == [(member.member_id, "deleted")]

    def test_revokes_its_sessions(self, b2b, inbox):
        signup = discovery_signup(b2b, inbox, new_email())
        b2b.organizations.members.delete(
            organization_id=signup.organization.organization_id, member_id=signup.member.member_id
        )
        with pytest.raises(StytchError) as exc:
            b2b.sessions.authenticate(session_token=signup.session_token)
        assert error_type(exc) == "session_not_found"

    def test_twice_is_not_found(self, b2b, org, member):
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        assert error_type(exc) == "member_not_found"

    def test_frees_the_email_address_for_a_new_member(self, b2b, org, member):
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=member.member_id)
        again = b2b.organizations.members.create(
            organization_id=org.organization_id, email_address=member.email_address
        )
        assert again.member.member_id != member.member_id
        got = b2b.organizations.members.get(organization_id=org.organization_id, email_address=member.email_address)
        assert got.member.member_id == again.member.member_id


def op(name, value):
    return {"operator": "AND", "operands": [{"filter_name": name, "filter_value": value}]}


class TestSearch:
    @pytest.fixture
    def five(self, b2b, org, server):
        """Five Members, created a second apart on the server's clock (search orders by
        creation time)."""
        made = []
        for i in range(5):
            server.clock.advance(seconds=1)
            made.append(
                b2b.organizations.members.create(
                    organization_id=org.organization_id,
                    email_address=new_email(f"m{i}"),
                    is_breakglass=i == 0,
                    roles=["stytch_admin"] if i == 1 else None,
                    create_member_as_pending=i == 2,
                ).member
            )
        return made

    def test_pages_through_the_organizations_members(self, b2b, org, five):
        ids, totals, cursor = [], [], None
        while True:
            resp = b2b.organizations.members.search(organization_ids=[org.organization_id], limit=2, cursor=cursor)
            ids += [m.member_id for m in resp.members]
            totals.append(resp.results_metadata.total)
            assert set(resp.organizations) == {org.organization_id}
            cursor = resp.results_metadata.next_cursor
            if not cursor:
                break
        assert ids == [m.member_id for m in five]
        assert totals == [5, 5, 5]

    def test_returns_the_members_organizations(self, b2b, org, five):
        resp = b2b.organizations.members.search(organization_ids=[org.organization_slug])
        assert resp.organizations[org.organization_id].organization_slug == org.organization_slug

    def test_excludes_deleted_members(self, b2b, org, five):
        b2b.organizations.members.delete(organization_id=org.organization_id, member_id=five[4].member_id)
        resp = b2b.organizations.members.search(organization_ids=[org.organization_id])
        assert resp.results_metadata.total == 4
        assert five[4].member_id not in [m.member_id for m in resp.members]

    def test_by_member_ids(self, b2b, org, five):
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id], query=op("member_ids", [five[3].member_id])
        )
        assert [m.member_id for m in resp.members] == [five[3].member_id]

    def test_by_member_emails(self, b2b, org, five):
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id], query=op("member_emails", [five[2].email_address])
        )
        assert [m.member_id for m in resp.members] == [five[2].member_id]

    def test_by_member_email_fuzzy(self, b2b, org, five):
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id], query=op("member_email_fuzzy", five[0].email_address[:8])
        )
        assert [m.member_id for m in resp.members] == [five[0].member_id]

    def test_by_breakglass(self, b2b, org, five):
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id], query=op("member_is_breakglass", True)
        )
        assert [m.member_id for m in resp.members] == [five[0].member_id]

    def test_by_statuses(self, b2b, org, five):
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id], query=op("statuses", ["pending"])
        )
        assert [m.member_id for m in resp.members] == [five[2].member_id]

    def test_by_roles(self, b2b, org, five):
        resp = b2b.organizations.members.search(
            organization_ids=[org.organization_id], query=op("member_roles", ["stytch_admin"])
        )
        assert [m.member_id for m in resp.members] == [five[1].member_id]

    def test_only_in_the_given_organizations(self, b2b, org, five):
        other = b2b.organizations.create(organization_name="Other").organization
        b2b.organizations.members.create(organization_id=other.organization_id, email_address=new_email())
        resp = b2b.organizations.members.search(organization_ids=[other.organization_id])
        assert resp.results_metadata.total == 1
        assert list(resp.organizations) == [other.organization_id]

    def test_empty_organization_ids_are_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.search(organization_ids=[])
        assert error_type(exc) == "member_search_organization_ids_empty"

    def test_unknown_filter_is_refused(self, b2b, org):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.search(organization_ids=[org.organization_id], query=op("shoe_size", ["9"]))
        assert error_type(exc) == "member_search_filter_name_not_recognized"

    def test_short_fuzzy_value_is_refused(self, b2b, org):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.members.search(
                organization_ids=[org.organization_id], query=op("member_email_fuzzy", "ab")
            )
        assert error_type(exc) == "member_search_fuzzy_too_short"
