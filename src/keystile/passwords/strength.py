"""Password strength (stytch.com/docs/guides/passwords/strength-policy): zxcvbn, whose score
(0–4) must be 3 or more, or LUDS (a minimum length and a number of character classes), as the
project's policy says (core/password_policy.py), plus breach detection (breach.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zxcvbn import zxcvbn

from keystile.core.password_policy import PasswordPolicy

MIN_ZXCVBN_SCORE = 3  # Stytch's default
ZXCVBN_MAX_LENGTH = 72  # zxcvbn's own limit; what follows adds nothing to a score of 4 anyway
BREACHED_WARNING = "This password has appeared in a data breach; it is not safe to use."
BREACHED_SUGGESTION = "Choose a password you have not used anywhere else."


@dataclass(frozen=True)
class LUDS:
    has_lower_case: bool
    has_upper_case: bool
    has_digit: bool
    has_symbol: bool
    missing_complexity: int
    missing_characters: int

    def json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Verdict:
    """What strength_check answers about one password."""

    valid: bool
    score: int
    breached: bool
    policy: str
    breach_detection_on_create: bool
    warning: str = ""
    suggestions: list[str] = field(default_factory=list)
    luds: LUDS | None = None

    def feedback_json(self) -> dict[str, Any]:
        """The consumer `feedback` object (PY `consumer/models/passwords.py` Feedback)."""
        return {
            "warning": self.warning,
            "suggestions": list(self.suggestions),
            "luds_requirements": self.luds.json() if self.luds else None,
        }

    def consumer_json(self) -> dict[str, Any]:
        """The fields of the consumer StrengthCheckResponse."""
        return {
            "valid_password": self.valid,
            "score": self.score,
            "breached_password": self.breached,
            "strength_policy": self.policy,
            "breach_detection_on_create": self.breach_detection_on_create,
            "feedback": self.feedback_json(),
        }


def luds(password: str, policy: PasswordPolicy) -> LUDS:
    """Which character classes `password` has; a symbol is any character that is not an ASCII
    letter or a digit (Stytch: "any UTF8 character outside of a-z or A-Z")."""
    lower = any("a" <= c <= "z" for c in password)
    upper = any("A" <= c <= "Z" for c in password)
    digit = any(c.isdigit() for c in password)
    symbol = any(not ("a" <= c <= "z" or "A" <= c <= "Z" or c.isdigit()) for c in password)
    classes = sum((lower, upper, digit, symbol))
    return LUDS(
        has_lower_case=lower,
        has_upper_case=upper,
        has_digit=digit,
        has_symbol=symbol,
        missing_complexity=max(0, policy.luds_complexity - classes),
        missing_characters=max(0, policy.luds_min_length - len(password)),
    )


def user_inputs(email: str | None) -> list[str]:
    """Words of the account's email that make a password weak when it contains them."""
    if not email:
        return []
    local, _, domain = email.lower().partition("@")
    return [w for w in (local, *local.replace("+", ".").split("."), *domain.split(".")) if len(w) > 2]


def check(password: str, policy: PasswordPolicy, *, breached: bool, email: str | None = None) -> Verdict:
    """The verdict on `password` under `policy`, `breached` from breach.py (ignored, and
    answered false, when the policy does not detect breaches). Blocking (zxcvbn takes a few
    milliseconds): call through hashing.run."""
    breached = breached and policy.breach_detection_on_create
    estimate = zxcvbn(password[:ZXCVBN_MAX_LENGTH], user_inputs=user_inputs(email), max_length=ZXCVBN_MAX_LENGTH)
    score = int(estimate["score"])
    if policy.strength_policy == "luds":
        found = luds(password, policy)
        strong = found.missing_complexity == 0 and found.missing_characters == 0
        warning, suggestions = "", []
    else:
        found = None
        strong = score >= MIN_ZXCVBN_SCORE
        warning = estimate["feedback"]["warning"] if not strong else ""
        suggestions = list(estimate["feedback"]["suggestions"]) if not strong else []
    if breached:
        warning = BREACHED_WARNING
        suggestions = [BREACHED_SUGGESTION, *suggestions]
    return Verdict(
        valid=strong and not breached,
        score=score,
        breached=breached,
        policy=policy.strength_policy,
        breach_detection_on_create=policy.breach_detection_on_create,
        warning=warning,
        suggestions=suggestions,
        luds=found,
    )
