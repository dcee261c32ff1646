"""A test project's own clock (`POST /dev/clock/advance`, `keystile clock advance`): its magic
links, intermediate sessions, sessions and JWTs expire as if the time had passed, through the
official SDK, while a neighbour project on the same server keeps the server's time."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import stytch

from keystile.core.keys import new_master_key
from tests.flows import consumer_login, discover, discovery_signup, error_of, jwt_parts, new_email
from tests.support import ProjectInfo, Server, assert_envelope, call, keystile_in_process, make_project


def advance(project: ProjectInfo, duration: str) -> dict[str, Any]:
    resp = call(project, "POST", "/dev/clock/advance", json={"duration": duration})
    assert resp.status_code == 200, resp.text
    return resp.json()


def clock_cli(project: ProjectInfo, *args: str) -> Any:
    """`keystile clock … --project P --json` on the project's server database; its JSON."""
    settings = project.server.settings
    done = keystile_in_process(
        {"KEYSTILE_DATA_DIR": str(settings.data_dir), "KEYSTILE_DATABASE_URL": settings.database_url or ""},
        "clock",
        *args,
        "--project",
        project.project_id,
        "--json",
    )
    assert done.returncode == 0, f"keystile clock failed: {done.stderr}{done.stdout}"
    return json.loads(done.stdout)


def server_time(server: Server) -> float:
    return server.clock.now().timestamp()


def parsed(stamp: str | datetime) -> float:
    """A timestamp as the API writes it (or as the SDK parsed it) in seconds."""
    if isinstance(stamp, str):
        stamp = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return stamp.astimezone(UTC).timestamp()


@pytest.fixture
def neighbour_b2b(other_project: ProjectInfo) -> Iterator[Any]:
    with requests.Session() as session:
        yield stytch.B2BClient(
            other_project.project_id,
            other_project.secret,
            environment=other_project.server.base_url,
            sync_session=session,
        )


@pytest.fixture
def neighbour_consumer(other_project: ProjectInfo) -> Iterator[Any]:
    with requests.Session() as session:
        yield stytch.Client(
            other_project.project_id,
            other_project.secret,
            environment=other_project.server.base_url,
            sync_session=session,
        )


class TestMagicLinks:
    def test_discovery_link_expires_after_an_advance_in_its_project_only(
        self, b2b, neighbour_b2b, project, inbox
    ) -> None:
        ours, theirs = new_email(), new_email()
        b2b.magic_links.email.discovery.send(email_address=ours)
        neighbour_b2b.magic_links.email.discovery.send(email_address=theirs)
        advance(project, "61m")
        details = error_of(
            lambda: b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(ours))
        )
        assert details.error_type == "unable_to_auth_magic_link"
        found = neighbour_b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(theirs))
        assert found.email_address == theirs

    def test_consumer_login_link_expires_after_an_advance_in_its_project_only(
        self, consumer, neighbour_consumer, project, inbox
    ) -> None:
        ours, theirs = new_email(), new_email()
        consumer.magic_links.email.login_or_create(email=ours, signup_expiration_minutes=60)
        neighbour_consumer.magic_links.email.login_or_create(email=theirs, signup_expiration_minutes=60)
        advance(project, "61m")
        details = error_of(lambda: consumer.magic_links.authenticate(token=inbox.latest_token(ours)))
        assert details.error_type == "unable_to_auth_magic_link"
        assert (
            neighbour_consumer.magic_links.authenticate(token=inbox.latest_token(theirs)).user.emails[0].email == theirs
        )

    def test_link_still_works_after_an_advance_shorter_than_its_lifetime(self, consumer, project, inbox) -> None:
        email = new_email()
        consumer.magic_links.email.login_or_create(email=email, signup_expiration_minutes=60)
        advance(project, "59m")
        assert consumer.magic_links.authenticate(token=inbox.latest_token(email)).user_id


class TestIntermediateSessions:
    def test_intermediate_session_expires_after_an_advance_in_its_project_only(
        self, b2b, neighbour_b2b, project, inbox
    ) -> None:
        ours = discover(b2b, inbox, new_email()).intermediate_session_token
        theirs = discover(neighbour_b2b, inbox, new_email()).intermediate_session_token
        advance(project, "11m")
        details = error_of(
            lambda: b2b.discovery.organizations.create(intermediate_session_token=ours, organization_name="Acme")
        )
        assert details.error_type == "intermediate_session_not_found"
        created = neighbour_b2b.discovery.organizations.create(intermediate_session_token=theirs, organization_name="N")
        assert created.member_session


