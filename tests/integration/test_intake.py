"""Intake under moto: CloudWatch alarm notifications arriving through the alarms topic → SQS → intake."""

import json
import time
from typing import Any

import pytest

from infra.topology import TOPOLOGY
from tests.integration.conftest import Pipeline, another_copy, load_event


def incidents(pipeline: Pipeline) -> list[dict]:
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200
    return page["items"]


def test_alarm_opens_an_incident_and_announces_it(pipeline: Pipeline) -> None:
    # Given a real-format CloudWatch ALARM notification, as SNS delivers it to the intake queue
    event = load_event("sqs/intake-alarm.json")

    # When intake handles it
    response = pipeline.invoke("intake", event)

    # Then one incident is open with a human reference and the alarm's details
    assert response == {"batchItemFailures": []}
    [incident] = incidents(pipeline)
    assert incident["reference"] == "INC-1"
    assert incident["status"] == "triggered"
    assert incident["source"] == "cloudwatch_alarm"
    assert incident["alarm"]["namespace"] == "AWS/ApplicationELB"
    assert incident["alarm"]["dimensions"] == {"LoadBalancer": "app/checkout-prod/50dc6c495c0c9188"}
    assert incident["title"].startswith("checkout-5xx-rate")
    # And it was classified and its level 1 paged in the change that opened it, before intake answered: the
    # first page waited for no queue or workflow (issue 10)
    _status, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    kinds = [e["kind"] for e in timeline["items"]]
    assert kinds[:4] == ["opened", "classified", "escalation_started", "paged"]
    assert len({e["at"] for e in timeline["items"][:4]}) == 1  # one change, one moment
    assert sorted(m["channel"] for m in pipeline.outbox()) == ["email", "sms"] and kinds.count("notification_sent") == 2
    # And classify still hears of the opening through its filter policy (its safety net: it finds it done)
    classify_event = pipeline.queued("classify", wait_seconds=15, expect=1)
    assert json.loads(classify_event["Records"][0]["body"])["type"] == "incident.opened"
    assert pipeline.invoke("classify", classify_event) == {"batchItemFailures": []}
    _, again = pipeline.api("GET", "/incidents/INC-1/timeline")
    assert again["items"] == timeline["items"]


def test_the_same_alarm_again_counts_an_occurrence_instead_of_a_new_incident(pipeline: Pipeline) -> None:
    # Given an alarm that already opened an incident
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))

    # When the same alarm fires twice more
    pipeline.invoke("intake", another_copy(load_event("sqs/intake-alarm.json")))
    pipeline.invoke("intake", another_copy(load_event("sqs/intake-alarm.json")))

    # Then there is still one incident, seen three times
    [incident] = incidents(pipeline)
    assert incident["occurrences"] == 3
    assert incident["last_seen_at"] > incident["opened_at"]


def test_ok_resolves_the_incident_automatically(pipeline: Pipeline) -> None:
    # Given an open incident for the alarm
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))

    # When the alarm returns to OK
    pipeline.invoke("intake", load_event("sqs/intake-ok.json"))

    # Then the incident is resolved, automatically, and the timeline says it
    [incident] = incidents(pipeline)
    assert incident["status"] == "resolved"
    assert incident["auto_resolved"] is True
    assert incident["resolved_by"] == "cloudwatch"
    _, timeline = pipeline.api("GET", f"/incidents/{incident['reference']}/timeline")
    resolved = [e for e in timeline["items"] if e["kind"] == "resolved"]
    assert resolved and "automatically" in resolved[0]["message"]

    # And the same alarm firing again (after its recovery) inside the confirmation window reopens the same incident
    pipeline.invoke(
        "intake", fired_at(another_copy(load_event("sqs/intake-alarm.json")), "2026-11-22T06:40:05.311+0000")
    )
    [reopened] = incidents(pipeline)
    assert (reopened["reference"], reopened["status"], reopened["reopened_count"]) == ("INC-1", "triggered", 1)


