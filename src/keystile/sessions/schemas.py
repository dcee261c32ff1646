"""Request bodies the sessions area defines for the areas whose logins end in it
(sessions/logins.py)."""

from __future__ import annotations

from typing import Any

from keystile.core.schemas import JwtStr, RequestModel


class SecondFactorAuthenticateRequest(RequestModel):
    """The body of a B2B second factor's authenticate (`totps.authenticate`,
    `otps.sms.authenticate`): the Member, its code, and the intermediate session it completes
    or the session it steps up (`logins.complete_secondary`)."""

    organization_id: str
    member_id: str
    code: str
    intermediate_session_token: str | None = None
    session_token: str | None = None
    session_jwt: JwtStr | None = None
    session_duration_minutes: int | None = None
    session_custom_claims: dict[str, Any] | None = None
    set_mfa_enrollment: str | None = None
    set_default_mfa: bool | None = None
    telemetry_id: str | None = None
