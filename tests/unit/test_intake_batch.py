"""A queue batch at once (AlertIntake.handle_batch, domain/signal_groups.py): an alert's consecutive triggers are
one group counted in one write, anything else breaks the run and keeps its place; a redelivered notification
counts once however it is grouped; a group fails or succeeds whole, and an alert's later groups wait behind one
that failed."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from firebell.domain.enums import Source, Status
from firebell.domain.errors import HeldBack
from firebell.domain.models import Signal
from firebell.domain.signal_groups import Arrival, group_arrivals
from firebell.usecases.intake import AlarmOutcome, alarm_signal

from .builders import ALARM_ARN, alarm
from .conftest import World

OTHER = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-latency"
OPENED, DEDUPLICATED, RESOLVED, REOPENED = (
    AlarmOutcome.OPENED,
    AlarmOutcome.DEDUPLICATED,
    AlarmOutcome.RESOLVED,
    AlarmOutcome.REOPENED,
)


def sig(action: str = "trigger", key: str = ALARM_ARN) -> Signal:
    return Signal(
        source=Source.CLOUDWATCH_ALARM, action=action, dedup_key=key, summary=key.rsplit(":", 1)[-1], actor="cloudwatch"
    )


def arrivals(*spec: str, key: str = ALARM_ARN) -> list[Arrival]:
    """`"T"` trigger, `"R"` resolve, `"A"` acknowledge, `"D"` record; lower case for the OTHER alert."""
    actions = {"t": "trigger", "r": "resolve", "a": "acknowledge", "d": "record"}
    return [Arrival(sig(actions[s.lower()], key if s.isupper() else OTHER), f"sns:{n}") for n, s in enumerate(spec)]


def positions(batch: list[Arrival], limit: int = 99) -> list[tuple[int, ...]]:
    return [group.positions for group in group_arrivals(batch, limit)]


# --- grouping (pure) ------------------------------------------------------------------------------------------


def test_an_alerts_triggers_are_one_group_whatever_other_alerts_come_between() -> None:
    assert positions(arrivals("T", "t", "T", "t", "T")) == [(0, 2, 4), (1, 3)]


def test_a_recovery_between_two_alarms_is_not_merged_across_and_keeps_its_place() -> None:
    # ALARM, ALARM, OK, ALARM of one alarm: the OK ends the first run; the last ALARM starts a new one after it
    assert positions(arrivals("T", "T", "R", "T")) == [(0, 1), (2,), (3,)]


def test_every_signal_other_than_a_trigger_is_a_group_of_its_own_in_order() -> None:
    batch = arrivals("T", "A", "A", "D", "R", "R", "T", "T")
    groups = group_arrivals(batch, 99)
    assert [g.positions for g in groups] == [(0,), (1,), (2,), (3,), (4,), (5,), (6, 7)]
    assert [g.signal.action for g in groups] == [
        "trigger",
        "acknowledge",
        "acknowledge",
        "record",
        "resolve",
        "resolve",
        "trigger",
    ]


def test_another_alerts_recovery_does_not_end_a_run() -> None:
    assert positions(arrivals("T", "r", "T", "t", "T")) == [(0, 2, 4), (1,), (3,)]


def test_a_run_longer_than_one_write_takes_is_split_in_order() -> None:
    assert positions(arrivals(*"TTTTTTT"), limit=3) == [(0, 1, 2), (3, 4, 5), (6,)]


def test_a_group_carries_its_notifications_ids_in_order_and_whether_any_was_redelivered() -> None:
    batch = [
        Arrival(sig(), "sns:a"),
        Arrival(sig(key=OTHER), "sns:x"),
        Arrival(sig(), None),
        Arrival(sig(), "sns:b", redelivered=True),
    ]
    (group, other) = group_arrivals(batch, 99)
    assert (group.message_ids, group.redelivered, group.dedup_key) == (["sns:a", None, "sns:b"], True, ALARM_ARN)
    assert (other.message_ids, other.redelivered) == (["sns:x"], False)


# --- the batch through the use case, on the fakes ---------------------------------------------------------------


def alarms(*states: str, first: int = 0, redelivered: bool = False, **changes: Any) -> list[Arrival]:
    """CloudWatch notifications of the sample alarm, each its own SNS message (sns:<n>, numbered from `first`)."""
    return [
        Arrival(alarm_signal(alarm(state, **changes)), f"sns:{first + n}", redelivered)
        for n, state in enumerate(states)
    ]


def outcomes(results: list) -> list:
    return [result if isinstance(result, Exception) else result[0] for result in results]


def test_ten_copies_in_a_batch_are_one_write_one_incident_counted_ten_times(world: World) -> None:
    results = world.service.intake.handle_batch(alarms(*["ALARM"] * 10))

    assert outcomes(results) == [OPENED] + [DEDUPLICATED] * 9
    (incident,) = world.store.all_incidents()
    assert {incident_id for _, incident_id in results} == {incident.incident_id}
    assert world.store.calls["record_signals"] == 1
    assert world.store.dedup_state(ALARM_ARN).occurrences == 10
    assert world.service.read(world.service.get(incident.incident_id)).occurrences == 10  # as the API reads it
    assert world.events.types() == [
        "incident.opened",
        "incident.classified",
    ]  # once: opened, classified and paged in one change


def test_a_repeat_group_costs_one_write(world: World) -> None:
    # Given an open incident whose first repeat has had its (throttled) timeline line
    world.service.intake.handle_batch(alarms("ALARM"))
    world.service.intake.handle_batch(alarms("ALARM", first=1))
    before = world.store.writes()

    assert outcomes(world.service.intake.handle_batch(alarms(*["ALARM"] * 10, first=2))) == [DEDUPLICATED] * 10

    assert world.store.writes() - before == 1
    assert world.store.dedup_state(ALARM_ARN).occurrences == 12


def test_redelivered_notifications_count_once_whichever_group_they_come_back_in(world: World) -> None:
    # Given sns:0..4 counted, then a batch with sns:3 and sns:4 again (redelivered) and two new ones, one of them twice
    world.service.intake.handle_batch(alarms(*["ALARM"] * 5))
    again = (
        alarms("ALARM", "ALARM", first=3, redelivered=True)
        + alarms("ALARM", "ALARM", first=5)
        + alarms("ALARM", first=6)
    )

    results = world.service.intake.handle_batch(again)

    # Then only sns:5 and sns:6 counted: 7 occurrences, every arrival deduplicated into the one incident
    assert outcomes(results) == [DEDUPLICATED] * 5
    assert world.store.dedup_state(ALARM_ARN).occurrences == 7
    # And a batch of nothing but redeliveries counts nothing
    world.service.intake.handle_batch(alarms("ALARM", "ALARM", first=0, redelivered=True))
    assert world.store.dedup_state(ALARM_ARN).occurrences == 7


def test_alarm_ok_alarm_in_one_batch_open_resolve_and_reopen_in_order(world: World) -> None:
    results = world.service.intake.handle_batch(alarms("ALARM", "ALARM", "OK", "ALARM", "ALARM"))

    assert outcomes(results) == [OPENED, DEDUPLICATED, RESOLVED, REOPENED, DEDUPLICATED]
    (incident,) = world.store.all_incidents()
    assert incident.status is Status.TRIGGERED and incident.reopened_count == 1
    assert world.store.dedup_state(ALARM_ARN).occurrences == 4
    assert world.store.calls["record_signals"] == 2


def test_other_alerts_in_the_batch_are_their_own_groups(world: World) -> None:
    other = {"AlarmName": "orders-latency", "AlarmArn": OTHER}
    batch = (
        alarms("ALARM")
        + alarms("ALARM", first=1, **other)
        + alarms("ALARM", "ALARM", first=2)
        + alarms("OK", first=4, **other)
    )

    results = world.service.intake.handle_batch(batch)

    assert outcomes(results) == [OPENED, OPENED, DEDUPLICATED, DEDUPLICATED, RESOLVED]
    assert results[0][1] == results[2][1] == results[3][1] != results[1][1] == results[4][1]
    assert (world.store.dedup_state(ALARM_ARN).occurrences, world.store.dedup_state(OTHER).occurrences) == (3, 1)


def test_a_failed_group_fails_all_its_arrivals_holds_back_its_alerts_later_ones_and_the_redelivery_counts_exactly(
    world: World,
) -> None:
    # Given the group's one write takes effect and then times out (the worst case: done, but reported failed)
    world.store.fail_next("record_signals", ReadTimeoutError(endpoint_url="https://dynamodb"), after_effect=True)
    other = {"AlarmName": "orders-latency", "AlarmArn": OTHER}
    batch = alarms("ALARM", "ALARM", "ALARM") + alarms("ALARM", first=3, **other) + alarms("OK", "ALARM", first=4)

    results = world.service.intake.handle_batch(batch)

    # Then the group's three arrivals failed with that error, the same alarm's OK and ALARM after it were held
    # back (not applied before it), and the other alarm carried on
    assert [type(r).__name__ for r in outcomes(results)] == ["ReadTimeoutError"] * 3 + [
        "AlarmOutcome",
        "HeldBack",
        "HeldBack",
    ]
    assert outcomes(results)[3] is OPENED
    assert isinstance(results[4], HeldBack) and ALARM_ARN in str(results[4])
    assert [i.dedup_key for i in world.store.all_incidents()] == [OTHER]

    # When the five failed ones come back (redelivered, as SQS does after the batch item failures)
    again = [Arrival(a.signal, a.message_id, redelivered=True) for n, a in enumerate(batch) if n != 3]
    results = world.service.intake.handle_batch(again)

    # Then the first three count once (their markers were written with the count), the alarm opens, recovers and
    # comes back: 4 occurrences, not 7
    assert outcomes(results) == [OPENED, DEDUPLICATED, DEDUPLICATED, RESOLVED, REOPENED]
    assert world.store.dedup_state(ALARM_ARN).occurrences == 4


def test_a_group_is_tried_again_in_place_as_a_redelivery(world: World) -> None:
    # Given the write fails after taking effect once, and a queue that tries each group's work up to twice
    world.store.fail_next("record_signals", ReadTimeoutError(endpoint_url="https://dynamodb"), after_effect=True)
    attempts: list[int] = []

    def tried(work):
        try:
            attempts.append(0)
            return work(0)
        except ReadTimeoutError:
            attempts.append(1)
            return work(1)

    # When a batch of four copies is handled
    results = world.service.intake.handle_batch(alarms(*["ALARM"] * 4), tried)

    # Then the second try, a redelivery of the same notifications, finished the claim: one incident, 4 occurrences
    assert attempts == [0, 1]
    assert outcomes(results) == [OPENED] + [DEDUPLICATED] * 3
    assert len(world.store.all_incidents()) == 1
    assert world.store.dedup_state(ALARM_ARN).occurrences == 4


@pytest.mark.parametrize("copies", [1, 99])
def test_a_group_as_large_as_one_write_takes(world: World, copies: int) -> None:
    results = world.service.intake.handle_batch(alarms(*["ALARM"] * copies))
    assert outcomes(results) == [OPENED] + [DEDUPLICATED] * (copies - 1)
    assert world.store.calls["record_signals"] == 1
    assert world.store.dedup_state(ALARM_ARN).occurrences == copies
