"""Errors of sessions.migrate that Stytch's catalogue has no type for (docs/differences-from-stytch.md)."""

from __future__ import annotations

from keystile.errors import define

SessionMigrationNotConfigured = define(
    "SessionMigrationNotConfigured",
    400,
    "session_migration_not_configured",
    "This project has no session migration userinfo URL: set session_migration_url in keystile.toml "
    "or with `keystile projects session-migration`.",
)
SessionMigrationUserinfoFailed = define(
    "SessionMigrationUserinfoFailed",
    502,
    "session_migration_userinfo_failed",
    "The session migration userinfo endpoint could not be reached or did not answer with a JSON object.",
)
