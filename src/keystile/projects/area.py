"""The projects area: projects, their secrets and redirect URLs (managed by the CLI and
keystile.toml), and `project.metrics`."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.projects import routes

area = Area(name="projects", routers=[routes.router], id_prefixes=["project"])
