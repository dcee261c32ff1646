"""Passcodes are stored as an HMAC under a key derived from the master key: a copy of the
database alone gives no way to try the million 6-digit values offline."""

from __future__ import annotations

import hashlib
import hmac

from keystile.core.keys import MasterKey
from keystile.core.passcodes import code_hash
from keystile.models.passcodes import passcodes
from keystile.otps import service as sms_otp
from keystile.otps import service_email as email_otp

MASTER = MasterKey("a-master-key-for-tests-of-32-chars!!")
OTHER = MasterKey("another-master-key-for-tests-32-chars")
CODE = "123456"


def test_a_stored_passcode_hash_is_not_a_plain_sha256() -> None:
    stored = code_hash(MASTER, "project-a", "phone-a", CODE)
    assert len(stored) == 64
    plain = {
        hashlib.sha256(CODE.encode()).hexdigest(),
        hashlib.sha256(f"project-a:phone-a:{CODE}".encode()).hexdigest(),
        hashlib.sha256(f"sms_otp:project-a:phone-a:{CODE}".encode()).hexdigest(),
        hashlib.sha256(f"passcode:project-a:phone-a\0{CODE}".encode()).hexdigest(),
    }
    assert stored not in plain


def test_a_passcode_hash_differs_under_another_master_key() -> None:
    assert code_hash(MASTER, "project-a", "phone-a", CODE) != code_hash(OTHER, "project-a", "phone-a", CODE)
    assert code_hash(MASTER, "project-a", "phone-a", CODE) == code_hash(MASTER, "project-a", "phone-a", CODE)


def test_a_passcode_hash_is_bound_to_its_project_and_method() -> None:
    stored = code_hash(MASTER, "project-a", "phone-a", CODE)
    assert stored != code_hash(MASTER, "project-b", "phone-a", CODE)
    assert stored != code_hash(MASTER, "project-a", "phone-b", CODE)
    assert stored == code_hash(MASTER, "project-a", "phone-a", f" {CODE} ")


def test_the_digest_key_is_not_the_encryption_key() -> None:
    # The AES key is SHA-256("keystile-signing-keys\0" + secret); an HMAC under it must not match.
    secret = "a-master-key-for-tests-of-32-chars!!"
    aes_key = hashlib.sha256(b"keystile-signing-keys\0" + secret.encode()).digest()
    under_aes = hmac.new(aes_key, b"purpose\0" + CODE.encode(), hashlib.sha256).hexdigest()
    assert MASTER.digest("purpose", CODE) != under_aes


def test_b2b_method_ids_fit_the_passcode_store() -> None:
    # PostgreSQL enforces the column's length; SQLite would not notice.
    width = passcodes.c.method_id.type.length
    member_id = "member-live-" + "f" * 36
    assert len(sms_otp.method_id(member_id)) <= width
    assert len(email_otp.method_id(email_otp.EMAIL, member_id)) <= width
    longest_address = "a" * 64 + "@" + "b" * 255
    assert len(email_otp.method_id(email_otp.DISCOVERY, longest_address)) <= width