class TestSessions:
    def test_b2b_session_expires_after_an_advance_in_its_project_only(self, b2b, neighbour_b2b, project, inbox) -> None:
        ours = discovery_signup(b2b, inbox, new_email())
        theirs = discovery_signup(neighbour_b2b, inbox, new_email())
        advance(project, "61m")
        details = error_of(lambda: b2b.sessions.authenticate(session_token=ours.session_token))
        assert details.error_type == "session_not_found"
        details = error_of(lambda: b2b.sessions.authenticate(session_jwt=ours.session_jwt))
        assert details.error_type == "session_not_found"
        still = neighbour_b2b.sessions.authenticate(session_token=theirs.session_token)
        assert still.member_session.member_session_id == theirs.member_session.member_session_id

    def test_consumer_session_expires_after_an_advance_in_its_project_only(
        self, consumer, neighbour_consumer, project, inbox
    ) -> None:
        ours = consumer_login(consumer, inbox, minutes=60)
        theirs = consumer_login(neighbour_consumer, inbox, minutes=60)
        advance(project, "61m")
        details = error_of(lambda: consumer.sessions.authenticate(session_token=ours.session_token))
        assert details.error_type == "session_not_found"
        assert neighbour_consumer.sessions.authenticate(session_token=theirs.session_token).session.session_id

    def test_a_new_session_lives_its_duration_on_the_moved_clock(self, consumer, project, inbox) -> None:
        advance(project, "2h")
        started = consumer_login(consumer, inbox, minutes=60)
        assert consumer.sessions.authenticate(session_token=started.session_token).session.session_id
        advance(project, "61m")
        details = error_of(lambda: consumer.sessions.authenticate(session_token=started.session_token))
        assert details.error_type == "session_not_found"

    def test_session_times_and_jwt_claims_come_from_the_moved_clock(self, b2b, project, inbox, server) -> None:
        member = discovery_signup(b2b, inbox, new_email())
        advance(project, "30m")
        resp = b2b.sessions.authenticate(session_token=member.session_token)
        ahead = server_time(server) + 30 * 60
        _, claims, _ = jwt_parts(resp.session_jwt)
        assert abs(claims["iat"] - ahead) < 60
        assert claims["exp"] == claims["iat"] + 300
        assert abs(parsed(resp.member_session.last_accessed_at) - ahead) < 60

    def test_an_app_verifying_locally_needs_keystile_for_a_jwt_from_the_moved_clock(self, b2b, project, inbox) -> None:
        member = discovery_signup(b2b, inbox, new_email())
        advance(project, "30m")
        fresh = b2b.sessions.authenticate(session_token=member.session_token).session_jwt
        # Issued half an hour ahead of the app's clock: not yet valid to a local check...
        assert b2b.sessions.authenticate_jwt_local(session_jwt=fresh) is None
        # ...so the SDK's authenticate_jwt asks keystile, which answers on the project's clock.
        resp = b2b.sessions.authenticate_jwt(session_jwt=fresh)
        assert resp.member_session.member_session_id == member.member_session.member_session_id

    def test_a_jwt_signed_before_an_advance_still_verifies_locally_until_its_real_expiry(
        self, b2b, project, inbox
    ) -> None:
        member = discovery_signup(b2b, inbox, new_email())
        advance(project, "61m")
        details = error_of(lambda: b2b.sessions.authenticate(session_jwt=member.session_jwt))
        assert details.error_type == "session_not_found"
        # The app's own clock has not moved: to it, the JWT has minutes left.
        local = b2b.sessions.authenticate_jwt_local(session_jwt=member.session_jwt)
        assert local is not None and local.member_session_id == member.member_session.member_session_id


