"""The kinds of SSO connection keystile serves, registered once (sso/service.py `KINDS`).
A new kind is a module with a `KIND` and one line here."""

from __future__ import annotations

from keystile.sso import external, oidc, service
from keystile.sso.saml import service as saml

for _kind in (oidc.KIND, saml.KIND, external.KIND):
    service.register(_kind)
