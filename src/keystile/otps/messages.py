from keystile.core.area import Message

# A passcode by SMS (templates/text/passcode.txt): a B2B Member's second factor, a consumer
# User's login code.
SMS_MFA = Message("passcode", "", channel="sms")
SMS = SMS_MFA
# The same text by WhatsApp (a message is declared once per template: SMS_MFA declares it).
WHATSAPP = Message("passcode", "", channel="whatsapp")

# B2B email passcodes (templates/email/<template>.txt and .html): an organization login or
# signup, and discovery.
EMAIL_LOGIN = Message("otp_login", "Your login code for {organization_name}")
EMAIL_SIGNUP = Message("otp_signup", "Your code to finish signing up for {organization_name}")
EMAIL_DISCOVERY = Message("otp_discovery", "Your login code")
# A consumer User's email passcode.
EMAIL = Message("consumer_otp", "Your {project_name} verification code")
