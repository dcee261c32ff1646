from keystile.core.area import Factor

SMS = Factor("otp", "sms")
EMAIL = Factor("otp", "email")
