"""Every API router keystile serves, in one list (app.py includes them), and the hot routes
it serves ahead of them."""

from keystile.discovery.routes import router as discovery
from keystile.magic_links.routes_b2b import router as magic_links_b2b
from keystile.magic_links.routes_consumer import router as magic_links_consumer
from keystile.members.routes import router as members
from keystile.organizations.routes import router as organizations
from keystile.rbac.routes import router as rbac
from keystile.sessions import routes_b2b as sessions_b2b_routes
from keystile.sessions import routes_consumer as sessions_consumer_routes
from keystile.sessions.routes_jwks import router as jwks
from keystile.users.routes import router as users

sessions_b2b = sessions_b2b_routes.router
sessions_consumer = sessions_consumer_routes.router

# Matched first, straight from the app's own route table: sessions.authenticate runs on
# every request of every app using keystile (core/thin.py).
HOT_ROUTES = [*sessions_b2b_routes.hot_routes, *sessions_consumer_routes.hot_routes]

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
