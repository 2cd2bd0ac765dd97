"""EventBridge under moto: CloudWatch "Alarm State Change" events put on the default bus reach intake through the
topology's rule and the intake queue, and open, resolve or dead-letter like the SNS notifications do."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest

from tests.integration.conftest import Pipeline, load_event

SAMPLES = [
    "eventbridge/metric-alarm.json",
    "eventbridge/metric-math-alarm.json",
    "eventbridge/anomaly-detection-alarm.json",
    "eventbridge/composite-alarm.json",
]


def put_event(pipeline: Pipeline, event: dict[str, Any]) -> None:
    """What CloudWatch does: one event on the account's default bus."""
    result = pipeline.client("events").put_events(
        Entries=[
            {
                "Source": event["source"],
                "DetailType": event["detail-type"],
                "Resources": event["resources"],
                "Time": datetime.fromisoformat(event["time"]),
                "Detail": json.dumps(event["detail"]),
            }
        ]
    )
    assert result["FailedEntryCount"] == 0, result


def returned_to_ok(event: dict[str, Any]) -> dict[str, Any]:
    """The same alarm's next state change: back to OK."""
    ok = copy.deepcopy(event)
    ok["detail"]["previousState"] = event["detail"]["state"]
    ok["detail"]["state"] = {
        "value": "OK",
        "reason": "Threshold Crossed: back under the threshold",
        "timestamp": "2026-01-01T00:00:00.000+0000",
    }
    return ok


def incidents(pipeline: Pipeline) -> list[dict]:
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200
    return page["items"]


def test_the_rule_routes_alarm_state_changes_to_the_intake_queue(pipeline: Pipeline) -> None:
    # Given the topology's rule, rendered on the default bus
    events = pipeline.client("events")
    (rule,) = [r for r in events.list_rules()["Rules"] if r["Name"] == "firebell-alarm-state-changes"]
    assert json.loads(rule["EventPattern"]) == {
        "source": ["aws.cloudwatch"],
        "detail-type": ["CloudWatch Alarm State Change"],
    }
    (target,) = events.list_targets_by_rule(Rule=rule["Name"])["Targets"]
    assert target["Arn"] == pipeline.resources[("queue_arn", "intake")]
    assert target["DeadLetterConfig"] == {"Arn": pipeline.resources[("queue_arn", "intake-dlq")]}

    # When CloudWatch puts an alarm state change, and an alarm configuration change
    put_event(pipeline, load_event("eventbridge/metric-alarm.json"))
    configuration_change = load_event("eventbridge/metric-alarm.json") | {
        "detail-type": "CloudWatch Alarm Configuration Change"
    }
    put_event(pipeline, configuration_change)

    # Then only the state change arrives on the intake queue, the event itself as the body
    (record,) = pipeline.queued("intake", wait_seconds=15, expect=2)["Records"]
    body = json.loads(record["body"])
    assert body["detail-type"] == "CloudWatch Alarm State Change"
    assert body["resources"] == ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"]
    assert body["detail"] == load_event("eventbridge/metric-alarm.json")["detail"]


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.split("/")[1].removesuffix(".json"))
def test_an_alarm_state_change_opens_an_incident_and_ok_resolves_it(pipeline: Pipeline, sample: str) -> None:
    # Given a real-format alarm state change (metric, metric-math or composite alarm) whose actions run
    event = load_event(sample)
    event["detail"]["state"].pop("actionsSuppressedBy", None)

    # When it is put on the bus and intake handles what arrives on its queue
    put_event(pipeline, event)
    assert pipeline.deliver("intake", "intake") == {"batchItemFailures": []}

    # Then one incident is open for the alarm, announced to classify
    [incident] = incidents(pipeline)
    assert incident["status"] == "triggered"
    assert incident["source"] == "cloudwatch_alarm"
    assert incident["title"].startswith(event["detail"]["alarmName"])
    assert incident["alarm"]["arn"] == event["resources"][0]
    assert json.loads(pipeline.queued("classify")["Records"][0]["body"])["type"] == "incident.opened"

    # When the same alarm's return to OK comes the same way
    put_event(pipeline, returned_to_ok(event))
    assert pipeline.deliver("intake", "intake") == {"batchItemFailures": []}

    # Then that incident is resolved automatically, and there is still only one
    [resolved] = incidents(pipeline)
    assert (resolved["reference"], resolved["status"], resolved["auto_resolved"]) == (
        incident["reference"],
        "resolved",
        True,
    )
    assert pipeline.dead_letters()["intake-dlq"] == []


