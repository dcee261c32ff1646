from keystile.core.area import Message

# A B2B Member's second-factor passcode, by SMS (templates/text/passcode.txt).
SMS_MFA = Message("passcode", "", channel="sms")
