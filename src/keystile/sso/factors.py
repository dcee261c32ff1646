"""The session factors of SSO logins: type `sso`, delivered by `sso_oidc` or `sso_saml`, with
an `oidc_sso_factor` / `saml_sso_factor` {id: the registration, provider_id: the connection,
external_id: the IdP's id of the Member}."""

from __future__ import annotations

from keystile.core.area import Factor

SSO_OIDC = Factor("sso", "sso_oidc")
SSO_SAML = Factor("sso", "sso_saml")
ALL = (SSO_OIDC, SSO_SAML)


def sso(delivery_method: str) -> Factor:
    return SSO_SAML if delivery_method == "sso_saml" else SSO_OIDC
