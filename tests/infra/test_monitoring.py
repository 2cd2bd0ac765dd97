"""The pager watches itself, in the synthesized template (infra/cdk/monitoring.py): an alarm for every DLQ,
function and state machine, SMS and email delivery, and the heartbeat; all on the ops topic, whose subscribers
are config/firebell.yaml's ops section and which feeds nothing in firebell's own pipeline."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from firebell import heartbeat
from firebell.config import load_config
from functions.intake.app import alarm_details
from infra.monitoring import checks, stopped_on_purpose
from infra.topology import CONFIG_DIR, TOPOLOGY
from tests.infra.test_template import of_type, ref

if TYPE_CHECKING:
    from conftest import Synthesized

Resources = dict[str, dict[str, Any]]
MONITORING = TOPOLOGY.monitoring
assert MONITORING is not None


def alarms(resources: Resources) -> dict[str, dict[str, Any]]:
    """Alarm properties by alarm name."""
    return {
        a["Properties"]["AlarmName"]: a["Properties"] for a in of_type(resources, "AWS::CloudWatch::Alarm").values()
    }


def alarms_on(resources: Resources, metric: str, dimension: str, value: Any) -> list[dict[str, Any]]:
    return [
        a
        for a in alarms(resources).values()
        if a["MetricName"] == metric and {"Name": dimension, "Value": value} in a.get("Dimensions", [])
    ]


def ops_topic(synthesized: Synthesized) -> str:
    return synthesized.logical_id(synthesized.stack.monitoring.ops_topic)


@pytest.mark.parametrize("queue", [q.name for q in TOPOLOGY.queues])
def test_every_dlq_alarms_on_its_first_message(synthesized: Synthesized, resources: Resources, queue: str) -> None:
    dlq = synthesized.stack.queues[TOPOLOGY.dlq_name(queue)]
    (alarm,) = alarms_on(
        resources,
        "ApproximateNumberOfMessagesVisible",
        "QueueName",
        {"Fn::GetAtt": [synthesized.logical_id(dlq), "QueueName"]},
    )
    assert (alarm["Namespace"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "AWS/SQS",
        "GreaterThanThreshold",
        0,
    )
    # A DLQ nobody touches stops reporting while its messages stay: the alarm keeps its state meanwhile
    assert alarm["TreatMissingData"] == "ignore"
    # And ops hear when it is emptied again
    assert alarm["OKActions"] == [ref(ops_topic(synthesized))]


@pytest.mark.parametrize("function", [f.name for f in TOPOLOGY.functions])
@pytest.mark.parametrize("metric", ["Errors", "Throttles"])
def test_every_function_alarms_on_errors_and_throttles(
    synthesized: Synthesized, resources: Resources, function: str, metric: str
) -> None:
    (alarm,) = alarms_on(
        resources, metric, "FunctionName", ref(synthesized.logical_id(synthesized.stack.functions[function]))
    )
    assert (alarm["Namespace"], alarm["Statistic"], alarm["ComparisonOperator"], alarm["Threshold"]) == (
        "AWS/Lambda",
        "Sum",
        "GreaterThanOrEqualToThreshold",
        1,
    )
    assert alarm["TreatMissingData"] == "notBreaching"  # no invocations, no errors


@pytest.mark.parametrize("machine", [m.name for m in TOPOLOGY.state_machines])
def test_every_state_machine_alarms_on_failed_timed_out_and_aborted_executions(
    synthesized: Synthesized, resources: Resources, machine: str
) -> None:
    arn = ref(synthesized.logical_id(synthesized.stack.state_machines[machine]))
    watched = {
        a["MetricName"]
        for a in alarms(resources).values()
        if {"Name": "StateMachineArn", "Value": arn} in a.get("Dimensions", [])
    }
    # ABORTED is normal operation for a machine the pipeline stops on purpose (SLA clocks on hold or resolution,
    # escalation runs on resolution or when a new run supersedes them, reminders of a duty done)
    expected = {"ExecutionsFailed", "ExecutionsTimedOut"} | (
        set() if machine in stopped_on_purpose(TOPOLOGY) else {"ExecutionsAborted"}
    )
    assert watched == expected


def test_only_sla_clocks_escalation_runs_and_reminders_are_stopped_on_purpose() -> None:
    # (a new escalation run stops the one before it; resolving stops the run for certain, and the stakeholder-update
    # reminders; a completed review stops its reminders)
    assert stopped_on_purpose(TOPOLOGY) == {"sla", "escalation", "reminder"}


def test_sms_and_email_delivery_failures_alarm(resources: Resources) -> None:
    by_metric = {(a["Namespace"], a["MetricName"]): a for a in alarms(resources).values()}
    sms = by_metric[("AWS/SNS", "NumberOfNotificationsFailed")]
    assert sms["Dimensions"] == [{"Name": "PhoneNumber", "Value": "PhoneNumberDirect"}]  # SMS sent straight to numbers
    bounces = by_metric[("AWS/SES", "Bounce")]
    rate = by_metric[("AWS/SES", "Reputation.BounceRate")]
    assert (sms["Threshold"], bounces["Threshold"]) == (1, 1)
    assert rate["Threshold"] == MONITORING.max_bounce_rate and rate["ComparisonOperator"] == "GreaterThanThreshold"


def test_heartbeat_alarm_fires_when_heartbeats_stop(resources: Resources) -> None:
    (alarm,) = [a for a in alarms(resources).values() if a["MetricName"] == heartbeat.HEARTBEAT_METRIC]
    spec = MONITORING.heartbeat
    assert (alarm["Namespace"], alarm["Dimensions"]) == ("firebell", [{"Name": "service", "Value": "intake"}])
    assert (alarm["Statistic"], alarm["Period"]) == ("Sum", spec.every_minutes * 60)
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert alarm["EvaluationPeriods"] == alarm["DatapointsToAlarm"] == spec.missing_periods
    # No heartbeat counted at all is the failure itself
    assert alarm["TreatMissingData"] == "breaching"


def _rendered_input(template: Any) -> dict[str, Any]:
    """The rule target's input template as EventBridge fills it, with sample values for the references."""
    values = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "210987654321"}
    separator, parts = template["Fn::Join"]
    text = separator.join(part if isinstance(part, str) else values[part["Ref"]] for part in parts)
    return json.loads(text.replace("<time>", json.dumps("2026-12-01T10:05:00Z")))


