"""The factor a password login puts into a session (both products)."""

from keystile.core.area import Factor

PASSWORD = Factor("password", "knowledge")
