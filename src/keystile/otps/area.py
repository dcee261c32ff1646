"""The B2B OTP area: passcodes texted to a Member's MFA phone number as a second factor."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.core.events import SecondFactorSmsDue
from keystile.otps import errors, factors, messages, routes, service

area = Area(
    name="otps",
    routers=[routes.router],
    errors=[errors.OtpCodeNotFound, errors.MemberPhoneNumberNotFound],
    messages=[messages.SMS_MFA],
    rate_limits=[service.CODE_FAILURES, service.MEMBER_FAILURES],
    factors=[factors.SMS],
    listeners={SecondFactorSmsDue: service.on_second_factor_sms_due},
)