class TestEndpoint:
    def test_show_advance_and_reset(self, project, server) -> None:
        shown = call(project, "GET", "/dev/clock").json()
        assert (shown["project_id"], shown["offset_seconds"]) == (project.project_id, 0)
        moved = advance(project, "1h1m")
        assert moved["offset_seconds"] == 3660
        assert abs(parsed(moved["now"]) - (server_time(server) + 3660)) < 60
        moved = call(project, "POST", "/dev/clock/advance", json={"seconds": 90}).json()
        assert moved["offset_seconds"] == 3750
        assert call(project, "GET", "/dev/clock").json()["offset_seconds"] == 3750
        reset = call(project, "POST", "/dev/clock/reset").json()
        assert reset["offset_seconds"] == 0
        assert abs(parsed(reset["now"]) - server_time(server)) < 60

    def test_reset_gives_back_the_server_time(self, consumer, project, inbox) -> None:
        email = new_email()
        advance(project, "61m")
        call(project, "POST", "/dev/clock/reset")
        consumer.magic_links.email.login_or_create(email=email)
        assert consumer.magic_links.authenticate(token=inbox.latest_token(email)).user_id

    def test_a_move_answers_once_every_process_can_see_it(self, project) -> None:
        started = time.monotonic()
        advance(project, "1m")
        assert time.monotonic() - started >= 1.0  # the project cache's lifetime (core/context.py)

    @pytest.mark.parametrize("duration", ["61", "-5m", "0m", "1y", "m", "", "1h 30x"])
    def test_bad_duration_is_refused(self, project, duration) -> None:
        resp = call(project, "POST", "/dev/clock/advance", json={"duration": duration})
        assert_envelope(resp, 400, "invalid_clock_duration")
        assert call(project, "GET", "/dev/clock").json()["offset_seconds"] == 0

    @pytest.mark.parametrize("body", [{}, {"duration": "1m", "seconds": 60}])
    def test_duration_or_seconds_exactly(self, project, body) -> None:
        assert_envelope(call(project, "POST", "/dev/clock/advance", json=body), 400, "bad_request")

    def test_more_than_ten_years_ahead_is_refused(self, project) -> None:
        resp = call(project, "POST", "/dev/clock/advance", json={"duration": "3700d"})
        assert_envelope(resp, 400, "invalid_clock_duration")

    def test_live_project_is_refused(self, server) -> None:
        live = make_project(server, live=True)
        for method, path in (("GET", "/dev/clock"), ("POST", "/dev/clock/advance"), ("POST", "/dev/clock/reset")):
            resp = call(live, method, path, json={"duration": "61m"})
            assert_envelope(resp, 403, "test_clock_live_project")

    def test_refused_on_a_production_server(self, project, server, monkeypatch) -> None:
        monkeypatch.setattr(server.state.settings, "env", "production")
        resp = call(project, "POST", "/dev/clock/advance", json={"duration": "61m"})
        assert_envelope(resp, 403, "test_clock_disabled")
        monkeypatch.undo()
        assert call(project, "GET", "/dev/clock").json()["offset_seconds"] == 0

    def test_a_production_server_ignores_a_stored_offset(self, consumer, project, inbox, server, monkeypatch) -> None:
        started = consumer_login(consumer, inbox, minutes=60)
        advance(project, "61m")
        monkeypatch.setattr(server.state.settings, "env", "production")
        assert consumer.sessions.authenticate(session_token=started.session_token).session.session_id
        monkeypatch.undo()
        details = error_of(lambda: consumer.sessions.authenticate(session_token=started.session_token))
        assert details.error_type == "session_not_found"

    def test_wrong_secret_is_refused(self, project) -> None:
        resp = call(
            project, "POST", "/dev/clock/advance", json={"duration": "61m"}, auth=(project.project_id, "x" * 30)
        )
        assert_envelope(resp, 401, "unauthorized_credentials")


class TestCLI:
    def test_advance_expires_a_session_in_its_project_only(self, consumer, neighbour_consumer, project, inbox) -> None:
        ours = consumer_login(consumer, inbox, minutes=60)
        theirs = consumer_login(neighbour_consumer, inbox, minutes=60)
        moved = clock_cli(project, "advance", "61m")
        assert moved["offset_seconds"] == 3660
        details = error_of(lambda: consumer.sessions.authenticate(session_token=ours.session_token))
        assert details.error_type == "session_not_found"
        assert neighbour_consumer.sessions.authenticate(session_token=theirs.session_token).session.session_id

    def test_show_and_reset(self, project) -> None:
        clock_cli(project, "advance", "2h")
        assert clock_cli(project, "show")["offset_seconds"] == 7200
        assert call(project, "GET", "/dev/clock").json()["offset_seconds"] == 7200
        assert clock_cli(project, "reset")["offset_seconds"] == 0
        assert call(project, "GET", "/dev/clock").json()["offset_seconds"] == 0

    def test_live_project_and_production_are_refused(self, server, project) -> None:
        live = make_project(server, live=True)
        settings = {"KEYSTILE_DATA_DIR": str(server.settings.data_dir)}
        settings["KEYSTILE_DATABASE_URL"] = server.settings.database_url or ""
        done = keystile_in_process(settings, "clock", "advance", "61m", "--project", live.project_id)
        assert done.returncode == 2 and "live project" in done.stderr
        production = {**settings, "KEYSTILE_ENV": "production", "KEYSTILE_MASTER_KEY": new_master_key()}
        done = keystile_in_process(production, "clock", "advance", "61m", "--project", project.project_id)
        assert done.returncode == 2 and "KEYSTILE_ENV=production" in done.stderr
        assert call(project, "GET", "/dev/clock").json()["offset_seconds"] == 0
