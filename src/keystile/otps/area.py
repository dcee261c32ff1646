"""The OTP area: B2B passcodes texted to a Member's MFA phone number as a second factor, and
emailed to log in to an organization or to discover organizations (one store for them,
models/otps.py); consumer one-time passcodes by SMS, WhatsApp and email (core/passcodes.py)."""

from __future__ import annotations

from keystile.core.area import Area
from keystile.core.events import SecondFactorSmsDue
from keystile.otps import (
    errors,
    factors,
    messages,
    routes,
    routes_consumer,
    routes_email,
    sandbox,
    service,
    service_consumer,
    service_email,
)

area = Area(
    name="otps",
    routers=[routes.router, routes_email.router, routes_consumer.router],
    errors=[errors.OtpCodeNotFound, errors.MemberPhoneNumberNotFound, errors.NoLiveCode],
    messages=[messages.SMS_MFA, messages.EMAIL_LOGIN, messages.EMAIL_SIGNUP, messages.EMAIL_DISCOVERY, messages.EMAIL],
    unknown_token_errors=[errors.NoLiveCode],
    rate_limits=[
        service.CODE_FAILURES,
        service.MEMBER_FAILURES,
        service_email.CODE_FAILURES,
        service_email.SUBJECT_FAILURES,
        service_consumer.FAILURES,
    ],
    factors=[factors.SMS, factors.WHATSAPP, factors.EMAIL],
    listeners={SecondFactorSmsDue: service.on_second_factor_sms_due},
    sandbox_values=sandbox.VALUES,
)
