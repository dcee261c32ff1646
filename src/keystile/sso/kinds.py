"""The kinds of SSO connection keystile serves, registered once (sso/service.py `KINDS`).
A new kind is a module with a `KIND` and one line here."""

from __future__ import annotations

from keystile.sso import external, oidc, service

for _kind in (oidc.KIND, external.KIND):
    service.register(_kind)
