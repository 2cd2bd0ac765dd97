"""CloudWatch "Alarm State Change" events, in the exact format CloudWatch sends to EventBridge (and the rule's SQS
target delivers to intake): metric, metric-math and composite alarms become the same AlarmDetails as the SNS
notifications do."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from firebell.batch import describe
from firebell.domain.alarms import (
    ALARM_STATE_CHANGE_PATTERN,
    CloudWatchAlarmNotification,
    CloudWatchAlarmStateChange,
)
from firebell.domain.enums import AlarmState
from firebell.domain.errors import field_path
from functions.intake.app import alarm_details

from .conftest import ROOT

EVENTS = ROOT / "events"
SAMPLES = sorted((EVENTS / "eventbridge").glob("*.json"))


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / "eventbridge" / name).read_text())


def parse(event: dict[str, Any]) -> CloudWatchAlarmStateChange:
    # The SQS message body is the event, as JSON.
    return CloudWatchAlarmStateChange.model_validate_json(json.dumps(event))


def problems(error: pytest.ExceptionInfo[ValidationError]) -> dict[str, str]:
    return {field_path(e["loc"]): e["type"] for e in error.value.errors()}


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.stem)
def test_every_shipped_sample_parses_and_matches_the_rule_s_pattern(path) -> None:
    # Given a sample copied from AWS's documentation
    event = json.loads(path.read_text())
    # Then it is what the rule forwards, and it parses into an ALARM with the alarm's ARN
    assert event["source"] in ALARM_STATE_CHANGE_PATTERN["source"]
    assert event["detail-type"] in ALARM_STATE_CHANGE_PATTERN["detail-type"]
    details = parse(event).details()
    assert details.state is AlarmState.ALARM
    assert details.arn == event["resources"][0]
    assert details.changed_at is not None and details.changed_at.tzinfo is not None


def test_metric_alarm_names_its_metric_namespace_and_dimensions() -> None:
    # Given a single-metric alarm's state change
    details = parse(sample("metric-alarm.json")).details()
    # Then every detail intake needs comes from the event
    assert details.name == "ServerCpuTooHigh"
    assert details.arn == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServerCpuTooHigh"
    assert details.state is AlarmState.ALARM
    assert details.reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints [99.50160229693434")
    assert details.description == "Goes into alarm when server CPU utilization is too high!"
    assert (details.namespace, details.metric) == ("AWS/EC2", "CPUUtilization")
    assert details.dimensions == {"InstanceId": "i-12345678901234567"}
    assert (details.region, details.account_id) == ("us-east-1", "123456789012")
    # The state's own timestamp ("+0000", no colon), not the event's (which has no milliseconds)
    assert details.changed_at == datetime(2019, 10, 2, 17, 4, 40, 989000, tzinfo=UTC)


def test_metric_math_alarm_takes_its_namespace_from_its_first_metric() -> None:
    # Given a metric-math alarm (an expression over two metrics)
    details = parse(sample("metric-math-alarm.json")).details()
    # Then, as for the SNS notification of a metric-math alarm, only the namespace is known
    assert details.name == "TotalNetworkTrafficTooHigh"
    assert details.namespace == "AWS/EC2"
    assert details.metric is None
    assert details.dimensions == {}
    assert details.description == "Goes into alarm if total network traffic exceeds 10Kb"


def test_composite_alarm_has_its_rule_and_no_metrics() -> None:
    # Given a composite alarm's state change (an alarm rule over other alarms, no metrics, no description)
    event = parse(sample("composite-alarm.json"))
    details = event.details()
    # Then it is an alarm like any other, with its reason and without metric details
    assert event.detail.configuration.alarmRule == "ALARM(ServerCpuTooHigh) OR ALARM(TotalNetworkTrafficTooHigh)"
    assert details.name == "ServiceAggregatedAlarm"
    assert details.arn == "arn:aws:cloudwatch:us-east-1:123456789012:alarm:ServiceAggregatedAlarm"
    assert details.reason.startswith("arn:aws:cloudwatch:us-east-1:123456789012:alarm:SuppressionDemo")
    assert (details.namespace, details.metric, details.dimensions, details.description) == (None, None, {}, None)
    assert event.detail.state.actionsSuppressedBy == "WaitPeriod"


def test_anomaly_detection_alarm_is_a_math_alarm() -> None:
    # Given an anomaly-detection alarm (a metric and the band expression, both returning data)
    event = sample("metric-alarm.json")
    event["detail"]["configuration"]["metrics"].append(
        {
            "id": "ad1",
            "expression": "ANOMALY_DETECTION_BAND(m1, 0.8)",
            "label": "CPUUtilization (expected)",
            "returnData": True,
        }
    )
    details = parse(event).details()
    # Then its namespace is known, its single metric is not claimed
    assert (details.namespace, details.metric, details.dimensions) == ("AWS/EC2", None, {})


def test_ok_and_insufficient_data_states() -> None:
    for value in ("OK", "INSUFFICIENT_DATA"):
        event = sample("metric-alarm.json")
        event["detail"]["state"]["value"] = value
        assert parse(event).details().state is AlarmState(value)


def test_fields_cloudwatch_adds_later_are_ignored() -> None:
    # Given fields this parser does not know (tags propagation, mute rules, ...)
    event = sample("metric-alarm.json")
    event["detail"]["alarmTags"] = {"team": "platform"}
    event["detail"]["muteDetail"] = {"mutedByArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm-mute-rule:x"}
    event["detail"]["state"]["evaluationState"] = "PARTIAL_DATA"
    # Then it still parses into the same details
    assert parse(event).details() == parse(sample("metric-alarm.json")).details()


def test_without_a_state_timestamp_the_event_time_is_used() -> None:
    event = sample("composite-alarm.json")
    del event["detail"]["state"]["timestamp"]
    assert parse(event).details().changed_at == datetime(2022, 7, 22, 15, 57, 45, tzinfo=UTC)


@pytest.mark.parametrize(
    ("change", "field", "error_type"),
    [
        (lambda e: e["detail"].pop("state"), "detail.state", "missing"),
        (lambda e: e["detail"]["state"].update(value="BROKEN"), "detail.state.value", "enum"),
        (lambda e: e["detail"].pop("alarmName"), "detail.alarmName", "missing"),
        (lambda e: e.update({"detail-type": "CloudWatch Alarm Configuration Change"}), "detail-type", "literal_error"),
        (lambda e: e.update(source="my.app"), "source", "literal_error"),
        (
            lambda e: e.update(resources=["arn:aws:sns:us-east-1:123456789012:topic"]),
            "resources[0]",
            "string_pattern_mismatch",
        ),
        (lambda e: e["detail"]["state"].update(reason="x" * 4097), "detail.state.reason", "string_too_long"),
    ],
    ids=[
        "no-state",
        "unknown-state",
        "no-name",
        "configuration-change",
        "other-source",
        "not-an-alarm-arn",
        "long-reason",
    ],
)
def test_a_malformed_event_is_refused_naming_the_field(change, field: str, error_type: str) -> None:
    # Given a metric alarm event with one thing wrong
    event = copy.deepcopy(sample("metric-alarm.json"))
    change(event)
    # When parsed, then the error names the field (what the DLQ's reason will say)
    with pytest.raises(ValidationError) as error:
        parse(event)
    assert problems(error).get(field) == error_type, problems(error)
    assert field in describe(error.value) and "CloudWatchAlarmStateChange" in describe(error.value)


# --- intake: both shapes on one queue ------------------------------------------------------------------------


def sns_body(notification: dict[str, Any]) -> str:
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
            "TopicArn": "arn:aws:sns:us-east-1:123456789012:firebell-alarms",
            "Subject": "ALARM",
            "Message": json.dumps(notification),
            "Timestamp": "2026-11-22T06:03:05.356Z",
            "SignatureVersion": "1",
            "Signature": "EXAMPLE",
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/cert.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
        }
    )


def test_intake_tells_an_eventbridge_event_from_an_sns_notification() -> None:
    # Given the same kind of alarm arriving both ways
    notification = json.loads((EVENTS / "cloudwatch" / "alarm-metric-math.json").read_text())
    from_sns, sns_message = alarm_details(sns_body(notification))
    from_eventbridge, event_id = alarm_details(json.dumps(sample("metric-math-alarm.json")))
    # Then each is parsed with its own model into the same kind of details
    assert from_sns == CloudWatchAlarmNotification.model_validate(notification).details()
    assert from_eventbridge == parse(sample("metric-math-alarm.json")).details()
    assert from_sns.namespace == "AWS/ApiGateway" and from_eventbridge.namespace == "AWS/EC2"
    # And each carries the id its redeliveries share (so a redelivery is not counted again)
    assert sns_message.startswith("sns:") and event_id == f"events:{sample('metric-math-alarm.json')['id']}"


def test_intake_refuses_what_is_neither() -> None:
    # Not JSON, not an object, an SNS envelope without its message, an event missing its detail
    for body, expected in [
        ("not json", "Invalid JSON"),
        ("[1, 2]", "IntakeMessage"),
        (json.dumps({"Type": "Notification"}), "Message: Field required"),
        (
            json.dumps({"detail-type": "CloudWatch Alarm State Change", "source": "aws.cloudwatch"}),
            "detail: Field required",
        ),
    ]:
        with pytest.raises(ValidationError) as error:
            alarm_details(body)
        assert expected in describe(error.value), describe(error.value)
