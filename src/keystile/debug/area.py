"""The debug area: `debug.whoami`, which project the caller's credentials belong to
(PY `consumer/api/debug.py`)."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.debug import routes

area = Area(name="debug", routers=[routes.router])