def fired_at(event: dict[str, Any], state_change_time: str) -> dict[str, Any]:
    """The notification with CloudWatch's StateChangeTime for its change (firebell orders notifications by it)."""
    for record in event["Records"]:
        body = json.loads(record["body"])
        message = json.loads(body["Message"])
        message["StateChangeTime"] = state_change_time
        body["Message"] = json.dumps(message)
        record["body"] = json.dumps(body)
    return event


def test_a_late_recovery_older_than_the_firing_does_not_resolve_it(pipeline: Pipeline) -> None:
    # Given an open incident for the alarm that fired at 06:03
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))

    # When its OK of 05:50, from before it fired, arrives now (SNS and SQS keep no order)
    pipeline.invoke("intake", fired_at(load_event("sqs/intake-ok.json"), "2026-11-22T05:50:00.000+0000"))

    # Then the incident stays triggered, and its timeline says the OK was ignored and why
    [incident] = incidents(pipeline)
    assert incident["status"] == "triggered"
    _, timeline = pipeline.api("GET", f"/incidents/{incident['reference']}/timeline")
    (line,) = [e["message"] for e in timeline["items"] if e["kind"] == "alarm_state"]
    assert "recovery at 2026-11-22 05:50:00 UTC arrived after it fired at 2026-11-22 06:03:05 UTC" in line


def test_insufficient_data_is_recorded_without_paging(pipeline: Pipeline) -> None:
    # Given an open incident for the alarm, its level 1 paged when it opened
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))
    assert pipeline.queued("classify", wait_seconds=15, expect=1)[
        "Records"
    ]  # consume the opening event (SNS delivers it a moment later)
    paged = pipeline.outbox()
    [incident] = incidents(pipeline)
    level_one = pipeline.queued_about("notify", incident["incident_id"])  # the escalation's level-1 request, taken off

    # When the alarm goes to INSUFFICIENT_DATA (through the real topic → queue path)
    pipeline.publish_alarm("cloudwatch/alarm-state-insufficient-data.json")
    pipeline.deliver("intake", "intake")

    # Then the timeline records it, the incident stays triggered, and nobody is told anything
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    assert any(e["kind"] == "alarm_state" and "INSUFFICIENT_DATA" in e["message"] for e in timeline["items"])
    [incident] = incidents(pipeline)
    assert incident["status"] == "triggered"
    assert pipeline.outbox() == paged
    assert pipeline.queued_about("classify", incident["incident_id"]) == []
    # (only what the opening's own timers send: the escalation's level-1 request, handing over its token, and the
    # stakeholder-update duty's first reminder)
    queued = level_one + pipeline.queued_about("notify", incident["incident_id"])
    assert {json.loads(r["body"])["type"] for r in queued} <= {"escalation.page", "reminder.due"}


def test_metric_math_alarm_takes_its_namespace_from_the_metrics(pipeline: Pipeline) -> None:
    # Given a metric-math alarm published to the alarms topic
    pipeline.publish_alarm("cloudwatch/alarm-metric-math.json")

    # When intake handles what arrives on its queue
    assert pipeline.deliver("intake", "intake") == {"batchItemFailures": []}

    # Then the incident carries the namespace of the math's metrics
    [incident] = incidents(pipeline)
    assert incident["alarm"]["namespace"] == "AWS/ApiGateway"


def test_a_poison_message_goes_to_the_dlq_with_its_reason_and_the_batch_carries_on(pipeline: Pipeline) -> None:
    # Given a batch of one good alarm, one body that is not JSON and one alarm missing its fields
    event = load_event("sqs/intake-batch-with-poison.json")
    for record in event["Records"]:
        record["eventSourceARN"] = pipeline.resources[("queue_arn", "intake")]

    # When intake handles the batch
    response = pipeline.invoke("intake", event)

    # Then no record is left to retry: the good one opened an incident, the two bad ones are dead letters
    assert response == {"batchItemFailures": []}
    assert len(incidents(pipeline)) == 1
    dead = pipeline.dead_letters()["intake-dlq"]
    assert len(dead) == 2
    reasons = sorted(d["reason"] for d in dead)
    assert any("Invalid JSON" in r for r in reasons)
    # (the SNS envelope and the alarm in it are validated together: the field's path starts at the envelope)
    assert any(
        r.startswith("ValidationError (SnsAlarmEnvelope): ") and "Message.AWSAccountId: Field required" in r
        for r in reasons
    )