def test_a_change_whose_actions_cloudwatch_suppressed_pages_nobody(pipeline: Pipeline) -> None:
    # Given AWS's composite-alarm example, whose actions are suppressed (WaitPeriod): SNS would never see it
    event = load_event("eventbridge/composite-alarm.json")
    assert event["detail"]["state"]["actionsSuppressedBy"] == "WaitPeriod"

    # When it reaches intake through the rule
    put_event(pipeline, event)
    assert pipeline.deliver("intake", "intake") == {"batchItemFailures": []}

    # Then no incident is opened and nothing is announced
    assert incidents(pipeline) == []
    assert pipeline.queued("classify")["Records"] == []


def test_metric_details_come_from_the_event(pipeline: Pipeline) -> None:
    put_event(pipeline, load_event("eventbridge/metric-alarm.json"))
    pipeline.deliver("intake", "intake")
    [incident] = incidents(pipeline)
    assert incident["alarm"]["namespace"] == "AWS/EC2"
    assert incident["alarm"]["dimensions"] == {"InstanceId": "i-12345678901234567"}


def test_the_same_alarm_by_sns_and_by_eventbridge_is_one_incident(pipeline: Pipeline) -> None:
    # Given an alarm with an SNS action whose state change also reaches EventBridge (both paths deliver it)
    event = load_event("eventbridge/metric-alarm.json")
    notification = load_event("cloudwatch/alarm-state-alarm.json") | {
        "AlarmName": event["detail"]["alarmName"],
        "AlarmArn": event["resources"][0],
    }
    pipeline.client("sns").publish(TopicArn=pipeline.resources[("topic", "alarms")], Message=json.dumps(notification))
    put_event(pipeline, event)

    # When intake handles both messages in one batch
    assert pipeline.deliver("intake", "intake", wait_seconds=15, expect=2) == {"batchItemFailures": []}

    # Then the alarm's ARN deduplicates them: one incident, seen twice
    [incident] = incidents(pipeline)
    assert incident["occurrences"] == 2


def test_a_malformed_event_goes_to_the_dlq_with_its_reason(pipeline: Pipeline) -> None:
    # Given a state change without a state, and a good one, both matching the rule
    broken = load_event("eventbridge/composite-alarm.json")
    del broken["detail"]["state"]
    put_event(pipeline, broken)
    put_event(pipeline, load_event("eventbridge/metric-alarm.json"))

    # When intake handles the batch
    assert pipeline.deliver("intake", "intake", wait_seconds=15, expect=2) == {"batchItemFailures": []}

    # Then the good one opened an incident and the broken one is a dead letter that says what is wrong
    assert len(incidents(pipeline)) == 1
    (dead,) = pipeline.dead_letters()["intake-dlq"]
    assert "CloudWatchAlarmStateChange" in dead["reason"] and "detail.state: Field required" in dead["reason"]
    assert json.loads(dead["body"])["detail"]["alarmName"] == "ServiceAggregatedAlarm"


def test_an_event_without_resources_is_named_by_its_account_and_region(pipeline: Pipeline) -> None:
    # Given AWS's metric-alarm example put on the bus without its resources (as replays and hand-made events come)
    event = load_event("eventbridge/metric-alarm.json") | {"resources": []}

    # When it reaches intake, and then its return to OK
    put_event(pipeline, event)
    assert pipeline.deliver("intake", "intake") == {"batchItemFailures": []}
    [incident] = incidents(pipeline)
    put_event(pipeline, returned_to_ok(event))
    assert pipeline.deliver("intake", "intake") == {"batchItemFailures": []}

    # Then the incident's alarm ARN is built from the event's account, region and alarm name, and the OK resolved it
    body_arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"
    assert incident["alarm"]["arn"] == body_arn
    [resolved] = incidents(pipeline)
    assert (resolved["reference"], resolved["status"]) == (incident["reference"], "resolved")
    assert pipeline.dead_letters()["intake-dlq"] == []
