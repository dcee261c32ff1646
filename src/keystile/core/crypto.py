"""Secrets: made random, shown once, stored as SHA-256, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets


def new_token() -> str:
    """A 44-character URL-safe token (33 random bytes), like Stytch's."""
    return secrets.token_urlsafe(33)


def hash_token(token: str) -> str:
    """Tokens carry 264 bits of entropy, so a plain SHA-256 is enough to store them."""
    return hashlib.sha256(token.encode()).hexdigest()


def matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)


def pkce_challenge(verifier: str) -> str:
    """S256: BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def matches_plain(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
