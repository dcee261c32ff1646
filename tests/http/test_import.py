"""`keystile import` against a running keystile's database, run in this process as the
other CLI tests do, then read back through the official SDK as an app would."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Any

import pytest
from stytch.core.response_base import StytchError

from tests.flows import error_type, new_email, new_slug
from tests.legacy_hashes import HASH_TYPES, made_hash
from tests.support import ProjectInfo, keystile_in_process


def run_import(project: ProjectInfo, path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    """`keystile import PATH --project P --json …` on the project's server database:
    (exit code, the JSON outcome, stderr)."""
    server = project.server
    settings = {
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
        "KEYSTILE_DATABASE_URL": server.settings.database_url or "",
    }
    done = keystile_in_process(settings, "import", str(path), "--project", project.project_id, "--json", *args)
    assert done.stdout, f"keystile import printed no outcome: {done.stderr}"
    return done.returncode, json.loads(done.stdout), done.stderr


def write_lines(path: Path, lines: list[Any]) -> Path:
    """One JSON object per line; a str is written as it is (a broken line)."""
    path.write_text("".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines))
    return path


def test_users_organizations_and_members_arrive_as_the_api_shows_them(project, consumer, b2b, tmp_path):
    ada, bob, carol = new_email("ada"), new_email("bob"), new_email("carol", "acme-corp.test")
    slug = new_slug()
    path = write_lines(
        tmp_path / "people.jsonl",
        [
            {
                "email": ada,
                "email_verified": True,
                "name": {"first_name": "Ada", "last_name": "Lovelace"},
                "external_id": "legacy-ada",
                "trusted_metadata": {"plan": "pro"},
                "untrusted_metadata": {"theme": "dark"},
            },
            {"type": "user", "email": bob},
            {
                "organization_name": "Acme Corp",
                "organization_slug": slug,
                "organization_external_id": f"org-{slug}",
                "email_allowed_domains": ["acme-corp.test"],
            },
            {
                "organization_id": f"org-{slug}",
                "email_address": carol,
                "email_verified": True,
                "name": "Carol",
                "external_id": "legacy-carol",
                "roles": ["stytch_admin"],
                "trusted_metadata": {"team": "ops"},
            },
        ],
    )
    code, outcome, _ = run_import(project, path)
    assert code == 0
    assert outcome["created"] == {"user": 2, "organization": 1, "member": 1}
    assert outcome["skipped"] == 0 and outcome["refused"] == 0

    user = consumer.users.get(user_id="legacy-ada")  # by its external id, as the API allows
    assert [(e.email, e.verified) for e in user.emails] == [(ada, True)]
    assert (user.name.first_name, user.name.last_name) == ("Ada", "Lovelace")
    assert user.trusted_metadata == {"plan": "pro"} and user.untrusted_metadata == {"theme": "dark"}
    assert user.status == "active"
    found = consumer.users.search(
        query={"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [bob]}]}
    )
    assert [u.emails[0].verified for u in found.results] == [False]

    organization = b2b.organizations.get(organization_id=slug).organization
    assert organization.organization_name == "Acme Corp"
    assert organization.organization_external_id == f"org-{slug}"
    assert organization.email_allowed_domains == ["acme-corp.test"]
    member = b2b.organizations.members.get(organization_id=organization.organization_id, email_address=carol).member
    assert (member.name, member.external_id, member.status) == ("Carol", "legacy-carol", "active")
    assert member.email_address_verified is True
    assert member.trusted_metadata == {"team": "ops"}
    assert {r.role_id for r in member.roles} >= {"stytch_admin", "stytch_member"}


def test_each_refused_line_is_reported_with_its_number_and_why(project, consumer, tmp_path):
    good, kept = new_email("good"), new_email("kept")
    path = write_lines(
        tmp_path / "mixed.jsonl",
        [
            {"email": good},
            {"email": "not-an-address"},
            "{not json",
            {"email": new_email("typo"), "emial_verified": True},
            {"email": good},
            {"organization_id": "no-such-org", "email_address": new_email()},
            {"organization_name": "Nameless, unfindable"},
            {"email": new_email("hash"), "password": {"hash_type": "scrypt", "hash": "c2VjcmV0"}},
            {"email": new_email("hash"), "password": {"hash_type": "rot13", "hash": "frperg"}},
            {"email": kept, "trusted_metadata": {f"k{i}": i for i in range(21)}},
            "",
            {"email": kept},
        ],
    )
    code, outcome, stderr = run_import(project, path)
    assert code == 1
    assert outcome["created"]["user"] == 2 and outcome["refused"] == 9
    reasons = {item["line"]: item["reason"] for item in outcome["refused_lines"]}
    assert sorted(reasons) == [2, 3, 4, 5, 6, 7, 8, 9, 10]
    assert "invalid_email" in reasons[2]
    assert "not valid JSON" in reasons[3]
    assert "unknown field emial_verified" in reasons[4]
    assert "repeats" in reasons[5] and "line 1" in reasons[5]
    assert "no-such-org" in reasons[6]
    assert "organization_external_id or organization_slug" in reasons[7]
    assert "scrypt_config" in reasons[8]
    assert "hash_type" in reasons[9]
    assert "trusted_metadata" in reasons[10]
    for number in reasons:
        assert f"line {number}:" in stderr
    # The refused line 10 left nothing behind: line 12, the same address, was created.
    found = consumer.users.search(
        query={"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [kept]}]}
    )
    assert found.results_metadata.total == 1 and found.results[0].trusted_metadata == {}


def _people(count: int, slug: str) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = [{"organization_name": "Resumed", "organization_slug": slug}]
    for i in range(count):
        lines.append({"email": new_email(f"u{i}"), "external_id": f"{slug}-u{i}"})
        lines.append({"organization_id": slug, "email_address": new_email(f"m{i}", "resumed.test")})
    return lines


def test_a_second_run_changes_nothing(project, consumer, b2b, tmp_path):
    slug = new_slug()
    path = write_lines(tmp_path / "people.jsonl", _people(5, slug))
    code, first, _ = run_import(project, path, "--batch-size", "3")
    assert code == 0 and first["created"] == {"user": 5, "organization": 1, "member": 5}
    code, second, _ = run_import(project, path, "--batch-size", "3")
    assert code == 0
    assert second["created"] == {"user": 0, "organization": 0, "member": 0}
    assert second["skipped"] == 11 and second["refused"] == 0
    assert consumer.users.search().results_metadata.total == 5
    organizations = b2b.organizations.search().organizations
    assert len(organizations) == 1
    assert b2b.organizations.metrics(organization_id=organizations[0].organization_id).member_count == 5


def test_an_interrupted_import_resumes_by_running_it_again(project, consumer, b2b, tmp_path):
    """A run that stopped after some batches (here: the file cut after its seventh line, as
    a crash leaves what was committed) is finished by running the whole file again."""
    slug = new_slug()
    lines = _people(6, slug)
    cut = write_lines(tmp_path / "cut.jsonl", lines[:7])
    whole = write_lines(tmp_path / "whole.jsonl", lines)
    code, first, _ = run_import(project, cut, "--batch-size", "2")
    assert code == 0 and first["committed_through_line"] == 7
    code, rest, _ = run_import(project, whole, "--batch-size", "2")
    assert code == 0
    assert rest["skipped"] == 7
    assert rest["created"] == {"user": 3, "organization": 0, "member": 3}
    assert consumer.users.search().results_metadata.total == 6
    # --start-line begins later without touching the lines before it.
    code, late, _ = run_import(project, whole, "--start-line", "12")
    assert code == 0 and late["lines"] == 2 and late["skipped"] == 2


def test_a_dry_run_keeps_nothing(project, consumer, tmp_path):
    path = write_lines(tmp_path / "dry.jsonl", [{"email": new_email()}, {"email": "broken"}])
    code, outcome, stderr = run_import(project, path, "--dry-run")
    assert code == 1 and outcome["dry_run"] is True
    assert outcome["created"]["user"] == 1 and outcome["refused"] == 1
    assert "Dry run" in stderr
    assert consumer.users.search().results_metadata.total == 0


def test_rejects_file_holds_the_refused_lines_to_fix(project, tmp_path):
    path = write_lines(tmp_path / "in.jsonl", [{"email": new_email()}, {"email": "broken"}])
    rejects = tmp_path / "rejects.jsonl"
    code, _, _ = run_import(project, path, "--rejects", str(rejects))
    assert code == 1
    [entry] = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert entry["line"] == 2 and json.loads(entry["text"]) == {"email": "broken"}
    assert "invalid_email" in entry["reason"]


def test_an_import_stays_in_its_project(project, other_project, tmp_path):
    email = new_email()
    path = write_lines(tmp_path / "one.jsonl", [{"email": email, "external_id": "same-everywhere"}])
    assert run_import(project, path)[1]["created"]["user"] == 1
    assert run_import(other_project, path)[1]["created"]["user"] == 1  # not "already there"


@pytest.mark.parametrize("args", [("--project", "project-test-nope")])
def test_an_unknown_project_is_refused_before_reading(server, tmp_path, args):
    path = write_lines(tmp_path / "x.jsonl", [{"email": new_email()}])
    settings = {
        "KEYSTILE_DATA_DIR": str(server.settings.data_dir),
        "KEYSTILE_DATABASE_URL": server.settings.database_url,
    }
    done = keystile_in_process(settings, "import", str(path), *args)
    assert done.returncode == 2 and "No project project-test-nope" in done.stderr


# --- Password hashes, made as the previous provider made them (tests/legacy_hashes.py) ---------


def test_every_hash_type_imported_logs_in_and_is_then_rehashed(project, consumer, tmp_path):
    people = {
        t: (new_email(t.replace("_", "")), f"{t} correct-Horse-battery-{secrets.token_hex(2)}") for t in HASH_TYPES
    }
    path = write_lines(
        tmp_path / "hashes.jsonl",
        [
            {"email": email, "email_verified": True, "external_id": f"legacy-{t}", "password": made_hash(t, password)}
            for t, (email, password) in people.items()
        ],
    )
    code, outcome, _ = run_import(project, path)
    assert code == 0 and outcome["created"]["user"] == len(HASH_TYPES), outcome
    for hash_type, (email, password) in people.items():
        user = consumer.users.get(user_id=f"legacy-{hash_type}")
        assert user.password is not None and user.password.password_id, hash_type
        with pytest.raises(StytchError) as wrong:
            consumer.passwords.authenticate(email=email, password=password + "!")
        assert error_type(wrong) == "unauthorized_credentials", hash_type
        first = consumer.passwords.authenticate(email=email, password=password, session_duration_minutes=30)
        assert first.user_id == user.user_id, hash_type
        # Re-hashed with argon2id at that login: the same password still opens it.
        again = consumer.passwords.authenticate(email=email, password=password)
        assert again.user_id == user.user_id, hash_type
    # A second run changes nothing: not the rehashed passwords either.
    code, second, _ = run_import(project, path)
    assert code == 0 and second["skipped"] == len(HASH_TYPES) and second["created"]["user"] == 0
    email, password = people["md_5"]
    assert consumer.passwords.authenticate(email=email, password=password).user_id


def test_members_of_every_hash_type_log_in_to_their_organization(project, b2b, tmp_path):
    slug = new_slug()
    people = {
        t: (new_email(t.replace("_", ""), "hashes.test"), f"{t} Lantern-meadow-{secrets.token_hex(2)}")
        for t in HASH_TYPES
    }
    lines: list[Any] = [{"organization_name": "Hashes", "organization_slug": slug}]
    lines += [
        {"organization_id": slug, "email_address": email, "external_id": f"m-{t}", "password": made_hash(t, password)}
        for t, (email, password) in people.items()
    ]
    code, outcome, _ = run_import(project, write_lines(tmp_path / "members.jsonl", lines))
    assert code == 0 and outcome["created"] == {"user": 0, "organization": 1, "member": len(HASH_TYPES)}, outcome
    organization_id = b2b.organizations.get(organization_id=slug).organization.organization_id
    for hash_type, (email, password) in people.items():
        member = b2b.organizations.members.get(organization_id=organization_id, member_id=f"m-{hash_type}").member
        assert member.member_password_id, hash_type
        assert member.email_address_verified is True  # as B2B passwords.migrate marks it
        with pytest.raises(StytchError) as wrong:
            b2b.passwords.authenticate(organization_id=organization_id, email_address=email, password=password + "!")
        assert error_type(wrong) == "unauthorized_credentials", hash_type
        first = b2b.passwords.authenticate(organization_id=organization_id, email_address=email, password=password)
        assert first.member_id == member.member_id and first.member_authenticated, hash_type
        # Re-hashed with argon2id at that login: the same password still opens it.
        again = b2b.passwords.authenticate(organization_id=organization_id, email_address=email, password=password)
        assert again.member_id == member.member_id, hash_type
    code, second, _ = run_import(project, write_lines(tmp_path / "members.jsonl", lines))
    assert code == 0 and second["skipped"] == len(lines) and sum(second["created"].values()) == 0


def test_a_hash_that_cannot_be_of_its_type_is_refused_and_leaves_no_user(project, consumer, tmp_path):
    lost = new_email("lost")
    path = write_lines(
        tmp_path / "bad.jsonl",
        [
            {"email": lost, "password": {"hash_type": "bcrypt", "hash": "not-a-bcrypt-hash"}},
            {"email": new_email(), "password": {"hash_type": "md_5", "hash": "abc", "sha_1_config": {}}},
            {"email": new_email(), "password": made_hash("phpass", "fine")},
        ],
    )
    code, outcome, _ = run_import(project, path)
    assert code == 1 and outcome["created"]["user"] == 1
    reasons = {item["line"]: item["reason"] for item in outcome["refused_lines"]}
    assert "invalid_hash" in reasons[1]
    assert "sha_1_config does not go with hash_type md_5" in reasons[2]
    found = consumer.users.search(
        query={"operator": "AND", "operands": [{"filter_name": "email_address", "filter_value": [lost]}]}
    )
    assert found.results_metadata.total == 0


def test_the_documented_example_of_each_hash_type_logs_in(project, consumer, tmp_path):
    """docs/migrating.md's example lines, as written there: each is `correct horse`."""
    doc = (Path(__file__).parents[2] / "docs" / "migrating.md").read_text()
    block = doc.split("### Password hashes", 1)[1].split("```json\n", 1)[1].split("```", 1)[0]
    lines = [json.loads(line) for line in block.splitlines() if line.strip()]
    assert sorted(line["password"]["hash_type"] for line in lines) == sorted(HASH_TYPES)
    code, outcome, _ = run_import(project, write_lines(tmp_path / "doc.jsonl", lines))
    assert code == 0 and outcome["created"]["user"] == len(HASH_TYPES), outcome
    for line in lines:
        assert consumer.passwords.authenticate(email=line["email"], password="correct horse").user_id


def test_phone_numbers_arrive_with_their_verified_state_and_once(project, consumer, tmp_path):
    taken = consumer.users.create(phone_number="+14155550101")
    ada, bob = new_email("ada"), new_email("bob")
    path = write_lines(
        tmp_path / "phones.jsonl",
        [
            {"email": ada, "phone_number": "+1 415 555 0102", "phone_number_verified": True, "external_id": "p-ada"},
            {"email": bob, "phone_number": "+14155550102"},
            {"email": new_email(), "phone_number": "+14155550101"},
        ],
    )
    code, outcome, _ = run_import(project, path)
    assert code == 1 and outcome["created"]["user"] == 1
    reasons = {item["line"]: item["reason"] for item in outcome["refused_lines"]}
    assert "repeats +14155550102 of line 1" in reasons[2]
    assert reasons[3].startswith("duplicate_phone_number")
    user = consumer.users.get(user_id="p-ada")
    assert [(p.phone_number, p.verified) for p in user.phone_numbers] == [("+14155550102", True)]
    assert consumer.users.get(user_id=taken.user_id).phone_numbers[0].phone_number == "+14155550101"
