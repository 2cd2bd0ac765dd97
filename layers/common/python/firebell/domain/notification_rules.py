"""Personal notification rules (pure): how each person is reached when they are paged (docs/notification-rules.md).

A person chooses, by the incident's urgency, what reaches them at once and what follows if nobody has acknowledged:

    notification_rules:
      high: {via: [sms, email], follow_up: {every_minutes: 5, times: 2, via: [sms]}}
      low: {via: [email]}
      quiet_hours: {start: "22:00", end: "07:00", low: nothing}   # in the person's time_zone

High urgency is a P1 or P2 (or an incident not yet prioritised); low is P3 to P5. Quiet hours hold back low-urgency
pages only (`low: nothing`, or `email` to keep the email). Without rules a page is email and SMS, as it always was;
what is not a page (reminders, updates, resolutions) is email. A follow-up step is sent while the incident is still
triggered, and stops once anyone acknowledges.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .enums import Priority

Channel = Literal["email", "sms", "slack"]  # slack: a direct message from the firebell app (their slack_user_id)
Urgency = Literal["high", "low"]
_LOW = (Priority.P3, Priority.P4, Priority.P5)


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


def _once(values: list[str]) -> list[str]:
    if len(set(values)) != len(values):
        raise ValueError("lists a channel twice")
    return values


class FollowUp(_Strict):
    """Reach them again, every `every_minutes`, `times` times, while nobody has acknowledged."""

    every_minutes: Annotated[float, Field(ge=1, le=120)]
    times: Annotated[int, Field(ge=1, le=10)] = 1
    via: Annotated[list[Channel], Field(min_length=1)]

    _channels_once = field_validator("via")(_once)


class UrgencyRule(_Strict):
    via: list[Channel]  # at once; [] is nothing (for low urgency: what some choose off hours)
    follow_up: FollowUp | None = None

    _channels_once = field_validator("via")(_once)


class QuietHours(_Strict):
    """A window each day (it may cross midnight), in the person's time zone, when low-urgency pages wait."""

    start: time
    end: time
    low: Literal["nothing", "email"] = "nothing"

    @field_validator("start", "end")
    @classmethod
    def _local_time(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError(
                "a time of day without an offset, e.g. 22:00: quiet hours are kept in the person's time_zone"
            )
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        if self.start == self.end:
            raise ValueError("quiet_hours: start and end are the same time: the window would be empty")
        return self

    def covers(self, at: datetime, time_zone: str) -> bool:
        local = at.astimezone(ZoneInfo(time_zone)).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


class NotificationRules(_Strict):
    high: UrgencyRule = Field(default_factory=lambda: UrgencyRule(via=["sms", "email"]))
    low: UrgencyRule = Field(default_factory=lambda: UrgencyRule(via=["sms", "email"]))
    quiet_hours: QuietHours | None = None

    @model_validator(mode="after")
    def _high_urgency_reaches(self) -> NotificationRules:
        if not self.high.via and self.high.follow_up is None:
            raise ValueError("high: a P1 or P2 page must reach you somehow (via, or a follow_up)")
        return self


DEFAULT = NotificationRules()


def urgency_of(priority: Priority | None) -> Urgency:
    return "low" if priority in _LOW else "high"


def page_channels(
    rules: NotificationRules | None, urgency: Urgency, at: datetime, time_zone: str | None
) -> tuple[list[Channel], str]:
    """What a page reaches them by now, and why (for the timeline when it is nothing, or not everything)."""
    rules = rules or DEFAULT
    rule = rules.high if urgency == "high" else rules.low
    quiet = rules.quiet_hours
    if urgency == "low" and quiet is not None and quiet.covers(at, time_zone or "UTC"):
        kept: list[Channel] = ["email"] if quiet.low == "email" and "email" in rule.via else []
        return kept, f"low urgency in their quiet hours ({quiet.start:%H:%M}–{quiet.end:%H:%M})"
    return list(rule.via), f"{urgency} urgency"


def follow_up_channels(
    rules: NotificationRules | None, plan: FollowUp, urgency: Urgency, at: datetime, time_zone: str | None
) -> tuple[list[Channel], str]:
    """A follow-up step's channels now: the step's own, held back as a page would be in quiet hours."""
    quiet = rules.quiet_hours if rules else None
    if urgency == "low" and quiet is not None and quiet.covers(at, time_zone or "UTC"):
        return (
            ["email"] if quiet.low == "email" and "email" in plan.via else []
        ), f"low urgency in their quiet hours ({quiet.start:%H:%M}–{quiet.end:%H:%M})"
    return list(plan.via), f"{urgency} urgency"


def follow_up(rules: NotificationRules | None, urgency: Urgency) -> FollowUp | None:
    rules = rules or DEFAULT
    return (rules.high if urgency == "high" else rules.low).follow_up
