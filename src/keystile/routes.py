"""Every API router keystile serves, in one list (app.py includes them)."""

from keystile.discovery.routes import router as discovery
from keystile.magic_links.routes_b2b import router as magic_links_b2b
from keystile.magic_links.routes_consumer import router as magic_links_consumer
from keystile.members.routes import router as members
from keystile.organizations.routes import router as organizations
from keystile.rbac.routes import router as rbac
from keystile.sessions.routes_b2b import router as sessions_b2b
from keystile.sessions.routes_consumer import router as sessions_consumer
from keystile.sessions.routes_jwks import router as jwks
from keystile.users.routes import router as users

ROUTERS = [
    jwks,
    sessions_b2b,
    sessions_consumer,
    magic_links_b2b,
    magic_links_consumer,
    discovery,
    organizations,
    members,
    rbac,
    users,
]
