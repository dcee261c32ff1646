"""The factor an OAuth login puts into a session: type `oauth`, delivery `oauth_<provider>`,
with the provider's `<provider>_oauth_factor` ({id, provider_subject, email_id}) as Stytch's
SDKs name them (`git_lab_oauth_factor`, `linked_in_oauth_factor`, `tik_tok_oauth_factor`)."""

from __future__ import annotations

from keystile.core.area import Factor
from keystile.oauth.providers import PROVIDERS

FACTORS: dict[str, Factor] = {name: Factor("oauth", f"oauth_{name}") for name in PROVIDERS}
_FIELD_NAMES = {"gitlab": "git_lab", "linkedin": "linked_in", "tiktok": "tik_tok"}


def of(provider: str) -> Factor:
    return FACTORS[provider]


def detail_field(provider: str) -> str:
    return f"{_FIELD_NAMES.get(provider, provider)}_oauth_factor"
