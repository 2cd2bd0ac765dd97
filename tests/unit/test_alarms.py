"""CloudWatch alarm notifications, in the exact format CloudWatch publishes to SNS."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from firebell.domain.alarms import CloudWatchAlarmNotification
from firebell.domain.enums import AlarmState

from .builders import ALARM_ARN, CLOUDWATCH_ALARM, CLOUDWATCH_MATH_ALARM, cloudwatch_message
from .conftest import ROOT

SHIPPED_EVENTS = sorted((ROOT / "events" / "cloudwatch").glob("*.json"))


def parse(message: dict) -> CloudWatchAlarmNotification:
    # Intake receives the message as the JSON string inside the SNS envelope.
    return CloudWatchAlarmNotification.model_validate_json(json.dumps(message))


def test_metric_alarm_parses_into_details():
    """Given a real-format CloudWatch ALARM notification, when parsed, then every detail intake needs is there."""
    details = parse(CLOUDWATCH_ALARM).details()

    assert details.name == "checkout-5xx-high"
    assert details.arn == ALARM_ARN
    assert details.state is AlarmState.ALARM
    assert details.reason.startswith("Threshold Crossed: 1 out of the last 1 datapoints")
    assert details.namespace == "AWS/ApplicationELB"
    assert details.metric == "HTTPCode_Target_5XX_Count"
    assert details.dimensions == {
        "LoadBalancer": "app/checkout-alb/50dc6c495c0c9188",
        "TargetGroup": "targetgroup/checkout/73e2d6bc24d8a067",
    }
    assert details.account_id == "123456789012"
    assert details.description == "Checkout load balancer returns 5xx to more than 5 requests a minute"
    # CloudWatch writes "+0000" (no colon): it must still be an aware UTC time.
    assert details.changed_at == datetime(2024, 5, 1, 10, 0, 12, 345000, tzinfo=UTC)


def test_region_comes_from_the_arn_not_the_display_name():
    """Given Region "US East (N. Virginia)", then the region is us-east-1, taken from the alarm ARN."""
    assert CLOUDWATCH_ALARM["Region"] == "US East (N. Virginia)"
    assert parse(CLOUDWATCH_ALARM).details().region == "us-east-1"
    assert parse(CLOUDWATCH_MATH_ALARM).details().region == "eu-west-1"


def test_old_state_and_description_are_kept():
    """Given OldStateValue and AlarmDescription, then they are parsed (OldStateValue as an AlarmState)."""
    notification = parse(CLOUDWATCH_ALARM)
    assert notification.OldStateValue is AlarmState.OK
    assert notification.AlarmDescription.startswith("Checkout load balancer")


@pytest.mark.skipif(not SHIPPED_EVENTS, reason="no sample events in events/cloudwatch yet")
@pytest.mark.parametrize("path", SHIPPED_EVENTS, ids=lambda p: p.stem)
def test_shipped_sample_events_parse(path):
    """Given each sample CloudWatch message in events/cloudwatch, then it parses with a region from its ARN."""
    message = json.loads(path.read_text(encoding="utf-8"))
    details = parse(message).details()
    assert details.state is AlarmState(message["NewStateValue"])
    assert details.region == message["AlarmArn"].split(":")[3]
    assert details.namespace is not None  # plain and metric-math alarms alike
    assert details.changed_at.utcoffset() is not None


def test_metric_math_alarm_gets_the_namespace_of_its_metrics():
    """Given a metric-math alarm (Trigger.Metrics with MetricStat), then the namespace comes from its MetricStat."""
    details = parse(CLOUDWATCH_MATH_ALARM).details()
    assert details.namespace == "AWS/Lambda"
    assert details.metric is None
    assert details.dimensions == {}


def test_metric_math_alarm_with_only_expressions_has_no_namespace():
    """Given a metric-math alarm whose metrics are all expressions, then there is no namespace (and no crash)."""
    message = cloudwatch_message(CLOUDWATCH_MATH_ALARM)
    message["Trigger"]["Metrics"] = [{"Expression": "SEARCH('{AWS/EC2} CPUUtilization', 'Average')", "Id": "e1"}]
    assert parse(message).details().namespace is None


@pytest.mark.parametrize("state", ["ALARM", "OK", "INSUFFICIENT_DATA"])
def test_every_state_is_understood(state):
    """Given each CloudWatch state, then it parses into the matching AlarmState."""
    assert parse(cloudwatch_message(NewStateValue=state)).details().state is AlarmState(state)


def test_unknown_fields_are_ignored():
    """Given fields CloudWatch may add in future, then the alarm still parses (no dead letter for novelty)."""
    message = cloudwatch_message(NewField={"x": 1})
    message["Trigger"]["NewTriggerField"] = "y"
    assert parse(message).details().name == "checkout-5xx-high"


def test_alarm_without_trigger_parses():
    """Given a composite-style alarm without Trigger, then details have no namespace, metric or dimensions."""
    message = {k: v for k, v in CLOUDWATCH_ALARM.items() if k != "Trigger"}
    details = parse(message).details()
    assert (details.namespace, details.metric, details.dimensions) == (None, None, {})


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sns:us-east-1:123456789012:firebell-alarms",  # not an alarm
        "arn:aws:cloudwatch:us-east-1:1234:alarm:short-account",
        "arn:aws:cloudwatch:us-east-1:123456789012:alarm:",  # no name
        "checkout-5xx-high",
        "",
    ],
)
def test_bad_arn_is_rejected(arn):
    """Given an AlarmArn that is not a CloudWatch alarm ARN, then parsing fails on AlarmArn."""
    with pytest.raises(ValidationError) as caught:
        parse(cloudwatch_message(AlarmArn=arn))
    assert [e["loc"] for e in caught.value.errors()] == [("AlarmArn",)]


def test_other_partitions_are_accepted():
    """Given a GovCloud or China alarm ARN, then it parses and the region is taken from it."""
    arn = "arn:aws-us-gov:cloudwatch:us-gov-west-1:123456789012:alarm:checkout-5xx-high"
    assert parse(cloudwatch_message(AlarmArn=arn)).details().region == "us-gov-west-1"


@pytest.mark.parametrize("state", ["ALARMING", "alarm", "", None])
def test_unknown_state_is_rejected(state):
    """Given a NewStateValue CloudWatch never sends, then parsing fails on NewStateValue."""
    with pytest.raises(ValidationError) as caught:
        parse(cloudwatch_message(NewStateValue=state))
    assert [e["loc"] for e in caught.value.errors()] == [("NewStateValue",)]


@pytest.mark.parametrize("missing", ["AlarmName", "AWSAccountId", "NewStateValue", "StateChangeTime"])
def test_required_fields(missing):
    """Given a notification missing a required field, then parsing fails naming it."""
    message = {k: v for k, v in CLOUDWATCH_ALARM.items() if k != missing}
    with pytest.raises(ValidationError) as caught:
        parse(message)
    assert (missing,) in [e["loc"] for e in caught.value.errors()]


def test_malformed_json_is_rejected():
    """Given a truncated message, then it is a ValidationError (a permanent failure for the batch)."""
    with pytest.raises(ValidationError):
        CloudWatchAlarmNotification.model_validate_json(json.dumps(CLOUDWATCH_ALARM)[:-10])
