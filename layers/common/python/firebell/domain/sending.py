"""How firebell sends, apart from who it pages: the sender address and the SMS digest (`notifications:`), the ops
contacts its self-monitoring reaches directly (`ops:`), and the address shapes both take. Pure models."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .enums import Priority
from .repeats import refuse_repeats

E164 = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")]  # as SNS SMS needs
EmailAddress = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]


class _Strict(BaseModel):
    # defer_build: a model's validator is built on its first use (cold start), as in domain/directory.py.
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class SmsDigest(_Strict):
    """Past `after` SMS pages to one person within `per_minutes`, the window's further SMS pages go out as one
    digest when it ends (domain/sms_digest.py)."""

    after: Annotated[int, Field(ge=1, le=100)]
    per_minutes: Annotated[float, Field(gt=0, le=24 * 60)]
    # Pages of these priorities go out at once, past the limit too, and do not count toward it: the digest spares a
    # phone the noise of a storm, never someone the wake-up call of a major incident.
    send_at_once: list[Priority] = [Priority.P1]


class Notifications(_Strict):
    sender: Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]
    sms_digest: SmsDigest | None = None  # off when unset: every SMS page is sent


class Ops(_Strict):
    """Who hears about firebell's own health: subscribed by email and SMS to the ops topic its self-monitoring
    alarms notify (infra/cdk/monitoring.py). Reached directly by SNS, never through firebell's own pipeline,
    which may be the thing that is broken."""

    emails: list[EmailAddress] = []
    phones: list[E164] = []

    @model_validator(mode="after")
    def _no_duplicates(self) -> Ops:
        for field in ("emails", "phones"):
            refuse_repeats(getattr(self, field), f"{field}: listed twice")
        return self
