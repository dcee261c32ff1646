"""The emails magic links send (templates/email/<template>.txt and .html)."""

from __future__ import annotations

from keystile.core.area import Message

DISCOVERY = Message("discovery_magic_link", "Your login link")
LOGIN = Message("login_magic_link", "Your login link for {organization_name}")
SIGNUP = Message("signup_magic_link", "Finish signing up for {organization_name}")
INVITE = Message("invite_magic_link", "You have been invited to join {organization_name}")
CONSUMER = {
    "login": Message("consumer_login_magic_link", "Your login link"),
    "signup": Message("consumer_signup_magic_link", "Finish creating your account"),
    "invite": Message("consumer_invite_magic_link", "You have been invited"),
}
ALL = (DISCOVERY, LOGIN, SIGNUP, INVITE, *CONSUMER.values())
