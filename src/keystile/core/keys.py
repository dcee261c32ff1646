"""Per-project RS256 signing keys: made once, stored encrypted, parsed once per process.

Parsing a PEM costs tens of milliseconds and signing a fraction of one, so the keyring
keeps parsed keys in memory; the JWKS and the current key are read from the database so
that a key made by another process (the CLI, another worker) is seen at once.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509 import CertificateBuilder, Name, NameAttribute, random_serial_number
from cryptography.x509.oid import NameOID
from jwt.algorithms import RSAAlgorithm
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from keystile.core import ids
from keystile.models.projects import signing_keys


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class MasterKey:
    """AES-256-GCM over the private key PEM; the key comes from KEYSTILE_MASTER_KEY."""

    def __init__(self, secret: str) -> None:
        self._aead = AESGCM(hashlib.sha256(b"keystile-signing-keys\0" + secret.encode()).digest())

    def encrypt(self, plaintext: bytes) -> str:
        nonce = os.urandom(12)
        return "v1:" + _b64url(nonce + self._aead.encrypt(nonce, plaintext, None))

    def decrypt(self, stored: str) -> bytes:
        version, _, body = stored.partition(":")
        if version != "v1":
            raise ValueError("unknown signing key encoding")
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        return self._aead.decrypt(raw[:12], raw[12:], None)

    @classmethod
    def from_file(cls, path: Path) -> MasterKey:
        """The dev-mode master key: made on first start, kept beside the database."""
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(_b64url(os.urandom(32)))
        return cls(path.read_text().strip())


def _public_jwk(kid: str, key: rsa.RSAPrivateKey, now: datetime) -> dict[str, Any]:
    public = key.public_key()
    subject = Name([NameAttribute(NameOID.COMMON_NAME, kid)])
    cert = (
        CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(public)
        .serial_number(random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 10))
        .sign(key, hashes.SHA256())
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    numbers = public.public_numbers()
    return {
        "kty": "RSA",
        "use": "sig",
        "key_ops": ["verify"],
        "alg": "RS256",
        "kid": kid,
        "x5c": [base64.b64encode(der).decode()],
        "x5tS256": _b64url(hashlib.sha256(der).digest()),
        "n": _b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": _b64url(numbers.e.to_bytes((numbers.e.bit_length() + 7) // 8, "big")),
    }


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey


class Keyring:
    def __init__(self, master: MasterKey) -> None:
        self.master = master
        self._parsed: dict[str, SigningKey] = {}
        self._public: dict[str, Any] = {}

    async def create(self, conn: AsyncConnection, project_id: str, live: bool, now: datetime) -> str:
        """Make a new signing key for a project; it becomes the one that signs."""
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        kid = ids.jwk_id(live)
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        await conn.execute(
            insert(signing_keys).values(
                kid=kid,
                project_id=project_id,
                private_key=self.master.encrypt(pem),
                public_jwk=_public_jwk(kid, key, now),
                created_at=now,
            )
        )
        self._parsed[kid] = SigningKey(kid, key)
        return kid

    async def current(self, conn: AsyncConnection, project_id: str) -> SigningKey:
        """The newest unretired key of the project."""
        row = (
            await conn.execute(
                select(signing_keys.c.kid, signing_keys.c.private_key)
                .where(signing_keys.c.project_id == project_id, signing_keys.c.retired_at.is_(None))
                .order_by(signing_keys.c.created_at.desc())
                .limit(1)
            )
        ).first()
        if row is None:
            raise LookupError(f"project {project_id} has no signing key")
        cached = self._parsed.get(row.kid)
        if cached is None:
            key = serialization.load_pem_private_key(self.master.decrypt(row.private_key), password=None)
            assert isinstance(key, rsa.RSAPrivateKey)
            cached = self._parsed[row.kid] = SigningKey(row.kid, key)
        return cached

    async def jwks(self, conn: AsyncConnection, project_id: str) -> list[dict[str, Any]]:
        rows = await conn.execute(
            select(signing_keys.c.public_jwk)
            .where(signing_keys.c.project_id == project_id)
            .order_by(signing_keys.c.created_at.desc())
        )
        return [row.public_jwk for row in rows]

    async def public_key(self, conn: AsyncConnection, project_id: str, kid: str) -> Any | None:
        """The verification key for `kid`, if it belongs to the project."""
        cache_key = f"{project_id}/{kid}"
        if cache_key in self._public:
            return self._public[cache_key]
        row = (
            await conn.execute(
                select(signing_keys.c.public_jwk).where(
                    signing_keys.c.project_id == project_id, signing_keys.c.kid == kid
                )
            )
        ).first()
        if row is None:
            return None
        key = RSAAlgorithm.from_jwk(row.public_jwk)
        self._public[cache_key] = key
        return key
