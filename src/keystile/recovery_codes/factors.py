from keystile.core.area import Factor

RECOVERY_CODE = Factor("recovery_codes", "recovery_code")
