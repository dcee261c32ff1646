"""Request fields the B2B and consumer password endpoints share."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import RequestModel
from keystile.passwords import hashing


class MigrateFields(RequestModel):
    """What `passwords.migrate` takes on both sides besides the account it names: the
    hash as the previous provider made it (with the config object of its `hash_type`,
    hashing.CONFIG_FIELDS) and what to set on the account it creates or updates."""

    hash: str
    hash_type: str
    md_5_config: dict[str, Any] | None = None
    argon_2_config: dict[str, Any] | None = None
    sha_1_config: dict[str, Any] | None = None
    sha_512_config: dict[str, Any] | None = None
    scrypt_config: dict[str, Any] | None = None
    pbkdf_2_config: dict[str, Any] | None = None
    trusted_metadata: dict[str, Any] | None = None
    untrusted_metadata: dict[str, Any] | None = None
    roles: list[str] | None = None
    set_phone_number_verified: bool | None = None
    external_id: str | None = None

    def hash_config(self) -> dict[str, Any] | None:
        """The config object sent for this `hash_type` (None for types that take none)."""
        field = hashing.CONFIG_FIELDS.get(self.hash_type)
        config: dict[str, Any] | None = getattr(self, field) if field else None
        return config
