"""Every area keystile is made of, in one list: the only list to edit when an area is added
(docs/adding-an-area.md). Each area's `area.py` declares what it adds (core/area.py `Area`);
`registry()` merges them, checks that no two claim the same thing, and `create_app` serves them.

Routers are included in this order, so an area whose paths could shadow another's comes first.
"""

from __future__ import annotations

from functools import cache

from keystile.clock.area import area as clock
from keystile.core.area import Area, Registry
from keystile.debug.area import area as debug
from keystile.discovery.area import area as discovery
from keystile.impersonation.area import area as impersonation
from keystile.magic_links.area import area as magic_links
from keystile.members.area import area as members
from keystile.oauth.area import area as oauth
from keystile.organizations.area import area as organizations
from keystile.otps.area import area as otps
from keystile.passwords.area import area as passwords
from keystile.projects.area import area as projects
from keystile.rbac.area import area as rbac
from keystile.recovery_codes.area import area as recovery_codes
from keystile.scim.area import area as scim
from keystile.session_migration.area import area as session_migration
from keystile.sessions.area import area as sessions
from keystile.sso.area import area as sso
from keystile.totps.area import area as totps
from keystile.users.area import area as users

AREAS: tuple[Area, ...] = (
    sessions,
    magic_links,
    discovery,
    organizations,
    members,
    rbac,
    users,
    projects,
    debug,
    impersonation,
    clock,
    totps,
    recovery_codes,
    otps,
    passwords,
    sso,
    session_migration,
    oauth,
    scim,
)


@cache
def registry() -> Registry:
    return Registry(AREAS)