def test_a_transient_failure_is_retried_not_dropped(pipeline: Pipeline, monkeypatch) -> None:
    # Given DynamoDB failing for a moment
    from firebell.data import store

    def throttled(self, change):
        raise RuntimeError("ProvisionedThroughputExceededException")

    monkeypatch.setattr(store.DynamoIncidentStore, "commit", throttled)
    event = load_event("sqs/intake-alarm.json")
    event["Records"][0]["eventSourceARN"] = pipeline.resources[("queue_arn", "intake")]

    # When intake handles the alarm on its first attempt
    response = pipeline.invoke("intake", event)

    # Then the record is reported as failed, so SQS delivers it again, and nothing is dead-lettered yet
    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert pipeline.dead_letters()["intake-dlq"] == []

    # And on its last allowed attempt it goes to the DLQ with the reason
    event["Records"][0]["attributes"]["ApproximateReceiveCount"] = str(TOPOLOGY.queue("intake").max_receive_count)
    assert pipeline.invoke("intake", event) == {"batchItemFailures": []}
    [dead] = pipeline.dead_letters()["intake-dlq"]
    assert "ProvisionedThroughputExceededException" in dead["reason"]


@pytest.mark.parametrize("time_scale", [0.002])  # renotify_after_silence_minutes 60 → 7.2 s
def test_an_acknowledged_incidents_alarm_back_after_a_long_silence_pages_again(pipeline: Pipeline) -> None:
    """Alertmanager #3959, through the real topic → queue path: an alarm without an OK action fires, is acknowledged,
    repeats at once (counted only), then comes back after the silence rules.yaml names: the incident is re-triggered
    and its level 1 is paged again."""
    pipeline.publish_alarm("cloudwatch/alarm-state-alarm.json")
    assert pipeline.deliver("intake", "intake", wait_seconds=5) == {"batchItemFailures": []}
    assert pipeline.deliver("classify", "classify", wait_seconds=5) == {"batchItemFailures": []}
    status, _ = pipeline.api("POST", "/incidents/INC-1/acknowledge", as_="alice")
    assert status == 200
    pipeline.publish_alarm("cloudwatch/alarm-state-alarm.json")
    last_repeat = time.monotonic()
    assert pipeline.deliver("intake", "intake", wait_seconds=5) == {"batchItemFailures": []}
    _, incident = pipeline.api("GET", "/incidents/INC-1")
    assert (incident["status"], incident["occurrences"], incident["escalation"]["runs"]) == ("acknowledged", 2, 1)

    # When the alarm stays silent past the window (nothing else reaches intake meanwhile), then fires again
    silence = 60 * 60 * 0.002
    while time.monotonic() - last_repeat <= silence:
        assert pipeline.queued("intake", wait_seconds=min(1.0, silence))["Records"] == []
    pipeline.publish_alarm("cloudwatch/alarm-state-alarm.json")
    assert pipeline.deliver("intake", "intake", wait_seconds=5) == {"batchItemFailures": []}

    # Then it is triggered again, a second escalation run starts, and notify pages level 1 of that run
    _, incident = pipeline.api("GET", "/incidents/INC-1")
    assert (incident["status"], incident["occurrences"], incident["escalation"]["runs"]) == ("triggered", 3, 2)
    deadline = time.monotonic() + 30
    while "paged" not in [e["kind"] for e in pipeline.api("GET", "/incidents/INC-1/timeline")[1]["items"]]:
        assert time.monotonic() < deadline, "level 1 was not paged again"
        event = pipeline.queued("notify", wait_seconds=0.5)
        if event["Records"]:
            assert pipeline.invoke("notify", event) == {"batchItemFailures": []}
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    [back] = [e for e in timeline["items"] if e["kind"] == "retriggered"]
    assert "of silence while acknowledged by alice: paging again" in back["message"]
    assert pipeline.outbox()