def test_heartbeat_schedule_puts_the_heartbeat_alarm_on_the_intake_queue(synthesized: Synthesized) -> None:
    rule = synthesized.resource(synthesized.stack.monitoring.heartbeat_rule)["Properties"]
    assert rule["ScheduleExpression"] == f"rate({MONITORING.heartbeat.every_minutes} minutes)"
    (target,) = rule["Targets"]
    stack = synthesized.stack
    assert target["Arn"] == {"Fn::GetAtt": [synthesized.logical_id(stack.queues[MONITORING.heartbeat.queue]), "Arn"]}
    assert target["DeadLetterConfig"]["Arn"] == {
        "Fn::GetAtt": [synthesized.logical_id(stack.queues["intake-dlq"]), "Arn"]
    }
    # And what it delivers is, to intake, the reserved heartbeat alarm from this account and region
    assert target["InputTransformer"]["InputPathsMap"] == {"time": "$.time"}
    message = _rendered_input(target["InputTransformer"]["InputTemplate"])
    alarm, _ = alarm_details(json.dumps(message))
    assert heartbeat.is_heartbeat(alarm)
    assert (alarm.account_id, alarm.region) == ("210987654321", "eu-west-1")


def test_an_alarm_for_every_check_and_every_alarm_notifies_only_ops(
    synthesized: Synthesized, resources: Resources
) -> None:
    rendered = alarms(resources)
    expected = {synthesized.stack.monitoring.alarm_name(c) for c in checks(TOPOLOGY)}
    assert set(rendered) == expected
    ops = ref(ops_topic(synthesized))
    pipeline_topics = [ref(synthesized.logical_id(t)) for t in synthesized.stack.topics.values()]
    for name, alarm in rendered.items():
        # Reserved prefix: intake skips these when the account-wide rule forwards their state changes
        assert name.startswith(heartbeat.OPS_ALARM_PREFIX)
        # Only the ops topic is notified, never the alarms or events topic (firebell's own pipeline)
        assert alarm["AlarmActions"] == [ops], name
        assert all(action == ops for action in alarm.get("OKActions", [])), name
        assert not [a for a in alarm["AlarmActions"] + alarm.get("OKActions", []) if a in pipeline_topics], name
        assert "InsufficientDataActions" not in alarm, name
        assert alarm["TreatMissingData"] in {"breaching", "notBreaching", "ignore"}, f"{name}: chosen deliberately"


def test_ops_topic_subscribers_are_the_config_s_ops_section(synthesized: Synthesized, resources: Resources) -> None:
    ops = load_config(CONFIG_DIR).directory.ops
    subscribed = sorted(
        (s["Properties"]["Protocol"], s["Properties"]["Endpoint"])
        for s in of_type(resources, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == ref(ops_topic(synthesized))
    )
    assert subscribed == sorted([("email", e) for e in ops.emails] + [("sms", p) for p in ops.phones])
    assert subscribed  # the shipped config names someone


def test_ops_topic_is_no_input_of_the_pipeline(synthesized: Synthesized, resources: Resources) -> None:
    # No queue (nor anything else of firebell's) subscribes to the ops topic
    assert not [
        s
        for s in of_type(resources, "AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == ref(ops_topic(synthesized))
        and s["Properties"]["Protocol"] not in {"email", "sms"}
    ]
    # And no function may publish to it
    topic_arn = ref(ops_topic(synthesized))
    for policy in of_type(resources, "AWS::IAM::Policy").values():
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]:
            assert topic_arn not in (
                statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
            )


def test_ops_topic_is_encrypted_and_cloudwatch_may_publish_for_this_account_only(
    synthesized: Synthesized, resources: Resources
) -> None:
    topic = resources[ops_topic(synthesized)]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": [synthesized.logical_id(synthesized.stack.topics_key), "Arn"]}
    (policy,) = [
        p
        for p in of_type(resources, "AWS::SNS::TopicPolicy").values()
        if ref(ops_topic(synthesized)) in p["Properties"]["Topics"]
    ]
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    (allow,) = [s for s in statements if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "cloudwatch.amazonaws.com"} and allow["Action"] == "sns:Publish"
    assert "aws:SourceArn" in allow["Condition"]["ArnLike"]
    assert any(
        s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
    )
