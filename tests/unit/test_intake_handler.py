"""The intake handler's batch (functions/intake/app.py over firebell.batch.process_queue_batch_at_once), on the
fakes: every record read first, an alarm's copies counted in one write, a group's records failing together
(retried in place first, then reported for redelivery), unreadable ones dead-lettered alone, and one metric value
per outcome with exact counts."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ReadTimeoutError

from firebell import wiring
from firebell.batch import TRIES_IN_PLACE
from functions.intake import app as intake
from tests.fakes import RecordingDeadLetters

from .builders import ALARM_ARN, CLOUDWATCH_ALARM, LambdaContextStub, cloudwatch_message, sqs_event, sqs_record
from .conftest import World
from .test_batch import sns_envelope

OTHER_ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:orders-latency"


class RecordingMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.added.append((name, value))

    def totals(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name, value in self.added:
            totals[name] = totals.get(name, 0) + value
        return totals


@pytest.fixture
def metrics(world: World, monkeypatch: pytest.MonkeyPatch) -> RecordingMetrics:
    recording = RecordingMetrics()
    monkeypatch.setattr(wiring, "intake", lambda: world.service.intake)
    monkeypatch.setattr(intake, "metrics", recording)
    monkeypatch.setattr("firebell.batch.time.sleep", lambda seconds: None)
    return recording


def copy_of(message_id: str, state: str = "ALARM", **changes: Any) -> dict:
    """One SQS record carrying its own SNS notification (`message_id`) of the sample alarm."""
    body = json.loads(sns_envelope(cloudwatch_message(CLOUDWATCH_ALARM, NewStateValue=state, **changes)))
    body["MessageId"] = message_id
    return sqs_record(json.dumps(body))


def numbered(count: int, first: int = 0) -> list[dict]:
    return [copy_of(f"sns-{n}") for n in range(first, first + count)]


def run(records: list[dict], dead_letters: RecordingDeadLetters | None = None) -> dict:
    return intake.process_queue_batch_at_once(
        sqs_event(*records), LambdaContextStub(), intake.handle_batch, dead_letters or RecordingDeadLetters()
    )


def failed_ids(response: dict) -> set[str]:
    return {failure["itemIdentifier"] for failure in response["batchItemFailures"]}


def test_a_batch_of_copies_is_one_write_and_the_metrics_count_every_outcome(
    world: World, metrics: RecordingMetrics
) -> None:
    other = {"AlarmName": "orders-latency", "AlarmArn": OTHER_ARN}
    records = [*numbered(7), copy_of("sns-o1", **other), copy_of("sns-o2", **other), *numbered(1, first=7)]

    assert run(records) == {"batchItemFailures": []}

    assert world.store.calls["record_signals"] == 2  # one per alarm
    assert (world.store.dedup_state(ALARM_ARN).occurrences, world.store.dedup_state(OTHER_ARN).occurrences) == (8, 2)
    assert metrics.totals() == {"AlarmOpened": 2, "AlarmDeduplicated": 8}
    assert len(metrics.added) == 2  # one value per outcome for the batch


def test_an_unreadable_record_is_dead_lettered_alone(world: World, metrics: RecordingMetrics) -> None:
    dead_letters = RecordingDeadLetters()
    bad = sqs_record('{"Type": "Notification", "MessageId": "x"}')
    records = [*numbered(3), bad, *numbered(2, first=3)]

    assert run(records, dead_letters) == {"batchItemFailures": []}

    (letter,) = dead_letters.sent
    assert letter.body == bad["body"] and letter.reason == "ValidationError (SnsAlarmEnvelope): Message: Field required"
    assert world.store.dedup_state(ALARM_ARN).occurrences == 5
    assert world.store.calls["record_signals"] == 1


def test_a_group_whose_write_keeps_failing_fails_all_its_records_and_their_redelivery_counts_exactly(
    world: World, metrics: RecordingMetrics
) -> None:
    # Given the stormed alarm's write takes effect and then times out, on every try in place
    for _ in range(TRIES_IN_PLACE):
        world.store.fail_next("record_signals", ReadTimeoutError(endpoint_url="https://dynamodb"), after_effect=True)
    other = {"AlarmName": "orders-latency", "AlarmArn": OTHER_ARN}
    storm = numbered(4) + numbered(2, first=4)
    records = [*storm[:4], copy_of("sns-o1", **other), *storm[4:]]

    response = run(records)

    # Then exactly the alarm's six records are reported for redelivery; the other alarm's went through
    assert failed_ids(response) == {r["messageId"] for r in storm}
    assert world.store.dedup_state(OTHER_ARN).occurrences == 1
    assert metrics.totals() == {"AlarmOpened": 1}

    # When SQS delivers the six again (their receive count one higher)
    again = [{**r, "attributes": {**r["attributes"], "ApproximateReceiveCount": "2"}} for r in storm]
    assert run(again) == {"batchItemFailures": []}

    # Then they count once although their write had taken effect (then timed out): 6 occurrences, one incident
    assert world.store.dedup_state(ALARM_ARN).occurrences == 6
    assert sorted(i.dedup_key for i in world.store.all_incidents()) == sorted([ALARM_ARN, OTHER_ARN])
    assert metrics.totals() == {"AlarmOpened": 2, "AlarmDeduplicated": 5}
