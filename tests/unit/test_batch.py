"""SQS batches: permanent failures go to the dead-letter queue with a reason at once; transient ones
(throttling, timeouts, lost races) and unknown ones are retried until the queue's last allowed attempt,
then dead-lettered with their reason; the rest of the batch carries on."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError

from firebell.batch import TRIES_IN_PLACE, QueueRecord, process_queue_batch, should_retry
from firebell.domain.alarms import CloudWatchAlarmNotification
from firebell.domain.errors import ConcurrentUpdate, IncidentNotFound, PermanentMessageError
from tests.fakes import RecordingDeadLetters

from .builders import CLOUDWATCH_ALARM, LambdaContextStub, cloudwatch_message, sqs_event, sqs_record
from .conftest import ROOT

INTAKE_ARN = "arn:aws:sqs:us-east-1:123456789012:firebell-intake"


def sns_envelope(message: dict) -> str:
    """The body SQS holds for an SNS subscription without raw delivery (what intake receives)."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:firebell-alarms",
            "Subject": f'ALARM: "{message["AlarmName"]}" in US East (N. Virginia)',
            "Message": json.dumps(message),
            "Timestamp": "2024-05-01T10:00:12.400Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE==",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
    )


def alarm_body(name: str) -> str:
    arn = f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"
    return sns_envelope(cloudwatch_message(AlarmName=name, AlarmArn=arn))


