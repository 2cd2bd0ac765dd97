"""Alarm notifications that arrive out of order (SNS and SQS keep none; a failed delivery comes back minutes later):
each is judged by when CloudWatch says the alarm's state changed, so a late one never undoes a newer one."""

from __future__ import annotations

from firebell.domain.enums import Status, TimelineKind
from firebell.domain.signal_groups import Arrival
from firebell.usecases.intake import AlarmOutcome, alarm_signal

from .builders import alarm
from .conftest import World


def at(minute: int) -> str:
    """A StateChangeTime on the builders' day (CloudWatch's own format)."""
    return f"2024-05-01T10:{minute:02d}:00.000+0000"


def fired(minute: int):
    return alarm("ALARM", StateChangeTime=at(minute))


def recovered(minute: int):
    return alarm("OK", StateChangeTime=at(minute))


def state_lines(world: World, incident_id: str) -> list[str]:
    return [e.message for e in world.store.timeline(incident_id) if e.kind is TimelineKind.ALARM_STATE]


def test_a_recovery_older_than_the_firing_that_opened_the_incident_is_ignored(world: World) -> None:
    # Given an incident opened by the alarm firing at 10:03
    outcome, incident_id = world.service.handle_alarm(fired(3), message_id="sns:1")
    assert outcome is AlarmOutcome.OPENED and incident_id

    # When its OK of 10:00 (the recovery before it fired) arrives after it
    late = world.service.handle_alarm(recovered(0), message_id="sns:0")

    # Then the incident stays triggered, and its timeline says why
    assert late == (AlarmOutcome.IGNORED, incident_id)
    assert world.service.get(incident_id).status is Status.TRIGGERED
    (line,) = state_lines(world, incident_id)
    assert "recovery at 2024-05-01 10:00:00 UTC arrived after it fired at 2024-05-01 10:03:00 UTC" in line


def test_a_firing_older_than_the_recovery_that_resolved_the_incident_neither_reopens_it_nor_opens_another(
    world: World,
) -> None:
    # Given an incident opened at 10:00 and resolved by the alarm's OK of 10:30
    _, incident_id = world.service.handle_alarm(fired(0), message_id="sns:1")
    assert world.service.handle_alarm(recovered(30), message_id="sns:3")[0] is AlarmOutcome.RESOLVED

    # When a firing of 10:10 (before that recovery) arrives now, inside the confirmation window and after it
    inside = world.service.handle_alarm(fired(10), message_id="sns:2")
    world.clock.advance(days=2)
    after = world.service.handle_alarm(fired(10), message_id="sns:2b")

    # Then nothing reopens or opens, and the timeline says why
    assert inside == (AlarmOutcome.IGNORED, incident_id) and after == (AlarmOutcome.IGNORED, incident_id)
    assert world.service.get(incident_id).status is Status.RESOLVED
    assert len(world.store.all_incidents()) == 1
    assert all(
        "fired at 2024-05-01 10:10:00 UTC, before the recovery at" in line for line in state_lines(world, incident_id)
    )


def test_a_recovery_between_two_firings_that_arrives_after_the_second_is_ignored(world: World) -> None:
    # Given the alarm fired at 10:00, recovered at 10:05 and fired again at 10:10, and the recovery is late
    _, incident_id = world.service.handle_alarm(fired(0), message_id="sns:1")
    assert world.service.handle_alarm(fired(10), message_id="sns:3")[0] is AlarmOutcome.DEDUPLICATED

    # When the recovery of 10:05 arrives
    late = world.service.handle_alarm(recovered(5), message_id="sns:2")

    # Then it does not resolve what fired again after it
    assert late == (AlarmOutcome.IGNORED, incident_id)
    assert world.service.get(incident_id).status is Status.TRIGGERED


def test_in_one_batch_the_latest_firing_of_a_run_counts(world: World) -> None:
    # Given one batch holding two firings of the alarm (10:00 and 10:10; the recovery between them late)
    arrivals = [Arrival(alarm_signal(fired(0)), "sns:1"), Arrival(alarm_signal(fired(10)), "sns:3")]
    (outcome, incident_id), _ = world.service.intake.handle_batch(arrivals)
    assert outcome is AlarmOutcome.OPENED and incident_id

    # When the recovery of 10:05 arrives
    late = world.service.handle_alarm(recovered(5), message_id="sns:2")

    # Then it is late for the run's second firing
    assert late == (AlarmOutcome.IGNORED, incident_id)


def test_recoveries_and_firings_in_order_still_resolve_and_reopen(world: World) -> None:
    # Given an incident opened at 10:00
    _, incident_id = world.service.handle_alarm(fired(0), message_id="sns:1")

    # When it recovers at 10:05 and fires again at 10:10, in that order
    assert world.service.handle_alarm(recovered(5), message_id="sns:2")[0] is AlarmOutcome.RESOLVED
    assert world.service.handle_alarm(fired(10), message_id="sns:3")[0] is AlarmOutcome.REOPENED

    # Then the incident is open again, and then resolved by its next recovery
    assert world.service.handle_alarm(recovered(15), message_id="sns:4")[0] is AlarmOutcome.RESOLVED
    assert state_lines(world, incident_id) == []
