from keystile.core.area import Message

# A B2B Member's second-factor passcode, by SMS (templates/text/passcode.txt).
SMS_MFA = Message("passcode", "", channel="sms")

# B2B email passcodes (templates/email/<template>.txt and .html): an organization login or
# signup, and discovery.
EMAIL_LOGIN = Message("otp_login", "Your login code for {organization_name}")
EMAIL_SIGNUP = Message("otp_signup", "Your code to finish signing up for {organization_name}")
EMAIL_DISCOVERY = Message("otp_discovery", "Your login code")
