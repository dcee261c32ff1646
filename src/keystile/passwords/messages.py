"""The emails passwords send (templates/email/<template>.txt and .html)."""

from __future__ import annotations

from keystile.core.area import Message

CONSUMER_RESET = Message("consumer_password_reset", "Reset your password")
ALL = (CONSUMER_RESET,)
