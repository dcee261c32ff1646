"""Tables, as SQLAlchemy Core: one module per aggregate, one MetaData for Alembic."""

from keystile.models.meta import metadata
from keystile.models import projects, organizations, users, tokens, sessions, outbox  # noqa: F401

__all__ = ["metadata"]