@pytest.fixture(autouse=True)
def backoffs(monkeypatch) -> list[float]:
    """The backoff between tries in place, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr("firebell.batch.time.sleep", slept.append)
    return slept


@pytest.fixture
def dead_letters() -> RecordingDeadLetters:
    return RecordingDeadLetters(max_receives=5)


@pytest.fixture
def intake(world):
    """An intake-like record handler over the fake-backed service."""

    def handle(record: QueueRecord) -> None:
        envelope = json.loads(record.body)
        world.service.handle_alarm(CloudWatchAlarmNotification.model_validate_json(envelope["Message"]).details())

    return handle


def run(event: dict, handler, dead_letters) -> dict:
    return process_queue_batch(event, LambdaContextStub(), handler, dead_letters)


def failing(error: Exception):
    def handle(record: QueueRecord) -> None:
        raise error

    return handle


def test_malformed_message_is_dead_lettered_and_the_rest_processed(world, intake, dead_letters):
    """Given a batch of 3 where the middle body is not JSON, when processed, then the two alarms open
    incidents, the malformed one is dead-lettered with the JSON error as the reason, and nothing is retried."""
    good_1, bad, good_2 = (
        sqs_record(alarm_body("checkout-5xx-high"), queue="firebell-intake"),
        sqs_record('{"Type": "Notification", "Message": ', queue="firebell-intake"),
        sqs_record(alarm_body("orders-latency"), queue="firebell-intake"),
    )

    result = run(sqs_event(good_1, bad, good_2), intake, dead_letters)

    assert result == {"batchItemFailures": []}
    assert sorted(i.title.split(":")[0] for i in world.store.all_incidents()) == ["checkout-5xx-high", "orders-latency"]
    (letter,) = dead_letters.sent
    assert letter.body == bad["body"]
    assert letter.source_queue_arn == INTAKE_ARN
    assert letter.attempts == 1
    assert letter.reason.startswith("JSONDecodeError: Expecting value: line 1 column")


def test_invalid_alarm_is_dead_lettered_with_the_validation_error(world, intake, dead_letters):
    """Given an SNS envelope whose alarm lacks its account, then the reason names the missing field."""
    message = {k: v for k, v in CLOUDWATCH_ALARM.items() if k != "AWSAccountId"}
    record = sqs_record(sns_envelope(message))

    assert run(sqs_event(record), intake, dead_letters) == {"batchItemFailures": []}
    (letter,) = dead_letters.sent
    assert letter.reason == "ValidationError (CloudWatchAlarmNotification): AWSAccountId: Field required"


def test_reason_names_every_offending_field():
    """Given a validation error with nested problems, then the reason lists each field path and problem."""
    from pydantic import ValidationError

    from firebell.batch import describe
    from firebell.domain.workflow_messages import PageRequest

    with pytest.raises(ValidationError) as caught:
        PageRequest.model_validate(
            {"type": "escalation.page", "incident_id": "x", "level": {"level": 0, "targets": []}}
        )
    assert describe(caught.value) == (
        "ValidationError (PageRequest): level.level: Input should be greater than or equal to 1; "
        "level.timeout_seconds: Field required; task_token: Field required"
    )
    assert describe(KeyError("x")) == "KeyError: 'x'"


def client_error(code: str, operation: str = "PutItem", status: int = 400, **extra) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}, **extra}, operation
    )


TRANSIENT = {
    "throttled": client_error("ProvisionedThroughputExceededException"),
    "sfn-throttled": client_error("ThrottlingException", "SendTaskSuccess"),
    "request-limit": client_error("RequestLimitExceeded"),
    "5xx": client_error("InternalServerError", status=500),
    "unavailable": client_error("ServiceUnavailable", "Publish", status=503),
    "transaction-conflict": client_error(
        "TransactionCanceledException",
        "TransactWriteItems",
        CancellationReasons=[{"Code": "None"}, {"Code": "TransactionConflict"}],
    ),
    "read-timeout": ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com"),
    "no-endpoint": EndpointConnectionError(endpoint_url="https://sqs.us-east-1.amazonaws.com"),
    "lost-race": ConcurrentUpdate("01HX: too many concurrent updates"),
    "timeout": TimeoutError("slow"),
}


@pytest.mark.parametrize("error", TRANSIENT.values(), ids=TRANSIENT.keys())
def test_transient_error_is_retried_never_dead_lettered_on_the_first_try(dead_letters, error):
    """Given a handler failing with throttling, a timeout or a lost race on the first receive, then the record
    is reported for retry (SQS delivers it again) and nothing goes to the DLQ."""
    record = sqs_record("{}", receive_count=1)

    result = run(sqs_event(record), failing(error), dead_letters)

    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert dead_letters.sent == []


def flaky(*errors: Exception):
    """A handler failing with each of `errors` in turn, then succeeding; it records the receive count it saw."""
    seen: list[int] = []

    def handle(record: QueueRecord) -> None:
        seen.append(record.receive_count)
        if len(seen) <= len(errors):
            raise errors[len(seen) - 1]

    handle.seen = seen  # type: ignore[attr-defined]
    return handle


def test_transient_errors_are_tried_again_in_place_before_the_record_goes_back_to_sqs(dead_letters, backoffs):
    """Given a handler throttled twice, then succeeding, then the record succeeds within the one delivery, after
    backoffs of 0.1 s and 0.2 s, and each later try sees the record as redelivered (an earlier try may have
    failed midway: intake then finishes a claim left without its incident)."""
    record = sqs_record("{}", receive_count=1)
    handler = flaky(TRANSIENT["throttled"], TRANSIENT["read-timeout"])

    assert run(sqs_event(record), handler, dead_letters) == {"batchItemFailures": []}
    assert handler.seen == [1, 2, 3]
    assert backoffs == [0.1, 0.2]
    assert dead_letters.sent == []


def test_a_record_still_failing_after_its_tries_in_place_goes_back_to_sqs(dead_letters, backoffs):
    record = sqs_record("{}", receive_count=2)
    handler = flaky(*[TRANSIENT["5xx"]] * TRIES_IN_PLACE)

    assert run(sqs_event(record), handler, dead_letters) == {
        "batchItemFailures": [{"itemIdentifier": record["messageId"]}]
    }
    assert handler.seen == [2, 3, 4]
    assert dead_letters.sent == []


@pytest.mark.parametrize("error", [PermanentMessageError("bad"), RuntimeError("a bug")], ids=["permanent", "unknown"])
def test_only_transient_errors_are_tried_in_place(dead_letters, error):
    """A refused message cannot succeed on a second try, and a bug is left to SQS's slower redelivery."""
    handler = flaky(error)
    run(sqs_event(sqs_record("{}")), handler, dead_letters)
    assert handler.seen == [1]


