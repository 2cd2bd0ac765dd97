"""Contact methods a person gives themselves, verified before use (pure; usecases/contacts.py, docs/notification-rules.md).

An email address or phone number a person adds or changes through POST /me/contact-methods is not used until they
prove it is theirs: a six-digit code goes to it, and only POST /me/contact-methods/verify with that code puts it in
the directory. Contacts an admin sets (config/firebell.yaml, the admin API) are vouched for by the admin.

A code lives 10 minutes and takes 5 wrong guesses; a person gets at most 5 codes an hour (an SMS costs money, and a
form that sends one is what SMS pumping abuses), and a new code no sooner than a minute after the last.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from .errors import FieldProblem, InvalidRequest, TooManyRequests

CODE_LIFETIME = timedelta(minutes=10)
GUESSES = 5
CODES_PER_HOUR = 5
RESEND_AFTER = timedelta(minutes=1)

Kind = Literal["email", "phone"]


class ContactMethod(BaseModel):
    model_config = ConfigDict(extra="forbid", defer_build=True)
    kind: Kind
    value: Annotated[str, Field(min_length=3, max_length=254)]

    @field_validator("value")
    @classmethod
    def _shape(cls, value: str, info) -> str:  # type: ignore[no-untyped-def]
        value = value.strip()
        kind = info.data.get("kind")
        if kind == "phone" and not re.fullmatch(r"\+[1-9][0-9]{6,14}", value):  # E.164, ASCII digits: what SNS takes
            raise ValueError("a phone number in E.164 form, e.g. +447700900123")
        if kind == "email" and (
            value.count("@") != 1
            or any(c.isspace() or ord(c) < 32 for c in value)
            or not value.split("@")[1]
            or "." not in value.split("@")[1]
        ):
            raise ValueError("an email address, e.g. name@example.com")
        return value


class Verification(BaseModel):
    """A code on its way to a contact method, as stored (the code itself only as a salted hash)."""

    model_config = ConfigDict(extra="ignore", defer_build=True)
    person: str
    kind: Kind
    value: str
    code_sha256: str
    salt: str
    expires_at: datetime
    guesses_left: int = GUESSES
    sent: list[datetime] = []  # when each code of the last hour went
    revision: int = 0  # as stored: a new code is stored only over the one it was decided from (no two at once)


def new_code() -> str:
    return f"{secrets.randbelow(1_000_000):06d}"


def _hashed(code: str, salt: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def issue(person: str, method: ContactMethod, code: str, now: datetime, earlier: Verification | None) -> Verification:
    """The verification to store for a new code; TooManyRequests while the person must wait."""
    sent = [at for at in (earlier.sent if earlier else []) if at > now - timedelta(hours=1)]
    if sent and now - max(sent) < RESEND_AFTER:
        raise TooManyRequests(
            f"a code went {int((now - max(sent)).total_seconds())} s ago: ask for another after a minute"
        )
    if len(sent) >= CODES_PER_HOUR:
        raise TooManyRequests(f"{CODES_PER_HOUR} codes in the last hour: try again later")
    salt = secrets.token_hex(8)
    return Verification(
        person=person,
        kind=method.kind,
        value=method.value,
        code_sha256=_hashed(code, salt),
        salt=salt,
        expires_at=now + CODE_LIFETIME,
        sent=[*sent, now],
        revision=(earlier.revision if earlier else 0) + 1,
    )


def check(verification: Verification | None, kind: Kind, code: str, now: datetime) -> Verification:
    """The verification `code` proves; InvalidRequest naming body.code otherwise (the caller records the guess)."""
    if (
        verification is None
        or verification.kind != kind
        or verification.expires_at <= now
        or verification.guesses_left <= 0
    ):
        raise _refused(
            f"no {kind} is waiting to be verified (codes last 10 minutes and take 5 guesses): ask for a new code"
        )
    if not hmac.compare_digest(verification.code_sha256, _hashed(code.strip(), verification.salt)):
        left = verification.guesses_left - 1
        if left == 0:
            raise _refused(
                f"not the code sent to {verification.value}, and that was the last guess: ask for a new code"
            )
        raise _refused(f"not the code sent to {verification.value} ({left} {'guess' if left == 1 else 'guesses'} left)")
    return verification


def _refused(problem: str) -> InvalidRequest:
    return InvalidRequest(f"body.code: {problem}", [FieldProblem("body.code", problem)])
