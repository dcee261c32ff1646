from keystile.core.area import Factor

TOTP = Factor("totp", "authenticator_app")
