from keystile.core.area import Factor

SMS = Factor("otp", "sms")
WHATSAPP = Factor("otp", "whatsapp")
EMAIL = Factor("otp", "email")
