"""B2B sessions through the official SDK: authenticate, extend, JWTs, revoke, get, exchange."""

from __future__ import annotations

import pytest
import requests
from stytch.core.response_base import StytchError

from tests.flows import discovery_signup, jwt_of, jwt_parts, new_email


@pytest.fixture
def member(b2b, inbox):
    return discovery_signup(b2b, inbox, new_email())


class TestAuthenticate:
    def test_by_token_returns_member_organization_and_fresh_jwt(self, b2b, member):
        resp = b2b.sessions.authenticate(session_token=member.session_token)
        assert resp.member.member_id == member.member_id
        assert resp.organization.organization_id == member.organization.organization_id
        assert resp.member_session.member_session_id == member.member_session.member_session_id
        assert resp.session_token == member.session_token
        assert resp.session_jwt.count(".") == 2
        assert "stytch_admin" in resp.member_session.roles

    def test_by_jwt(self, b2b, member):
        resp = b2b.sessions.authenticate(session_jwt=member.session_jwt)
        assert resp.member_session.member_session_id == member.member_session.member_session_id

    def test_expired_jwt_of_a_live_session_is_refreshed(self, b2b, member, server):
        server.clock.advance(minutes=6)
        resp = b2b.sessions.authenticate(session_jwt=member.session_jwt)
        assert resp.session_jwt != member.session_jwt

    def test_extends_with_session_duration_minutes(self, b2b, member):
        before = member.member_session.expires_at
        resp = b2b.sessions.authenticate(session_token=member.session_token, session_duration_minutes=600)
        assert resp.member_session.expires_at > before

    def test_without_duration_does_not_extend(self, b2b, member):
        resp = b2b.sessions.authenticate(session_token=member.session_token)
        assert resp.member_session.expires_at == member.member_session.expires_at

    def test_custom_claims_are_set_and_deleted(self, b2b, member):
        resp = b2b.sessions.authenticate(
            session_token=member.session_token, session_custom_claims={"plan": "pro", "seat": 3}
        )
        assert resp.member_session.custom_claims == {"plan": "pro", "seat": 3}
        local = b2b.sessions.authenticate_jwt_local(session_jwt=resp.session_jwt)
        assert local.custom_claims == {"plan": "pro", "seat": 3}
        resp = b2b.sessions.authenticate(session_token=member.session_token, session_custom_claims={"seat": None})
        assert resp.member_session.custom_claims == {"plan": "pro"}

    def test_reserved_custom_claims_are_ignored(self, b2b, member):
        resp = b2b.sessions.authenticate(session_token=member.session_token, session_custom_claims={"sub": "x", "k": 1})
        assert resp.member_session.custom_claims == {"k": 1}

    def test_unknown_token_is_session_not_found(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.sessions.authenticate(session_token="nope" * 11)
        assert exc.value.details.error_type == "session_not_found"
        assert exc.value.details.status_code == 404

    def test_token_and_jwt_together_are_refused(self, b2b, member):
        with pytest.raises(StytchError) as exc:
            b2b.sessions.authenticate(session_token=member.session_token, session_jwt=member.session_jwt)
        assert exc.value.details.error_type == "too_many_session_arguments"

    def test_session_expires(self, b2b, member, server):
        server.clock.advance(minutes=61)
        with pytest.raises(StytchError) as exc:
            b2b.sessions.authenticate(session_token=member.session_token)
        assert exc.value.details.error_type == "session_not_found"

    def test_duration_out_of_range_is_refused(self, b2b, member):
        with pytest.raises(StytchError) as exc:
            b2b.sessions.authenticate(session_token=member.session_token, session_duration_minutes=1)
        assert exc.value.details.status_code == 400


class TestJWT:
    def test_local_verification_accepts_keystile_jwts(self, b2b, member):
        local = b2b.sessions.authenticate_jwt_local(session_jwt=member.session_jwt)
        assert local.member_id == member.member_id
        assert local.organization_id == member.organization.organization_id
        assert local.member_session_id == member.member_session.member_session_id

    def test_authenticate_jwt_with_max_age_falls_back_to_the_server(self, b2b, member):
        resp = b2b.sessions.authenticate_jwt(session_jwt=member.session_jwt, max_token_age_seconds=0)
        assert resp.member_session.member_id == member.member_id

    def test_jwt_header_and_claims(self, member, project):
        import jwt as pyjwt

        header = pyjwt.get_unverified_header(member.session_jwt)
        assert header["alg"] == "RS256" and header["typ"] == "JWT" and header["kid"].startswith("jwk-test-")
        claims = pyjwt.decode(member.session_jwt, options={"verify_signature": False})
        assert claims["iss"] == f"stytch.com/{project.project_id}"
        assert claims["aud"] == [project.project_id]
        assert claims["exp"] - claims["iat"] == 300
        assert claims["sub"] == member.member_id
        assert claims["https://stytch.com/organization"]["slug"] == member.organization.organization_slug
        factor = claims["https://stytch.com/session"]["authentication_factors"][0]
        assert (factor["type"], factor["delivery_method"]) == ("magic_link", "email")

    def test_a_fresh_jwt_is_reused_not_resigned(self, b2b, member):
        first = b2b.sessions.authenticate(session_token=member.session_token).session_jwt
        second = b2b.sessions.authenticate(session_token=member.session_token).session_jwt
        assert first == second

    def test_jwks_has_the_signing_key_and_cache_headers(self, b2b, member, project):
        kid = __import__("jwt").get_unverified_header(member.session_jwt)["kid"]
        resp = b2b.sessions.get_jwks(project_id=project.project_id)
        assert kid in [k.kid for k in resp.keys]
        raw = requests.get(f"{project.server.base_url}v1/b2b/sessions/jwks/{project.project_id}", timeout=10)
        assert "max-age" in raw.headers["cache-control"]


def _refused(b2b, session_jwt: str) -> str:
    with pytest.raises(StytchError) as exc:
        b2b.sessions.authenticate(session_jwt=session_jwt)
    assert exc.value.details.status_code in (401, 404)
    return exc.value.details.error_type


class TestJWTChecks:
    """A JWT is only trusted with its signature checked against a key the project publishes;
    the server remembers the JWTs it signed or checked, and that must never let another through."""

    def test_a_changed_claim_breaks_the_signature(self, b2b, member):
        header, claims, signature = jwt_parts(member.session_jwt)
        claims["https://stytch.com/session"]["roles"].append("forged_admin")
        assert _refused(b2b, jwt_of(header, claims, signature)) == "jwt_invalid_claims"
        # The genuine JWT still works: a refused forgery leaves nothing behind.
        b2b.sessions.authenticate(session_jwt=member.session_jwt)

    def test_another_sessions_signature_does_not_fit(self, b2b, inbox, member):
        other = discovery_signup(b2b, inbox, new_email())
        header, claims, _ = jwt_parts(member.session_jwt)
        forged = jwt_of(header, claims, jwt_parts(other.session_jwt)[2])
        assert _refused(b2b, forged) == "jwt_invalid_claims"

    def test_a_jwt_naming_a_key_the_project_does_not_have_is_refused(self, b2b, member):
        header, claims, signature = jwt_parts(member.session_jwt)
        named = {**header, "kid": "jwk-test-not-ours"}
        assert _refused(b2b, jwt_of(named, claims, signature)) == "jwt_invalid_claims"

    def test_a_forged_jwt_for_a_session_that_does_not_exist_is_invalid_not_missing(self, b2b, member):
        header, claims, signature = jwt_parts(member.session_jwt)
        claims["https://stytch.com/session"]["id"] = "member-session-test-00000000-0000-4000-8000-000000000000"
        assert _refused(b2b, jwt_of(header, claims, signature)) == "jwt_invalid_claims"

    def test_a_jwt_without_a_session_claim_is_invalid(self, b2b, member):
        header, claims, signature = jwt_parts(member.session_jwt)
        del claims["https://stytch.com/session"]
        assert _refused(b2b, jwt_of(header, claims, signature)) == "jwt_invalid_claims"

    @pytest.mark.parametrize("junk", ["not-a-jwt", "a.b", "!!!.e30.e30", "e30.e30.e30.e30"])
    def test_what_is_not_a_jwt_cannot_be_parsed(self, b2b, member, junk):
        assert _refused(b2b, junk) == "unable_to_parse_session_jwt"

    def test_a_genuine_jwt_of_a_revoked_session_is_not_found(self, b2b, member):
        b2b.sessions.authenticate(session_jwt=member.session_jwt)  # checked once, remembered
        b2b.sessions.revoke(session_token=member.session_token)
        assert _refused(b2b, member.session_jwt) == "session_not_found"


class TestRevoke:
    def test_by_token_then_authenticate_fails(self, b2b, member):
        b2b.sessions.revoke(session_token=member.session_token)
        with pytest.raises(StytchError) as exc:
            b2b.sessions.authenticate(session_token=member.session_token)
        assert exc.value.details.error_type == "session_not_found"

    def test_by_id(self, b2b, member):
        b2b.sessions.revoke(member_session_id=member.member_session.member_session_id)
        with pytest.raises(StytchError):
            b2b.sessions.authenticate(session_jwt=member.session_jwt)

    def test_by_jwt(self, b2b, member):
        b2b.sessions.revoke(session_jwt=member.session_jwt)
        with pytest.raises(StytchError):
            b2b.sessions.authenticate(session_token=member.session_token)

    def test_all_of_a_member(self, b2b, member):
        b2b.sessions.revoke(member_id=member.member_id)
        with pytest.raises(StytchError):
            b2b.sessions.authenticate(session_token=member.session_token)

    def test_twice_is_session_not_found(self, b2b, member):
        b2b.sessions.revoke(session_token=member.session_token)
        with pytest.raises(StytchError) as exc:
            b2b.sessions.revoke(session_token=member.session_token)
        assert exc.value.details.error_type == "session_not_found"

    def test_without_arguments_is_a_400(self, b2b):
        with pytest.raises(StytchError) as exc:
            b2b.sessions.revoke()
        assert exc.value.details.status_code == 400


class TestGet:
    def test_lists_live_sessions_of_a_member(self, b2b, member):
        resp = b2b.sessions.get(organization_id=member.organization.organization_id, member_id=member.member_id)
        assert [s.member_session_id for s in resp.member_sessions] == [member.member_session.member_session_id]

    def test_revoked_sessions_are_not_listed(self, b2b, member):
        b2b.sessions.revoke(session_token=member.session_token)
        resp = b2b.sessions.get(organization_id=member.organization.organization_id, member_id=member.member_id)
        assert resp.member_sessions == []


class TestExchange:
    def test_switches_to_another_organization_of_the_same_person(self, b2b, inbox):
        email = new_email()
        first = discovery_signup(b2b, inbox, email, "First")
        second = discovery_signup(b2b, inbox, email, "Second")
        resp = b2b.sessions.exchange(
            organization_id=first.organization.organization_id, session_token=second.session_token
        )
        assert resp.member_authenticated is True
        assert resp.organization.organization_id == first.organization.organization_id
        assert resp.member_session.organization_id == first.organization.organization_id
        again = b2b.sessions.authenticate(session_token=resp.session_token)
        assert again.member.member_id == first.member_id

    def test_by_slug(self, b2b, inbox):
        email = new_email()
        first = discovery_signup(b2b, inbox, email, "First")
        second = discovery_signup(b2b, inbox, email, "Second")
        resp = b2b.sessions.exchange(
            organization_id=first.organization.organization_slug, session_jwt=second.session_jwt
        )
        assert resp.member_id == first.member_id

    def test_into_an_organization_that_does_not_take_magic_links_needs_another_factor(self, b2b, inbox):
        email = new_email()
        first = discovery_signup(b2b, inbox, email, "First")
        second = discovery_signup(b2b, inbox, email, "Second")
        b2b.organizations.update(
            organization_id=first.organization.organization_id,
            auth_methods="RESTRICTED",
            allowed_auth_methods=["sso"],
        )
        resp = b2b.sessions.exchange(
            organization_id=first.organization.organization_id, session_token=second.session_token
        )
        assert resp.member_authenticated is False
        assert resp.session_token == "" and resp.member_session is None
        assert resp.primary_required.allowed_auth_methods == ["sso"]
        listed = b2b.discovery.organizations.list(intermediate_session_token=resp.intermediate_session_token)
        assert listed.email_address == email

    def test_refused_without_membership(self, b2b, inbox):
        mine = discovery_signup(b2b, inbox, new_email())
        theirs = discovery_signup(b2b, inbox, new_email(domain="other.test"))
        with pytest.raises(StytchError) as exc:
            b2b.sessions.exchange(organization_id=theirs.organization.organization_id, session_token=mine.session_token)
        assert exc.value.details.status_code == 403


def test_jwt_signed_by_another_project_is_refused(b2b, member, other_project):
    import stytch

    other = stytch.B2BClient(other_project.project_id, other_project.secret, environment=other_project.server.base_url)
    with pytest.raises(StytchError) as exc:
        other.sessions.authenticate(session_jwt=member.session_jwt)
    assert exc.value.details.status_code in (401, 404)
    with pytest.raises(StytchError):
        other.sessions.authenticate(session_token=member.session_token)
