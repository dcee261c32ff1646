"""The emails the members area sends (templates/email/<template>.txt and .html)."""

from __future__ import annotations

from keystile.core.area import Message

EMAIL_UPDATE = Message("email_update_magic_link", "Confirm your new email address for {organization_name}")
ALL = (EMAIL_UPDATE,)
