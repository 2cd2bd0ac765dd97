"""Personal notification rules (domain/notification_rules.py): what a page reaches a person by, by urgency and time
of day in their own time zone, across a DST change; worked out here by hand."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError

from firebell.domain.enums import Priority
from firebell.domain.notification_rules import (
    FollowUp,
    NotificationRules,
    QuietHours,
    UrgencyRule,
    follow_up,
    page_channels,
    urgency_of,
)

RULES = NotificationRules(
    high=UrgencyRule(via=["sms", "email"], follow_up=FollowUp(every_minutes=5, times=2, via=["sms"])),
    low=UrgencyRule(via=["email"]),
    quiet_hours=QuietHours(start=time(22, 0), end=time(7, 0), low="nothing"),
)


def test_urgency_is_high_for_p1_p2_and_what_is_not_prioritised_yet() -> None:
    assert [urgency_of(p) for p in (Priority.P1, Priority.P2, None, Priority.P3, Priority.P4, Priority.P5)] == [
        "high",
        "high",
        "high",
        "low",
        "low",
        "low",
    ]


def test_without_rules_a_page_is_sms_and_email_as_before() -> None:
    for urgency in ("high", "low"):
        assert page_channels(None, urgency, datetime(2026, 3, 29, 3, tzinfo=UTC), None)[0] == ["sms", "email"]


@pytest.mark.parametrize(
    "at, urgency, expected",
    [
        # London is on GMT until 01:00 UTC on 29 March 2026, then BST (UTC+1).
        (datetime(2026, 3, 28, 21, 59, tzinfo=UTC), "low", ["email"]),  # 21:59 GMT: before the quiet hours
        (datetime(2026, 3, 28, 22, 0, tzinfo=UTC), "low", []),  # 22:00 GMT: quiet
        (datetime(2026, 3, 29, 5, 59, tzinfo=UTC), "low", []),  # 06:59 BST: still quiet
        (
            datetime(2026, 3, 29, 6, 0, tzinfo=UTC),
            "low",
            ["email"],
        ),  # 07:00 BST (06:00 UTC): over, an hour earlier in UTC
        (datetime(2026, 3, 29, 2, 0, tzinfo=UTC), "high", ["sms", "email"]),  # high urgency ignores quiet hours
    ],
)
def test_quiet_hours_hold_back_low_urgency_in_the_persons_own_time(
    at: datetime, urgency: str, expected: list[str]
) -> None:
    assert page_channels(RULES, urgency, at, "Europe/London")[0] == expected


def test_quiet_hours_may_keep_the_email_and_may_not_cross_midnight() -> None:
    keep_email = RULES.model_copy(update={"quiet_hours": QuietHours(start=time(13, 0), end=time(14, 0), low="email")})
    at = datetime(2026, 7, 1, 12, 30, tzinfo=UTC)  # 13:30 BST
    channels, why = page_channels(keep_email, "low", at, "Europe/London")
    assert channels == ["email"] and why == "low urgency in their quiet hours (13:00–14:00)"
    assert page_channels(keep_email, "low", datetime(2026, 7, 1, 13, 0, tzinfo=UTC), "Europe/London")[0] == ["email"]


def test_follow_ups_are_the_urgencys_own() -> None:
    assert follow_up(RULES, "high") == FollowUp(every_minutes=5, times=2, via=["sms"])
    assert follow_up(RULES, "low") is None and follow_up(None, "high") is None


@pytest.mark.parametrize(
    "wrong",
    [
        {"high": {"via": ["sms", "sms"]}},
        {"high": {"via": ["pager"]}},
        {"high": {"via": ["sms"], "follow_up": {"every_minutes": 0.5, "via": ["sms"]}}},
        {"high": {"via": ["sms"], "follow_up": {"every_minutes": 5, "times": 11, "via": ["sms"]}}},
        {"high": {"via": ["sms"], "follow_up": {"every_minutes": 5, "via": []}}},
        {"quiet_hours": {"start": "22:00", "end": "07:00", "low": "sms"}},
        {"quiet_hours": {"start": "25:00", "end": "07:00"}},
        {"quiet_hours": {"start": "22:00", "end": "22:00"}},  # empty
        {"high": {"via": []}},  # a P1 that reaches nobody
        {"quiet_hours": {"start": "00:00:00+05:00", "end": "23:59"}},  # an offset: they are kept in the person's zone
    ],
)
def test_rules_that_make_no_sense_are_refused(wrong: dict) -> None:
    with pytest.raises(ValidationError):
        NotificationRules.model_validate(wrong)


def test_what_a_person_types_as_a_phone_is_what_sns_takes() -> None:
    from firebell.domain.contacts import ContactMethod

    assert ContactMethod(kind="phone", value=" +447700900123 ").value == "+447700900123"
    # Arabic-Indic digits on purpose: str.isdigit() takes them, E.164 does not.
    for wrong in (
        "+١٥٥٥٠١٠٠٠٠١",  # noqa: RUF001
        "+1²³⁴⁵⁶⁷⁸⁹",
        "+0447700900",
        "447700900123",
        "+44 7700 900123",
    ):
        with pytest.raises(ValidationError):
            ContactMethod(kind="phone", value=wrong)
