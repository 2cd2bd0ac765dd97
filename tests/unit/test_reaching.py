"""Pages as each person's notification rules say (usecases/reaching.py): what reaches alice (on call for the
platform team on the fakes' Friday) at once, in her quiet hours, and her follow-ups while nobody acknowledges."""

from __future__ import annotations

from typing import Any

from firebell import workflows as machines
from firebell.domain.enums import Status, TimelineKind
from firebell.domain.requests import IncidentCreate

from .builders import reminder
from .conftest import World, build_world, with_directory

ALICE_PHONE, ALICE_EMAIL = "+15550100001", "alice@example.com"


def world_where_alice(shipped_config, rules: dict[str, Any], time_zone: str | None = "Europe/London") -> World:
    def set_rules(directory: dict[str, Any]) -> None:
        alice = next(p for p in directory["people"] if p["id"] == "alice")
        alice["notification_rules"] = rules
        if time_zone:
            alice["time_zone"] = time_zone

    return build_world(with_directory(shipped_config, set_rules))


def to_alice(world: World) -> tuple[list[str], list[str]]:
    return (
        [s.text for s in world.messenger.sms if s.phone == ALICE_PHONE],
        [e.subject for e in world.messenger.emails if e.to == ALICE_EMAIL],
    )


def report(world: World, title: str, impact: str, urgency: str):
    return world.service.report(IncidentCreate(title=title, reporter="erin", impact=impact, urgency=urgency))


def test_low_urgency_by_email_only_high_by_sms_and_email(shipped_config) -> None:
    world = world_where_alice(shipped_config, {"high": {"via": ["sms", "email"]}, "low": {"via": ["email"]}})
    low = report(world, "Disk 80% on batch-3", "low", "low")
    assert low.priority.value in ("P4", "P5")
    sms, emails = to_alice(world)
    assert sms == [] and len(emails) == 1
    high = report(world, "Primary database deadlock", "high", "high")
    sms, emails = to_alice(world)
    assert len(sms) == 1 and high.reference in sms[0] and len(emails) == 2


def test_quiet_hours_hold_back_a_low_urgency_page_and_say_so(shipped_config) -> None:
    world = world_where_alice(
        shipped_config,
        {"low": {"via": ["sms", "email"]}, "quiet_hours": {"start": "22:00", "end": "07:00", "low": "nothing"}},
    )
    world.clock.set(world.clock().replace(hour=23, minute=30))  # 00:30 BST: quiet
    incident = report(world, "Disk 80% on batch-3", "low", "low")
    assert to_alice(world) == ([], [])
    [skipped] = [e for e in world.store.timeline(incident.incident_id) if e.kind is TimelineKind.PAGE_SKIPPED]
    assert skipped.message.startswith(
        "alice not paged: their notification rules say nothing for low urgency in their quiet hours (22:00–07:00)"
    )


def test_follow_ups_while_nobody_acknowledges_and_none_once_someone_does(shipped_config) -> None:
    world = world_where_alice(
        shipped_config, {"high": {"via": ["email"], "follow_up": {"every_minutes": 5, "times": 2, "via": ["sms"]}}}
    )
    incident = report(world, "Primary database deadlock", "high", "high")
    assert to_alice(world)[0] == []  # at once: email only
    [run] = world.workflows.started(machines.REMINDER)
    assert (
        run.payload["duty"] == "follow-1-alice"
        and run.payload["interval_seconds"] == 300
        and run.payload["max_rounds"] == 3
    )

    def due(n, token):
        return world.service.reminder_due(reminder(incident.incident_id, run.payload["duty"], n, token, max_rounds=3))

    due(1, "t1")  # the run's start: nothing
    assert to_alice(world)[0] == []
    due(2, "t2")
    due(2, "t2")  # redelivered: nothing twice
    sms = to_alice(world)[0]
    assert len(sms) == 1 and incident.reference in sms[0]
    [sent] = [e for e in world.store.timeline(incident.incident_id) if e.details.get("why", "").startswith("follow-up")]
    assert sent.message == "sms to alice <+15550100001> (follow-up 1 of 2: not acknowledged)"
    world.service.acknowledge(incident.incident_id, by="alice")
    due(3, "t3")
    assert len(to_alice(world)[0]) == 1  # acknowledged: no second follow-up
    assert world.workflows.outcomes("t3") == ["done"]  # the run ends


