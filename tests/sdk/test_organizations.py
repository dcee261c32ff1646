"""B2B Organizations through the official SDK: create, get, update, delete, search."""

from __future__ import annotations

import uuid

import pytest
from stytch.core.response_base import StytchError

from tests.flows import discovery_signup, error_type, new_email, new_slug


class TestCreate:
    def test_without_auth_settings_allows_all_invites(self, b2b):
        org = b2b.organizations.create(organization_name="Acme", organization_slug=new_slug()).organization
        assert org.organization_name == "Acme"
        assert org.organization_id.startswith("organization-test-")
        assert org.email_invites == "ALL_ALLOWED"
        assert org.email_jit_provisioning == "NOT_ALLOWED"
        assert org.sso_jit_provisioning == "ALL_ALLOWED"
        assert org.auth_methods == "ALL_ALLOWED"
        assert org.mfa_policy == "OPTIONAL"

    def test_with_an_auth_setting_defaults_invites_to_not_allowed(self, b2b):
        org = b2b.organizations.create(
            organization_name="Acme",
            organization_slug=new_slug(),
            email_allowed_domains=["acme.test"],
            email_jit_provisioning="RESTRICTED",
        ).organization
        assert org.email_invites == "NOT_ALLOWED"
        assert org.email_jit_provisioning == "RESTRICTED"
        assert org.email_allowed_domains == ["acme.test"]

    def test_keeps_metadata_logo_and_external_id(self, b2b):
        org = b2b.organizations.create(
            organization_name="Acme",
            organization_slug=new_slug(),
            organization_logo_url="https://acme.test/logo.png",
            trusted_metadata={"plan": "pro"},
            organization_external_id="crm|42",
        ).organization
        assert org.organization_logo_url == "https://acme.test/logo.png"
        assert org.trusted_metadata == {"plan": "pro"}
        assert org.organization_external_id == "crm|42"

    def test_without_slug_derives_one_from_the_name(self, b2b):
        org = b2b.organizations.create(organization_name="Acme Widgets").organization
        assert org.organization_slug.startswith("acme-widgets")

    def test_taken_slug_is_refused(self, b2b):
        taken = new_slug()
        b2b.organizations.create(organization_name="Acme", organization_slug=taken)
        with pytest.raises(StytchError) as exc:
            b2b.organizations.create(organization_name="Other", organization_slug=taken)
        assert error_type(exc) == "organization_slug_already_used"
        assert exc.value.details.status_code == 400

    def test_bad_slug_is_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.create(organization_name="Acme", organization_slug="a b!")
        assert error_type(exc) == "invalid_organization_slug"

    def test_common_email_domain_is_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.create(organization_name="Acme", email_allowed_domains=["gmail.com"])
        assert error_type(exc) == "organization_settings_domain_too_common"

    def test_restricted_invites_without_domains_are_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.create(organization_name="Acme", email_invites="RESTRICTED")
        assert error_type(exc) == "invalid_restricted_email_setting"

    def test_restricted_auth_methods_need_a_list(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.create(organization_name="Acme", auth_methods="RESTRICTED")
        assert error_type(exc) == "allowed_auth_methods_required_for_restricted"

    def test_empty_name_is_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.create(organization_name="")
        assert error_type(exc) == "organization_name_missing"

    def test_duplicate_external_id_is_refused(self, b2b):
        b2b.organizations.create(organization_name="Acme", organization_external_id="ext-1")
        with pytest.raises(StytchError) as exc:
            b2b.organizations.create(organization_name="Other", organization_external_id="ext-1")
        assert error_type(exc) == "duplicate_organization_external_id"


class TestGet:
    def test_by_id(self, b2b):
        created = b2b.organizations.create(organization_name="Acme", organization_slug=new_slug()).organization
        org = b2b.organizations.get(organization_id=created.organization_id).organization
        assert org == created

    def test_by_slug(self, b2b):
        created = b2b.organizations.create(organization_name="Acme", organization_slug=new_slug()).organization
        org = b2b.organizations.get(organization_id=created.organization_slug).organization
        assert org.organization_id == created.organization_id

    def test_by_external_id(self, b2b):
        created = b2b.organizations.create(organization_name="Acme", organization_external_id="crm|7").organization
        org = b2b.organizations.get(organization_id="crm|7").organization
        assert org.organization_id == created.organization_id

    def test_unknown_is_organization_not_found(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.get(organization_id=f"organization-test-{uuid.uuid4()}")
        assert error_type(exc) == "organization_not_found"
        assert exc.value.details.status_code == 404


class TestUpdate:
    @pytest.fixture
    def org(self, b2b):
        return b2b.organizations.create(
            organization_name="Acme", organization_slug=new_slug(), trusted_metadata={"a": 1, "b": 2}
        ).organization

    def test_changes_only_the_given_fields(self, b2b, org):
        updated = b2b.organizations.update(organization_id=org.organization_id, organization_name="Acme 2").organization
        assert updated.organization_name == "Acme 2"
        assert updated.organization_slug == org.organization_slug
        assert updated.email_invites == org.email_invites
        assert updated.trusted_metadata == {"a": 1, "b": 2}

    def test_is_visible_to_get(self, b2b, org):
        b2b.organizations.update(organization_id=org.organization_id, mfa_policy="REQUIRED_FOR_ALL")
        assert b2b.organizations.get(organization_id=org.organization_id).organization.mfa_policy == "REQUIRED_FOR_ALL"

    def test_trusted_metadata_merges_top_level_keys_and_null_deletes(self, b2b, org):
        updated = b2b.organizations.update(
            organization_id=org.organization_id, trusted_metadata={"b": None, "c": [3]}
        ).organization
        assert updated.trusted_metadata == {"a": 1, "c": [3]}

    def test_new_slug(self, b2b, org):
        new = new_slug("renamed")
        updated = b2b.organizations.update(organization_id=org.organization_id, organization_slug=new).organization
        assert updated.organization_slug == new
        assert b2b.organizations.get(organization_id=new).organization.organization_id == org.organization_id

    def test_slug_of_another_organization_is_refused(self, b2b, org):
        other = b2b.organizations.create(organization_name="Other", organization_slug=new_slug()).organization
        with pytest.raises(StytchError) as exc:
            b2b.organizations.update(organization_id=org.organization_id, organization_slug=other.organization_slug)
        assert error_type(exc) == "organization_slug_already_used"

    def test_bad_slug_is_refused(self, b2b, org):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.update(organization_id=org.organization_id, organization_slug="-")
        assert error_type(exc) == "invalid_organization_slug"

    def test_external_id_of_another_organization_is_refused(self, b2b, org):
        b2b.organizations.create(organization_name="Other", organization_external_id="taken-ext")
        with pytest.raises(StytchError) as exc:
            b2b.organizations.update(organization_id=org.organization_id, organization_external_id="taken-ext")
        assert error_type(exc) == "duplicate_organization_external_id"

    def test_policy_is_checked_on_the_merged_settings(self, b2b, org):
        b2b.organizations.update(
            organization_id=org.organization_id, email_allowed_domains=["acme.test"], email_invites="RESTRICTED"
        )
        with pytest.raises(StytchError) as exc:
            b2b.organizations.update(organization_id=org.organization_id, email_allowed_domains=[])
        assert error_type(exc) == "invalid_restricted_email_setting"
        kept = b2b.organizations.get(organization_id=org.organization_id).organization
        assert kept.email_allowed_domains == ["acme.test"]

    def test_common_domain_is_refused(self, b2b, org):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.update(organization_id=org.organization_id, email_allowed_domains=["gmail.com"])
        assert error_type(exc) == "organization_settings_domain_too_common"

    def test_unknown_organization_is_not_found(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.update(organization_id="no-such-org", organization_name="X")
        assert error_type(exc) == "organization_not_found"


class TestDelete:
    def test_then_get_is_not_found(self, b2b):
        org = b2b.organizations.create(organization_name="Acme", organization_slug=new_slug()).organization
        resp = b2b.organizations.delete(organization_id=org.organization_id)
        assert resp.organization_id == org.organization_id
        with pytest.raises(StytchError) as exc:
            b2b.organizations.get(organization_id=org.organization_id)
        assert error_type(exc) == "organization_not_found"

    def test_by_slug(self, b2b):
        org = b2b.organizations.create(organization_name="Acme", organization_slug=new_slug()).organization
        assert b2b.organizations.delete(organization_id=org.organization_slug).organization_id == org.organization_id

    def test_frees_the_slug(self, b2b):
        taken = new_slug()
        org = b2b.organizations.create(organization_name="Acme", organization_slug=taken).organization
        b2b.organizations.delete(organization_id=org.organization_id)
        assert b2b.organizations.create(organization_name="Again", organization_slug=taken).organization

    def test_revokes_the_sessions_of_its_members(self, b2b, inbox):
        signup = discovery_signup(b2b, inbox, new_email())
        b2b.organizations.delete(organization_id=signup.organization.organization_id)
        with pytest.raises(StytchError) as exc:
            b2b.sessions.authenticate(session_token=signup.session_token)
        assert error_type(exc) == "session_not_found"

    def test_unknown_is_not_found(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.delete(organization_id="no-such-org")
        assert error_type(exc) == "organization_not_found"


def search_all(b2b, query, limit=2):
    """Follow next_cursor to the end; (organization ids in order, totals seen)."""
    ids, totals, cursor = [], [], None
    while True:
        resp = b2b.organizations.search(query=query, limit=limit, cursor=cursor)
        ids += [o.organization_id for o in resp.organizations]
        totals.append(resp.results_metadata.total)
        cursor = resp.results_metadata.next_cursor
        if not cursor:
            return ids, totals


def op(name, value):
    return {"operator": "AND", "operands": [{"filter_name": name, "filter_value": value}]}


class TestSearch:
    @pytest.fixture
    def five(self, b2b, server):
        """Five organizations, created a second apart on the server's clock: search orders by
        creation time, and the order must not depend on how fast the wall clock ticks."""
        tag = uuid.uuid4().hex[:6]
        made = []
        for i in range(5):
            server.clock.advance(seconds=1)
            made.append(
                b2b.organizations.create(
                    organization_name=f"Widgets {tag} {i}",
                    organization_slug=f"widgets-{tag}-{i}",
                    email_allowed_domains=[f"w{i}-{tag}.test"],
                    claimed_email_domains=[f"claimed{i}-{tag}.test"],
                ).organization
            )
        return made

    def test_without_query_pages_through_everything(self, b2b, five):
        ids, totals = search_all(b2b, None)
        assert ids == [o.organization_id for o in five]
        assert totals == [5, 5, 5]

    def test_by_name_fuzzy_pages_with_limit_two(self, b2b, five):
        tag = five[0].organization_slug.split("-")[1]
        ids, totals = search_all(b2b, op("organization_name_fuzzy", f"WIDGETS {tag}"))
        assert sorted(ids) == sorted(o.organization_id for o in five)
        assert totals == [5, 5, 5]

    def test_by_ids(self, b2b, five):
        wanted = [five[1].organization_id, five[3].organization_id]
        resp = b2b.organizations.search(query=op("organization_ids", wanted))
        assert [o.organization_id for o in resp.organizations] == [five[1].organization_id, five[3].organization_id]
        assert resp.results_metadata.total == 2
        assert resp.results_metadata.next_cursor is None

    def test_by_slugs(self, b2b, five):
        resp = b2b.organizations.search(query=op("organization_slugs", [five[2].organization_slug]))
        assert [o.organization_id for o in resp.organizations] == [five[2].organization_id]

    def test_by_slug_fuzzy(self, b2b, five):
        resp = b2b.organizations.search(query=op("organization_slug_fuzzy", five[4].organization_slug[-6:]))
        assert five[4].organization_id in [o.organization_id for o in resp.organizations]

    def test_by_allowed_domains(self, b2b, five):
        resp = b2b.organizations.search(query=op("allowed_domains", five[0].email_allowed_domains))
        assert [o.organization_id for o in resp.organizations] == [five[0].organization_id]

    def test_by_allowed_domain_fuzzy(self, b2b, five):
        tag = five[0].organization_slug.split("-")[1]
        ids, totals = search_all(b2b, op("allowed_domain_fuzzy", f"-{tag}.te"))
        assert sorted(ids) == sorted(o.organization_id for o in five)
        assert totals[0] == 5

    def test_by_claimed_email_domains(self, b2b, five):
        resp = b2b.organizations.search(query=op("claimed_email_domains", five[3].claimed_email_domains))
        assert [o.organization_id for o in resp.organizations] == [five[3].organization_id]

    def test_by_member_emails(self, b2b, five):
        email = new_email()
        b2b.organizations.members.create(organization_id=five[2].organization_id, email_address=email)
        resp = b2b.organizations.search(query=op("member_emails", [email.upper()]))
        assert [o.organization_id for o in resp.organizations] == [five[2].organization_id]

    def test_by_member_email_fuzzy(self, b2b, five):
        email = new_email("zelda")
        b2b.organizations.members.create(organization_id=five[1].organization_id, email_address=email)
        resp = b2b.organizations.search(query=op("member_email_fuzzy", email.split("@")[0]))
        assert [o.organization_id for o in resp.organizations] == [five[1].organization_id]

    def test_operands_and_together(self, b2b, five):
        query = {
            "operator": "AND",
            "operands": [
                {"filter_name": "organization_ids", "filter_value": [five[0].organization_id, five[1].organization_id]},
                {"filter_name": "organization_slugs", "filter_value": [five[1].organization_slug]},
            ],
        }
        resp = b2b.organizations.search(query=query)
        assert [o.organization_id for o in resp.organizations] == [five[1].organization_id]

    def test_operands_or_together(self, b2b, five):
        query = {
            "operator": "OR",
            "operands": [
                {"filter_name": "organization_ids", "filter_value": [five[0].organization_id]},
                {"filter_name": "organization_slugs", "filter_value": [five[1].organization_slug]},
            ],
        }
        resp = b2b.organizations.search(query=query)
        assert resp.results_metadata.total == 2

    def test_unknown_filter_is_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.search(query=op("favourite_colour", ["blue"]))
        assert error_type(exc) == "organization_search_filter_name_not_recognized"
        assert exc.value.details.status_code == 400

    def test_short_fuzzy_value_is_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.search(query=op("organization_name_fuzzy", "ab"))
        assert error_type(exc) == "organization_search_fuzzy_too_short"

    def test_bad_cursor_is_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.search(cursor="not-a-cursor")
        assert error_type(exc) == "organization_search_invalid_cursor"

    def test_limit_over_1000_is_refused(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.organizations.search(limit=1001)
        assert error_type(exc) == "organization_search_invalid_limit"