def test_no_try_in_place_when_the_invocation_is_running_out_of_time(dead_letters):
    """With little time left the record goes back to SQS at once: the rest of the batch needs the time."""

    class AlmostOutOfTime(LambdaContextStub):
        def get_remaining_time_in_millis(self) -> int:
            return 2_000

    record = sqs_record("{}")
    handler = flaky(TRANSIENT["throttled"])

    result = process_queue_batch(sqs_event(record), AlmostOutOfTime(), handler, dead_letters)

    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert handler.seen == [1]


@pytest.mark.parametrize("receive_count", [2, 4])
def test_transient_error_before_the_last_attempt_is_still_retried(dead_letters, receive_count):
    record = sqs_record("{}", receive_count=receive_count)
    result = run(sqs_event(record), failing(TRANSIENT["throttled"]), dead_letters)
    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert dead_letters.sent == []


def test_unknown_error_is_retried(dead_letters):
    """Given an error nobody raised on purpose (a bug) on the first receive, then it is retried too."""
    record = sqs_record("{}", receive_count=1)

    result = run(sqs_event(record), failing(RuntimeError("unexpected")), dead_letters)

    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    assert dead_letters.sent == []


def test_escaped_conditional_check_failure_is_retried_not_dead_lettered(dead_letters):
    """ConditionalCheckFailed belongs to the caller that set the condition; one that escapes is not proof that
    the message is bad, so it is retried like any unknown error."""
    record = sqs_record("{}", receive_count=1)
    result = run(sqs_event(record), failing(client_error("ConditionalCheckFailedException")), dead_letters)
    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


@pytest.mark.parametrize("receive_count", [5, 6])
def test_transient_error_on_the_last_attempt_is_dead_lettered_with_its_reason(dead_letters, receive_count):
    """Given throttling on the queue's last allowed receive (maxReceiveCount 5), then the record is dead-lettered
    with the error and the attempts as reason instead of being retried: nothing is lost."""
    record = sqs_record('{"type": "escalation.page"}', receive_count=receive_count, queue="firebell-notify")

    result = run(sqs_event(record), failing(TRANSIENT["throttled"]), dead_letters)

    assert result == {"batchItemFailures": []}
    (letter,) = dead_letters.sent
    assert letter.attempts == receive_count
    assert letter.reason == (
        "ClientError: An error occurred (ProvisionedThroughputExceededException) when calling the PutItem operation: "
        f"ProvisionedThroughputExceededException (transient error, still failing after {receive_count} attempts)"
    )
    assert letter.source_queue_arn == "arn:aws:sqs:us-east-1:123456789012:firebell-notify"


def test_unknown_error_on_the_last_attempt_is_dead_lettered_with_its_reason(dead_letters):
    record = sqs_record("{}", receive_count=5)
    assert run(sqs_event(record), failing(RuntimeError("DynamoDB throttled")), dead_letters) == {
        "batchItemFailures": []
    }
    (letter,) = dead_letters.sent
    assert letter.reason == "RuntimeError: DynamoDB throttled (unknown error, still failing after 5 attempts)"


PERMANENT = {
    "permanent": PermanentMessageError("type: unknown message type 'x'"),
    "domain": IncidentNotFound("01HX"),
    "json": json.JSONDecodeError("bad", "{", 0),
    "aws-validation": client_error("ValidationException"),
    "transaction-validation": client_error(
        "TransactionCanceledException", "TransactWriteItems", CancellationReasons=[{"Code": "ValidationError"}]
    ),
}


