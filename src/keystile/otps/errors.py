"""The OTP area's own Stytch errors."""

from keystile.errors import define

OtpCodeNotFound = define(
    "OtpCodeNotFound", 404, "otp_code_not_found", "The passcode is incorrect, expired or already used."
)
MemberPhoneNumberNotFound = define(
    "MemberPhoneNumberNotFound",
    400,
    "member_phone_number_not_found",
    "The Member has no MFA phone number: pass mfa_phone_number.",
)


class NoLiveCode(OtpCodeNotFound):  # type: ignore[misc,valid-type]
    """A consumer method with no live code (never sent, spent, superseded, expired or dead after
    too many wrong tries), or no such method: what a guesser of method ids sees. The client
    sees the same error."""
