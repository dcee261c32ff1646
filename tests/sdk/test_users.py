"""Consumer Users API through the official SDK (stytch.Client), on SQLite
and PostgreSQL: create, get, update, delete, search, delete_email, delete_external_id."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import stytch

from tests.flows import error_of, new_email, new_external_id


@pytest.fixture
def other_consumer(other_project) -> Any:
    return stytch.Client(other_project.project_id, other_project.secret, environment=other_project.server.base_url)


class TestCreate:
    def test_returns_the_user_with_its_email(self, consumer):
        email = new_email()
        resp = consumer.users.create(email=email)
        assert resp.user_id.startswith("user-test-")
        assert resp.status == "active"
        assert resp.phone_id == ""
        assert resp.user.emails[0].email == email
        assert resp.user.emails[0].email_id == resp.email_id
        assert resp.user.emails[0].verified is False

    def test_email_is_returned_as_given(self, consumer):
        email = f"Ada.Lovelace-{uuid.uuid4().hex[:6]}@Example.TEST"
        assert consumer.users.create(email=email).user.emails[0].email == email

    def test_every_list_of_the_user_object_is_present(self, consumer):
        user = consumer.users.create(email=new_email()).user
        assert user.phone_numbers == [] and user.webauthn_registrations == [] and user.providers == []
        assert user.totps == [] and user.crypto_wallets == [] and user.biometric_registrations == []
        assert user.is_locked is False and user.roles == [] and user.password is None
        assert user.created_at is not None

    def test_create_user_as_pending(self, consumer):
        resp = consumer.users.create(email=new_email(), create_user_as_pending=True)
        assert resp.status == "pending"
        assert resp.user.status == "pending"

    def test_name_and_metadata_are_stored(self, consumer):
        resp = consumer.users.create(
            email=new_email(),
            name={"first_name": "Ada", "middle_name": "King", "last_name": "Lovelace"},
            trusted_metadata={"plan": "pro"},
            untrusted_metadata={"theme": "dark"},
        )
        user = consumer.users.get(user_id=resp.user_id)
        assert (user.name.first_name, user.name.middle_name, user.name.last_name) == ("Ada", "King", "Lovelace")
        assert user.trusted_metadata == {"plan": "pro"}
        assert user.untrusted_metadata == {"theme": "dark"}

    def test_email_used_by_another_user_is_duplicate_email(self, consumer):
        email = new_email()
        consumer.users.create(email=email)
        details = error_of(lambda: consumer.users.create(email=email.upper()))
        assert details.status_code == 400
        assert details.error_type == "duplicate_email"

    def test_external_id_must_be_unique(self, consumer):
        external_id = new_external_id()
        consumer.users.create(email=new_email(), external_id=external_id)
        details = error_of(lambda: consumer.users.create(email=new_email(), external_id=external_id))
        assert details.error_type == "duplicate_user_external_id"

    def test_external_id_with_bad_characters_is_rejected(self, consumer):
        details = error_of(lambda: consumer.users.create(email=new_email(), external_id="has space"))
        assert details.status_code == 400

    def test_invalid_email_is_rejected(self, consumer):
        details = error_of(lambda: consumer.users.create(email="nope@"))
        assert details.error_type == "invalid_email"

    def test_without_email_is_rejected(self, consumer):
        details = error_of(lambda: consumer.users.create(name={"first_name": "Nobody"}))
        assert details.status_code == 400

    def test_failed_create_writes_nothing(self, consumer):
        email = new_email()
        taken = new_external_id()
        consumer.users.create(email=new_email(), external_id=taken)
        error_of(lambda: consumer.users.create(email=email, external_id=taken))
        found = consumer.users.search(
            query={"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [email]}]}
        )
        assert found.results == []


class TestGet:
    def test_by_user_id(self, consumer):
        created = consumer.users.create(email=new_email())
        got = consumer.users.get(user_id=created.user_id)
        assert got.user_id == created.user_id
        assert got.emails[0].email_id == created.email_id

    def test_by_external_id(self, consumer):
        external_id = new_external_id()
        created = consumer.users.create(email=new_email(), external_id=external_id)
        got = consumer.users.get(user_id=external_id)
        assert got.user_id == created.user_id
        assert got.external_id == external_id

    def test_unknown_user_is_user_not_found(self, consumer):
        details = error_of(lambda: consumer.users.get(user_id="user-test-00000000-0000-0000-0000-000000000000"))
        assert details.status_code == 404
        assert details.error_type == "user_not_found"


class TestUpdate:
    def test_absent_fields_are_unchanged(self, consumer):
        created = consumer.users.create(email=new_email(), name={"first_name": "Ada"}, trusted_metadata={"plan": "pro"})
        resp = consumer.users.update(user_id=created.user_id, untrusted_metadata={"theme": "dark"})
        assert resp.user.name.first_name == "Ada"
        assert resp.user.trusted_metadata == {"plan": "pro"}
        assert resp.user.untrusted_metadata == {"theme": "dark"}

    def test_name_fields_merge(self, consumer):
        created = consumer.users.create(email=new_email(), name={"first_name": "Ada"})
        resp = consumer.users.update(user_id=created.user_id, name={"last_name": "Lovelace"})
        assert (resp.user.name.first_name, resp.user.name.last_name) == ("Ada", "Lovelace")

    def test_metadata_merges_at_top_level_and_null_deletes(self, consumer):
        created = consumer.users.create(email=new_email(), trusted_metadata={"a": 1, "b": {"x": 1}})
        resp = consumer.users.update(user_id=created.user_id, trusted_metadata={"a": None, "b": {"y": 2}, "c": 3})
        assert resp.user.trusted_metadata == {"b": {"y": 2}, "c": 3}

    def test_sets_the_external_id(self, consumer):
        created = consumer.users.create(email=new_email())
        external_id = new_external_id()
        consumer.users.update(user_id=created.user_id, external_id=external_id)
        assert consumer.users.get(user_id=external_id).user_id == created.user_id

    def test_taken_external_id_is_rejected(self, consumer):
        taken = new_external_id()
        consumer.users.create(email=new_email(), external_id=taken)
        other = consumer.users.create(email=new_email())
        details = error_of(lambda: consumer.users.update(user_id=other.user_id, external_id=taken))
        assert details.error_type == "duplicate_user_external_id"

    def test_response_lists_the_emails(self, consumer):
        created = consumer.users.create(email=new_email())
        resp = consumer.users.update(user_id=created.user_id, name={"first_name": "X"})
        assert resp.user_id == created.user_id
        assert [e.email_id for e in resp.emails] == [created.email_id]
        assert resp.phone_numbers == [] and resp.crypto_wallets == []

    def test_unknown_user_is_user_not_found(self, consumer):
        details = error_of(lambda: consumer.users.update(user_id="user-test-nope", name={"first_name": "X"}))
        assert details.error_type == "user_not_found"


class TestDelete:
    def test_deleted_user_is_gone(self, consumer):
        created = consumer.users.create(email=new_email())
        assert consumer.users.delete(user_id=created.user_id).user_id == created.user_id
        assert error_of(lambda: consumer.users.get(user_id=created.user_id)).error_type == "user_not_found"

    def test_frees_the_email(self, consumer):
        email = new_email()
        created = consumer.users.create(email=email)
        consumer.users.delete(user_id=created.user_id)
        assert consumer.users.create(email=email).user_id != created.user_id

    def test_revokes_the_users_sessions(self, consumer):
        created = consumer.users.create(email=new_email())
        token = consumer.magic_links.create(user_id=created.user_id).token
        session = consumer.magic_links.authenticate(token=token, session_duration_minutes=60)
        consumer.users.delete(user_id=created.user_id)
        details = error_of(lambda: consumer.sessions.authenticate(session_token=session.session_token))
        assert details.error_type == "session_not_found"

    def test_by_external_id(self, consumer):
        external_id = new_external_id()
        created = consumer.users.create(email=new_email(), external_id=external_id)
        assert consumer.users.delete(user_id=external_id).user_id == created.user_id

    def test_unknown_user_is_user_not_found(self, consumer):
        assert error_of(lambda: consumer.users.delete(user_id="user-test-nope")).error_type == "user_not_found"


class TestDeleteEmail:
    def test_removes_the_email_from_the_user(self, consumer):
        created = consumer.users.create(email=new_email())
        resp = consumer.users.delete_email(email_id=created.email_id)
        assert resp.user_id == created.user_id
        assert resp.user.emails == []

    def test_unknown_email_is_email_not_found(self, consumer):
        details = error_of(lambda: consumer.users.delete_email(email_id="email-test-nope"))
        assert details.error_type == "email_not_found"


class TestDeleteExternalId:
    def test_clears_the_external_id(self, consumer):
        external_id = new_external_id()
        created = consumer.users.create(email=new_email(), external_id=external_id)
        resp = consumer.users.delete_external_id(user_id=created.user_id)
        assert resp.user.external_id is None
        assert error_of(lambda: consumer.users.get(user_id=external_id)).error_type == "user_not_found"


def _query(*operands: tuple[str, Any], operator: str = "AND") -> dict[str, Any]:
    return {"operator": operator, "operands": [{"filter_name": n, "filter_value": v} for n, v in operands]}


@pytest.fixture
def five_users(consumer, server) -> list[Any]:
    """Five users, created a second apart on the server's clock: the created_at filters
    compare their creation times, which must not depend on how fast the wall clock ticks."""
    tag = uuid.uuid4().hex[:8]
    users = []
    for i in range(5):
        server.clock.advance(seconds=1)
        users.append(
            consumer.users.create(
                email=f"{tag}-{i}@search.test",
                name={"first_name": f"Grace{tag}", "last_name": f"Hopper{i}"},
                create_user_as_pending=(i % 2 == 1),
            )
        )
    return users


class TestSearch:
    def test_without_query_returns_every_user(self, consumer, five_users):
        resp = consumer.users.search()
        assert {u.user_id for u in resp.results} == {u.user_id for u in five_users}
        assert resp.results_metadata.total == 5

    def test_paginates_with_next_cursor(self, consumer, five_users):
        seen, cursor, pages = [], None, 0
        while True:
            resp = consumer.users.search(limit=2, cursor=cursor)
            pages += 1
            assert len(resp.results) <= 2
            assert resp.results_metadata.total == 5
            seen.extend(u.user_id for u in resp.results)
            cursor = resp.results_metadata.next_cursor
            if not cursor:
                break
        assert pages == 3
        assert sorted(seen) == sorted(u.user_id for u in five_users)

    def test_email_address(self, consumer, five_users):
        target = five_users[2].user.emails[0].email
        resp = consumer.users.search(query=_query(("email_address", [target.upper()])))
        assert [u.user_id for u in resp.results] == [five_users[2].user_id]

    def test_email_address_fuzzy(self, consumer, five_users):
        fragment = five_users[0].user.emails[0].email.split("@")[0][:-2]
        resp = consumer.users.search(query=_query(("email_address_fuzzy", fragment)))
        assert resp.results_metadata.total == 5

    def test_fuzzy_needs_three_characters(self, consumer, five_users):
        details = error_of(lambda: consumer.users.search(query=_query(("email_address_fuzzy", "ab"))))
        assert details.error_type == "user_search_fuzzy_too_short"

    def test_status(self, consumer, five_users):
        resp = consumer.users.search(query=_query(("status", "pending")))
        assert {u.user_id for u in resp.results} == {five_users[1].user_id, five_users[3].user_id}

    def test_user_id(self, consumer, five_users):
        ids = [five_users[0].user_id, five_users[4].user_id]
        assert {u.user_id for u in consumer.users.search(query=_query(("user_id", ids))).results} == set(ids)

    def test_email_id(self, consumer, five_users):
        resp = consumer.users.search(query=_query(("email_id", [five_users[1].email_id])))
        assert [u.user_id for u in resp.results] == [five_users[1].user_id]

    def test_email_verified(self, consumer, five_users, inbox):
        email = five_users[0].user.emails[0].email
        consumer.magic_links.email.send(email=email)
        consumer.magic_links.authenticate(token=inbox.latest_token(email))
        resp = consumer.users.search(query=_query(("email_verified", True)))
        assert [u.user_id for u in resp.results] == [five_users[0].user_id]

    def test_full_name_fuzzy(self, consumer, five_users):
        first = five_users[3].user.name.first_name
        resp = consumer.users.search(query=_query(("full_name_fuzzy", f"{first} hopper3".lower())))
        assert [u.user_id for u in resp.results] == [five_users[3].user_id]

    def test_created_at_bounds(self, consumer, five_users, server):
        created = consumer.users.get(user_id=five_users[2].user_id).created_at
        stamp = created.isoformat().replace("+00:00", "Z")
        after = consumer.users.search(query=_query(("created_at_greater_than", stamp)))
        before = consumer.users.search(query=_query(("created_at_less_than", stamp)))
        assert {u.user_id for u in after.results} == {five_users[3].user_id, five_users[4].user_id}
        assert {u.user_id for u in before.results} == {five_users[0].user_id, five_users[1].user_id}

    def test_created_at_between(self, consumer, five_users):
        low = consumer.users.get(user_id=five_users[0].user_id).created_at.isoformat()
        high = consumer.users.get(user_id=five_users[4].user_id).created_at.isoformat()
        resp = consumer.users.search(query=_query(("created_at_between", {"greater_than": low, "less_than": high})))
        assert {u.user_id for u in resp.results} == {u.user_id for u in five_users[1:4]}

    def test_and_combines_filters(self, consumer, five_users):
        resp = consumer.users.search(
            query=_query(("status", "active"), ("user_id", [five_users[0].user_id, five_users[1].user_id]))
        )
        assert [u.user_id for u in resp.results] == [five_users[0].user_id]

    def test_unknown_filter_is_a_clear_400(self, consumer, five_users):
        details = error_of(lambda: consumer.users.search(query=_query(("shoe_size", "42"))))
        assert details.status_code == 400
        assert details.error_type == "user_search_filter_name_not_recognized"
        assert "shoe_size" in details.error_message

    def test_bad_cursor_is_rejected(self, consumer, five_users):
        details = error_of(lambda: consumer.users.search(cursor="garbage!"))
        assert details.error_type == "user_search_invalid_cursor"

    def test_limit_over_1000_is_rejected(self, consumer):
        assert error_of(lambda: consumer.users.search(limit=1001)).error_type == "user_search_invalid_limit"


class TestIsolation:
    def test_another_project_cannot_get_the_user(self, consumer, other_consumer):
        created = consumer.users.create(email=new_email())
        assert error_of(lambda: other_consumer.users.get(user_id=created.user_id)).error_type == "user_not_found"

    def test_another_project_cannot_update_the_user(self, consumer, other_consumer):
        created = consumer.users.create(email=new_email(), name={"first_name": "Ada"})
        details = error_of(lambda: other_consumer.users.update(user_id=created.user_id, name={"first_name": "Eve"}))
        assert details.error_type == "user_not_found"
        assert consumer.users.get(user_id=created.user_id).name.first_name == "Ada"

    def test_another_project_cannot_delete_the_user(self, consumer, other_consumer):
        created = consumer.users.create(email=new_email())
        assert error_of(lambda: other_consumer.users.delete(user_id=created.user_id)).error_type == "user_not_found"
        assert consumer.users.get(user_id=created.user_id).user_id == created.user_id

    def test_another_project_cannot_delete_the_email(self, consumer, other_consumer):
        created = consumer.users.create(email=new_email())
        details = error_of(lambda: other_consumer.users.delete_email(email_id=created.email_id))
        assert details.error_type == "email_not_found"

    def test_another_project_does_not_find_the_user_in_search(self, consumer, other_consumer):
        email = new_email()
        consumer.users.create(email=email)
        resp = other_consumer.users.search(query=_query(("email_address", [email])))
        assert resp.results == [] and resp.results_metadata.total == 0

    def test_the_same_email_may_exist_in_two_projects(self, consumer, other_consumer):
        email = new_email()
        first = consumer.users.create(email=email)
        assert other_consumer.users.create(email=email).user_id != first.user_id
