"""The projects area: projects, their secrets and redirect URLs (managed by the CLI and keystile.toml)."""

from __future__ import annotations

from keystile.core.area import Area

area = Area(name="projects", id_prefixes=["project"])
