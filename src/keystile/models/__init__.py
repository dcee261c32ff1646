"""Tables, as SQLAlchemy Core: one module per aggregate, one MetaData for Alembic.

Every module of this package is imported here, so a new `models/<aggregate>.py` is in the
metadata (and seen by `alembic revision --autogenerate`) without being listed anywhere."""

import importlib
import pkgutil

from keystile.models.meta import metadata

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["metadata"]
