"""B2B SMS OTP through the official SDK: `otps.sms.send` texts a 6-digit passcode to a Member's
MFA phone number (read back from the dev inbox), `otps.sms.authenticate` takes it as a second
factor once, within two minutes, while it is the Member's newest, and a primary login of a
Member whose second factor is SMS texts one unasked (`secondary_auth_initiated: "sms_otp"`)."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import requests
import stytch
from stytch.b2b.models.organizations_members import DeleteMFAPhoneNumberRequestOptions
from stytch.core.response_base import StytchError

from tests.flows import acting, error_of, login, make_org, new_email
from tests.http.test_text_messages import new_number
from tests.support import Inbox, ProjectInfo, call


def mfa_org(b2b: Any, inbox: Inbox, **settings: Any) -> Any:
    org = make_org(b2b, inbox)
    return b2b.organizations.update(
        organization_id=org.organization_id, mfa_policy="REQUIRED_FOR_ALL", **settings
    ).organization


def member_login(b2b: Any, inbox: Inbox, organization_id: str, **create: Any) -> tuple[str, Any]:
    email = new_email("bob")
    b2b.organizations.members.create(organization_id=organization_id, email_address=email, **create)
    return email, login(b2b, inbox, organization_id, email)


def texts(inbox: Inbox, number: str) -> list[dict[str, Any]]:
    return inbox.messages(number)


def latest_code(inbox: Inbox, number: str) -> str:
    messages = texts(inbox, number)
    assert messages, f"no text to {number}"
    assert messages[0]["channel"] == "sms" and messages[0]["to"] == number
    found = re.search(r"\b(\d{6})\b", messages[0]["text"])
    assert found, messages[0]["text"]
    return found.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def advance(project: ProjectInfo, duration: str) -> None:
    resp = call(project, "POST", "/dev/clock/advance", json={"duration": duration})
    assert resp.status_code == 200, resp.text


def sent_to_new_number(b2b: Any, inbox: Inbox, org_id: str) -> tuple[str, Any, str]:
    """A new Member of an MFA organization logs in and is texted a code at a new number:
    the number, the login response and the code."""
    number = new_number()
    _, first = member_login(b2b, inbox, org_id)
    b2b.otps.sms.send(
        organization_id=org_id,
        member_id=first.member_id,
        mfa_phone_number=number,
        intermediate_session_token=first.intermediate_session_token,
    )
    return number, first, latest_code(inbox, number)


class TestSendAndAuthenticate:
    def test_a_texted_code_completes_the_login_and_verifies_the_number(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        number = new_number()
        _, first = member_login(b2b, inbox, org.organization_id)
        assert first.mfa_required.secondary_auth_initiated is None
        assert first.mfa_required.member_options.mfa_phone_number == ""
        typed = f"+1 ({number[2:5]}) {number[5:8]}-{number[8:]}"
        sent = b2b.otps.sms.send(
            organization_id=org.organization_id,
            member_id=first.member_id,
            mfa_phone_number=typed,
            intermediate_session_token=first.intermediate_session_token,
        )
        assert sent.member.mfa_phone_number == number and sent.member.mfa_phone_number_verified is False
        code = latest_code(inbox, number)
        assert "expires in 2 minutes" in texts(inbox, number)[0]["text"]
        done = b2b.otps.sms.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=code,
            intermediate_session_token=first.intermediate_session_token,
        )
        assert done.session_token and done.session_jwt
        factors = done.member_session.authentication_factors
        assert [(f.type, f.delivery_method) for f in factors] == [("magic_link", "email"), ("otp", "sms")]
        assert factors[1].phone_number_factor.phone_number == number
        assert done.member.mfa_phone_number_verified is True
        assert done.member.default_mfa_method == "sms_otp" and done.member.mfa_enrolled is True
        got = b2b.organizations.members.get(organization_id=org.organization_id, member_id=first.member_id)
        assert got.member.mfa_phone_number == number and got.member.mfa_phone_number_verified is True

    def test_a_wrong_code_is_refused_and_the_right_one_still_works(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": first.member_id,
            "intermediate_session_token": first.intermediate_session_token,
        }
        refused = error_of(lambda: b2b.otps.sms.authenticate(**kwargs, code=wrong(code)))
        assert (refused.status_code, refused.error_type) == (404, "otp_code_not_found")
        assert b2b.otps.sms.authenticate(**kwargs, code=code).session_token

    def test_a_code_works_once(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        done = b2b.otps.sms.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=code,
            intermediate_session_token=first.intermediate_session_token,
        )
        again = error_of(
            lambda: b2b.otps.sms.authenticate(
                organization_id=org.organization_id,
                member_id=first.member_id,
                code=code,
                session_token=done.session_token,
            )
        )
        assert again.error_type == "otp_code_not_found"

    def test_a_new_send_supersedes_the_live_code(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        number, first, old = sent_to_new_number(b2b, inbox, org.organization_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": first.member_id,
            "intermediate_session_token": first.intermediate_session_token,
        }
        new = old
        while new == old:  # one chance in a million that a new code repeats the old one
            b2b.otps.sms.send(
                organization_id=org.organization_id,
                member_id=first.member_id,
                intermediate_session_token=first.intermediate_session_token,
            )
            new = latest_code(inbox, number)
        assert error_of(lambda: b2b.otps.sms.authenticate(**kwargs, code=old)).error_type == "otp_code_not_found"
        assert b2b.otps.sms.authenticate(**kwargs, code=new).session_token

    def test_a_code_expires_after_two_minutes_of_the_projects_clock(self, b2b, inbox, project):
        org = mfa_org(b2b, inbox)
        _, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        advance(project, "2m")
        expired = error_of(
            lambda: b2b.otps.sms.authenticate(
                organization_id=org.organization_id,
                member_id=first.member_id,
                code=code,
                intermediate_session_token=first.intermediate_session_token,
            )
        )
        assert expired.error_type == "otp_code_not_found"

    def test_a_code_is_only_its_members(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, alice, code = sent_to_new_number(b2b, inbox, org.organization_id)
        _, bob = member_login(b2b, inbox, org.organization_id)
        b2b.otps.sms.send(
            organization_id=org.organization_id,
            member_id=bob.member_id,
            mfa_phone_number=new_number(),
            intermediate_session_token=bob.intermediate_session_token,
        )
        stolen = error_of(
            lambda: b2b.otps.sms.authenticate(
                organization_id=org.organization_id,
                member_id=bob.member_id,
                code=code,
                intermediate_session_token=bob.intermediate_session_token,
            )
        )
        assert stolen.error_type == "otp_code_not_found"
        # Nor does Alice's code go with Bob's intermediate session.
        crossed = error_of(
            lambda: b2b.otps.sms.authenticate(
                organization_id=org.organization_id,
                member_id=alice.member_id,
                code=code,
                intermediate_session_token=bob.intermediate_session_token,
            )
        )
        assert crossed.error_type == "invalid_intermediate_session_token_for_organization"

    def test_another_project_cannot_use_or_see_the_code(self, b2b, inbox, other_project):
        org = mfa_org(b2b, inbox)
        _, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        other = stytch.B2BClient(
            other_project.project_id, other_project.secret, environment=other_project.server.base_url
        )
        refused = error_of(
            lambda: other.otps.sms.authenticate(
                organization_id=org.organization_id,
                member_id=first.member_id,
                code=code,
                intermediate_session_token=first.intermediate_session_token,
            )
        )
        assert refused.status_code == 404

    def test_a_code_dies_after_five_wrong_tries(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        number, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": first.member_id,
            "intermediate_session_token": first.intermediate_session_token,
        }
        statuses = [
            error_of(lambda: b2b.otps.sms.authenticate(**kwargs, code=wrong(code))).status_code for _ in range(5)
        ]
        assert statuses == [404] * 5
        assert error_of(lambda: b2b.otps.sms.authenticate(**kwargs, code=code)).status_code == 429
        # A new code is a new count.
        b2b.otps.sms.send(
            organization_id=org.organization_id,
            member_id=first.member_id,
            intermediate_session_token=first.intermediate_session_token,
        )
        assert b2b.otps.sms.authenticate(**kwargs, code=latest_code(inbox, number)).session_token

    def test_concurrent_authenticates_of_one_code_give_one_success(self, b2b, inbox, project):
        org = make_org(b2b, inbox)
        number = new_number()
        _, resp = member_login(b2b, inbox, org.organization_id)
        b2b.otps.sms.send(
            organization_id=org.organization_id,
            member_id=resp.member_id,
            mfa_phone_number=number,
            session_token=resp.session_token,
        )
        one = latest_code(inbox, number)

        def attempt(_: int) -> int:
            with requests.Session() as session:
                client = stytch.B2BClient(
                    project.project_id, project.secret, environment=project.server.base_url, sync_session=session
                )
                try:
                    client.otps.sms.authenticate(
                        organization_id=org.organization_id,
                        member_id=resp.member_id,
                        code=one,
                        session_token=resp.session_token,
                    )
                    return 200
                except StytchError as exc:
                    return exc.details.status_code

        with ThreadPoolExecutor(max_workers=10) as pool:
            results = list(pool.map(attempt, range(10)))
        assert results.count(200) == 1
        assert set(results) <= {200, 404, 429}


class TestAutomaticSms:
    def test_a_login_of_a_member_with_a_verified_phone_texts_the_code(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        number, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        b2b.otps.sms.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=code,
            intermediate_session_token=first.intermediate_session_token,
        )
        before = len(texts(inbox, number))
        email = first.member.email_address
        again = login(b2b, inbox, org.organization_id, email)
        assert again.member_authenticated is False
        assert again.mfa_required.secondary_auth_initiated == "sms_otp"
        assert again.mfa_required.member_options.mfa_phone_number == number
        assert len(texts(inbox, number)) == before + 1
        done = b2b.otps.sms.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=latest_code(inbox, number),
            intermediate_session_token=again.intermediate_session_token,
        )
        assert [f.type for f in done.member_session.authentication_factors] == ["magic_link", "otp"]

    def test_an_unverified_number_gets_no_text_at_login(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        number = new_number()
        _, first = member_login(b2b, inbox, org.organization_id, mfa_phone_number=number)
        assert first.member.mfa_phone_number == number and first.member.mfa_phone_number_verified is False
        assert first.mfa_required.secondary_auth_initiated is None
        assert texts(inbox, number) == []

    def test_discovery_texts_nothing(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        number, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        b2b.otps.sms.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=code,
            intermediate_session_token=first.intermediate_session_token,
        )
        before = len(texts(inbox, number))
        email = first.member.email_address
        b2b.magic_links.email.discovery.send(email_address=email)
        found = b2b.magic_links.discovery.authenticate(discovery_magic_links_token=inbox.latest_token(email))
        mine = [o for o in found.discovered_organizations if o.organization.organization_id == org.organization_id]
        assert mine[0].mfa_required.secondary_auth_initiated is None
        assert len(texts(inbox, number)) == before


class TestPhoneNumbers:
    def test_members_create_and_update_store_the_number_unverified(self, b2b, inbox):
        org = make_org(b2b, inbox)
        number = new_number()
        created = b2b.organizations.members.create(
            organization_id=org.organization_id, email_address=new_email(), mfa_phone_number=number
        ).member
        assert created.mfa_phone_number == number and created.mfa_phone_number_verified is False
        other = new_number()
        refused = error_of(
            lambda: b2b.organizations.members.update(
                organization_id=org.organization_id, member_id=created.member_id, mfa_phone_number=other
            )
        )
        assert refused.error_type == "member_phone_number_already_set"
        not_yet = error_of(
            lambda: b2b.organizations.members.update(
                organization_id=org.organization_id, member_id=created.member_id, default_mfa_method="sms_otp"
            )
        )
        assert not_yet.error_type == "default_mfa_member_missing_factor"
        plain = b2b.organizations.members.create(organization_id=org.organization_id, email_address=new_email())
        updated = b2b.organizations.members.update(
            organization_id=org.organization_id, member_id=plain.member_id, mfa_phone_number=other
        ).member
        assert updated.mfa_phone_number == other
        bad = error_of(
            lambda: b2b.organizations.members.update(
                organization_id=org.organization_id, member_id=plain.member_id, mfa_phone_number="12345"
            )
        )
        assert bad.error_type == "invalid_phone_number"

    def test_send_needs_a_number_and_an_allowed_country(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _, first = member_login(b2b, inbox, org.organization_id)
        kwargs = {
            "organization_id": org.organization_id,
            "member_id": first.member_id,
            "intermediate_session_token": first.intermediate_session_token,
        }
        assert error_of(lambda: b2b.otps.sms.send(**kwargs)).error_type == "member_phone_number_not_found"
        abroad = new_number("GB")
        refused = error_of(lambda: b2b.otps.sms.send(**kwargs, mfa_phone_number=abroad))
        assert refused.error_type == "invalid_phone_number_country_code"
        assert texts(inbox, abroad) == []
        got = b2b.organizations.members.get(organization_id=org.organization_id, member_id=first.member_id)
        assert got.member.mfa_phone_number == ""

    def test_a_member_with_a_second_factor_needs_a_session_to_be_texted(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        number, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        done = b2b.otps.sms.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=code,
            intermediate_session_token=first.intermediate_session_token,
        )
        bare = error_of(lambda: b2b.otps.sms.send(organization_id=org.organization_id, member_id=first.member_id))
        assert bare.error_type == "insufficient_factors"
        b2b.otps.sms.send(
            organization_id=org.organization_id, member_id=first.member_id, session_token=done.session_token
        )
        stepped = b2b.otps.sms.authenticate(
            organization_id=org.organization_id,
            member_id=first.member_id,
            code=latest_code(inbox, number),
            session_token=done.session_token,
        )
        assert stepped.member_session.member_session_id == done.member_session.member_session_id

    def test_delete_mfa_phone_number(self, b2b, inbox):
        org = mfa_org(b2b, inbox)
        _number, first, code = sent_to_new_number(b2b, inbox, org.organization_id)
        deleted = b2b.organizations.members.delete_mfa_phone_number(
            organization_id=org.organization_id, member_id=first.member_id
        )
        assert deleted.member.mfa_phone_number == "" and deleted.member.mfa_phone_number_verified is False
        gone = error_of(
            lambda: b2b.otps.sms.authenticate(
                organization_id=org.organization_id,
                member_id=first.member_id,
                code=code,
                intermediate_session_token=first.intermediate_session_token,
            )
        )
        assert gone.error_type == "otp_code_not_found"
        again = error_of(
            lambda: b2b.organizations.members.delete_mfa_phone_number(
                organization_id=org.organization_id, member_id=first.member_id
            )
        )
        assert again.error_type == "member_phone_number_not_found"

    def test_a_member_may_delete_its_own_number_not_anothers(self, b2b, inbox):
        org = make_org(b2b, inbox)
        email = new_email("carol")
        b2b.organizations.members.create(
            organization_id=org.organization_id, email_address=email, mfa_phone_number=new_number()
        )
        carol = login(b2b, inbox, org.organization_id, email)
        target = b2b.organizations.members.create(
            organization_id=org.organization_id, email_address=new_email(), mfa_phone_number=new_number()
        ).member
        refused = error_of(
            lambda: b2b.organizations.members.delete_mfa_phone_number(
                organization_id=org.organization_id,
                member_id=target.member_id,
                method_options=acting(DeleteMFAPhoneNumberRequestOptions, carol),
            )
        )
        assert (refused.status_code, refused.error_type) == (403, "unauthorized_action")
        own = b2b.organizations.members.delete_mfa_phone_number(
            organization_id=org.organization_id,
            member_id=carol.member_id,
            method_options=acting(DeleteMFAPhoneNumberRequestOptions, carol),
        )
        assert own.member.mfa_phone_number == ""
