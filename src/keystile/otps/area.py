"""The B2B OTP area: passcodes texted to a Member's MFA phone number as a second factor, and
passcodes emailed to log in to an organization or to discover organizations. One code store
for all of them (models/otps.py)."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.core.events import SecondFactorSmsDue
from keystile.otps import errors, factors, messages, routes, routes_email, service, service_email

area = Area(
    name="otps",
    routers=[routes.router, routes_email.router],
    errors=[errors.OtpCodeNotFound, errors.MemberPhoneNumberNotFound],
    messages=[messages.SMS_MFA, messages.EMAIL_LOGIN, messages.EMAIL_SIGNUP, messages.EMAIL_DISCOVERY],
    rate_limits=[
        service.CODE_FAILURES,
        service.MEMBER_FAILURES,
        service_email.CODE_FAILURES,
        service_email.SUBJECT_FAILURES,
    ],
    factors=[factors.SMS, factors.EMAIL],
    listeners={SecondFactorSmsDue: service.on_second_factor_sms_due},
)
