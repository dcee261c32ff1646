"""The emails B2B password resets send (templates/email/<template>.txt and .html)."""

from __future__ import annotations

from keystile.core.area import Message

RESET = Message("b2b_reset_password", "Reset your password for {organization_name}")
DISCOVERY_RESET = Message("b2b_discovery_reset_password", "Reset your password")
ALL = (RESET, DISCOVERY_RESET)