@pytest.mark.parametrize("error", PERMANENT.values(), ids=PERMANENT.keys())
def test_permanent_errors_are_dead_lettered_at_once(dead_letters, error):
    """Given a permanent error on the first receive, then it is dead-lettered without waiting for retries."""
    result = run(sqs_event(sqs_record("{}", receive_count=1)), failing(error), dead_letters)
    assert result == {"batchItemFailures": []}
    assert dead_letters.sent[0].reason == f"{type(error).__name__}: {error}"


def test_unreachable_dlq_retries_instead_of_losing_the_message(dead_letters):
    """Given the DLQ cannot be reached, when a permanent failure happens, then it is reported for retry."""
    dead_letters.unreachable = True
    record = sqs_record("{not json}")

    result = run(sqs_event(record), failing(PermanentMessageError("nope")), dead_letters)

    assert result == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}


def test_unreadable_redrive_policy_retries_transient_but_dead_letters_permanent(dead_letters):
    """Given the queue's redrive policy cannot be read, then a transient error is retried (the redrive
    stays the backstop) while a permanent one is still dead-lettered."""
    dead_letters.policy_unreadable = True
    transient = sqs_record("{}", receive_count=9)
    permanent = sqs_record("{}", receive_count=1)

    def handle(record: QueueRecord) -> None:
        raise RuntimeError("boom") if record.message_id == transient["messageId"] else PermanentMessageError("bad")

    result = run(sqs_event(transient, permanent), handle, dead_letters)

    assert result == {"batchItemFailures": [{"itemIdentifier": transient["messageId"]}]}
    assert [letter.reason for letter in dead_letters.sent] == ["PermanentMessageError: bad"]


def test_whole_batch_failing_is_reported_not_raised(dead_letters):
    """Given every record fails transiently, then all are reported (no exception fails the invocation)."""
    records = [sqs_record("{}") for _ in range(3)]
    result = run(sqs_event(*records), failing(TimeoutError("slow")), dead_letters)
    assert result == {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in records]}


def test_the_verdict_on_a_failed_record_can_be_asked_directly(dead_letters):
    """Given a record that failed on the queue's last allowed attempt, then it reads the budget from the queue via
    the dead-letter port and dead-letters it (nothing to retry)."""
    record = QueueRecord(sqs_record("{}", receive_count=5))
    assert should_retry(record, RuntimeError("x"), dead_letters) is False
    assert len(dead_letters.sent) == 1


def test_an_event_that_is_no_sqs_batch_fails_the_invocation(dead_letters):
    for event in ({}, {"Records": []}, {"Records": "x"}):
        with pytest.raises(ValueError, match="no Records"):
            run(event, failing(RuntimeError("x")), dead_letters)


def test_a_record_reads_as_lambda_hands_it_over():
    raw = sqs_record("{}", receive_count=3)
    record = QueueRecord(raw)
    assert (record.body, record.message_id, record.receive_count) == ("{}", raw["messageId"], 3)
    assert record.event_source_arn == raw["eventSourceARN"] and record.raw_event is raw
    assert QueueRecord({"body": "", "messageId": "m"}).receive_count == 1  # no attributes: a first delivery


def test_shipped_poison_batch(world, intake, dead_letters):
    """Given events/sqs/intake-batch-with-poison.json (one alarm, one non-JSON body, one incomplete alarm),
    then one incident is opened and the two others are dead-lettered with their reasons."""
    path = ROOT / "events" / "sqs" / "intake-batch-with-poison.json"
    if not path.exists():
        pytest.skip("no sample SQS batch in events/sqs yet")
    event = json.loads(path.read_text(encoding="utf-8"))

    result = run(event, intake, dead_letters)

    assert result == {"batchItemFailures": []}
    assert [i.title.split(":")[0] for i in world.store.all_incidents()] == ["checkout-5xx-rate"]
    reasons = [letter.reason for letter in dead_letters.sent]
    assert reasons[0].startswith("JSONDecodeError: ")
    assert reasons[1].startswith("ValidationError (CloudWatchAlarmNotification): ")
    assert "AWSAccountId: Field required" in reasons[1] and "NewStateValue: Field required" in reasons[1]