def test_a_later_page_takes_over_the_follow_ups(shipped_config) -> None:
    world = world_where_alice(
        shipped_config, {"high": {"via": ["email"], "follow_up": {"every_minutes": 5, "times": 3, "via": ["sms"]}}}
    )
    incident = report(world, "Primary database deadlock", "high", "high")
    [first] = world.workflows.started(machines.REMINDER)
    world.service.escalate(incident.incident_id, by="carol")  # (level 2 pages others; alice is not paged again here)
    assert world.service.get(incident.incident_id).status is Status.TRIGGERED
    # Her page of version 1 is still her latest: its follow-up goes out.
    world.service.reminder_due(reminder(incident.incident_id, first.payload["duty"], 2, "f2", max_rounds=4))
    assert len(to_alice(world)[0]) == 1
    # A round of an older page (another version) is ended, not sent.
    world.service.reminder_due(reminder(incident.incident_id, "follow-99-alice", 2, "old", max_rounds=4))
    assert len(to_alice(world)[0]) == 1 and world.workflows.outcomes("old") == ["done"]


def test_rules_asking_for_sms_of_someone_without_a_phone_say_so_on_the_timeline(shipped_config) -> None:
    def no_phone(directory: dict[str, Any]) -> None:
        alice = next(p for p in directory["people"] if p["id"] == "alice")
        alice.pop("phone")
        alice["notification_rules"] = {"high": {"via": ["sms"]}}

    world = build_world(with_directory(shipped_config, no_phone))
    incident = report(world, "Primary database deadlock", "high", "high")
    [skipped] = [e for e in world.store.timeline(incident.incident_id) if e.kind is TimelineKind.PAGE_SKIPPED]
    assert skipped.message.startswith(
        "alice not paged: their notification rules ask for sms, and the directory has no phone for them"
    )


def test_a_page_may_be_a_slack_direct_message_and_slacks_refusal_ends_on_the_timeline(shipped_config) -> None:
    from firebell.domain.errors import PermanentError
    from tests.fakes import OutboxMessenger

    def in_slack(directory: dict[str, Any]) -> None:
        alice = next(p for p in directory["people"] if p["id"] == "alice")
        alice["slack_user_id"] = "U0ALICE"
        alice["notification_rules"] = {"high": {"via": ["slack", "email"]}}

    config = with_directory(shipped_config, in_slack)
    world = build_world(config)
    incident = report(world, "Primary <!channel> database deadlock", "high", "high")
    [dm] = [m for m in world.messenger.chats if m.phone == "U0ALICE"]
    assert incident.reference in dm.text and "<!channel>" not in dm.text and "&lt;!channel&gt;" in dm.text
    assert to_alice(world)[0] == []  # no SMS: her rules say Slack and email

    class SlackRefuses(OutboxMessenger):
        def send_chat(self, user: str, text: str) -> str:
            raise PermanentError("Slack refused chat.postMessage: channel_not_found")

    refusing = build_world(config, messenger=SlackRefuses())
    incident = report(refusing, "Primary database deadlock", "high", "high")
    failed = [e for e in refusing.store.timeline(incident.incident_id) if e.kind is TimelineKind.NOTIFICATION_FAILED]
    assert [e.message for e in failed] == [
        "slack to alice not sent: Slack refused chat.postMessage: channel_not_found (level 1)"
    ]
    assert refusing.store.pending_effects(incident.incident_id) == []  # not tried again
