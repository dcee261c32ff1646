"""Tables, as SQLAlchemy Core: one module per aggregate, one MetaData for Alembic."""

from keystile.models import organizations, outbox, projects, sessions, tokens, users  # noqa: F401
from keystile.models.meta import metadata

__all__ = ["metadata"]
