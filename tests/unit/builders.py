"""Realistic payloads: CloudWatch alarm notifications exactly as CloudWatch publishes them to SNS, SQS events
as Lambda receives them, and the messages the state machines send."""

from __future__ import annotations

import copy
import hashlib
import json
import uuid
from typing import Any

from firebell.domain.alarms import CloudWatchAlarmNotification
from firebell.domain.models import AlarmDetails
from firebell.domain.workflow_messages import (
    EscalationExhausted,
    PageRequest,
    ReminderDue,
    ResolutionConfirming,
    SlaWakeUp,
    WatchRequest,
)

ACCOUNT = "123456789012"
ALARM_ARN = f"arn:aws:cloudwatch:us-east-1:{ACCOUNT}:alarm:checkout-5xx-high"

# The `Message` of the SNS notification CloudWatch sends for a metric alarm (field order as AWS sends it).
CLOUDWATCH_ALARM: dict[str, Any] = {
    "AlarmName": "checkout-5xx-high",
    "AlarmDescription": "Checkout load balancer returns 5xx to more than 5 requests a minute",
    "AWSAccountId": ACCOUNT,
    "AlarmConfigurationUpdatedTimestamp": "2024-04-30T16:22:05.912+0000",
    "NewStateValue": "ALARM",
    "NewStateReason": (
        "Threshold Crossed: 1 out of the last 1 datapoints [12.0 (01/05/24 09:59:00)] was greater than or equal "
        "to the threshold (5.0) (minimum 1 datapoint for OK -> ALARM transition)."
    ),
    "StateChangeTime": "2024-05-01T10:00:12.345+0000",
    "Region": "US East (N. Virginia)",
    "AlarmArn": ALARM_ARN,
    "OldStateValue": "OK",
    "OKActions": [f"arn:aws:sns:us-east-1:{ACCOUNT}:firebell-alarms"],
    "AlarmActions": [f"arn:aws:sns:us-east-1:{ACCOUNT}:firebell-alarms"],
    "InsufficientDataActions": [],
    "Trigger": {
        "MetricName": "HTTPCode_Target_5XX_Count",
        "Namespace": "AWS/ApplicationELB",
        "StatisticType": "Statistic",
        "Statistic": "SUM",
        "Unit": None,
        "Dimensions": [
            {"value": "app/checkout-alb/50dc6c495c0c9188", "name": "LoadBalancer"},
            {"value": "targetgroup/checkout/73e2d6bc24d8a067", "name": "TargetGroup"},
        ],
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "Threshold": 5.0,
        "TreatMissingData": "missing",
        "EvaluateLowSampleCountPercentile": "",
    },
}

# A metric-math alarm: no MetricName/Namespace on the trigger, the metrics are listed instead.
CLOUDWATCH_MATH_ALARM: dict[str, Any] = {
    **{k: v for k, v in CLOUDWATCH_ALARM.items() if k != "Trigger"},
    "AlarmName": "orders-error-rate",
    "AlarmArn": f"arn:aws:cloudwatch:eu-west-1:{ACCOUNT}:alarm:orders-error-rate",
    "Region": "EU (Ireland)",
    "NewStateReason": "Threshold Crossed: 1 datapoint [7.5 (01/05/24 09:59:00)] was greater than the threshold (5.0).",
    "Trigger": {
        "Period": 60,
        "EvaluationPeriods": 1,
        "DatapointsToAlarm": 1,
        "ComparisonOperator": "GreaterThanThreshold",
        "Threshold": 5.0,
        "TreatMissingData": "notBreaching",
        "EvaluateLowSampleCountPercentile": "",
        "Metrics": [
            {"Expression": "100 * errors / invocations", "Id": "e1", "Label": "error rate", "ReturnData": True},
            {
                "Id": "errors",
                "MetricStat": {
                    "Metric": {
                        "Dimensions": [{"value": "orders-api", "name": "FunctionName"}],
                        "MetricName": "Errors",
                        "Namespace": "AWS/Lambda",
                    },
                    "Period": 60,
                    "Stat": "Sum",
                    "Unit": "Count",
                },
                "ReturnData": False,
            },
            {
                "Id": "invocations",
                "MetricStat": {
                    "Metric": {
                        "Dimensions": [{"value": "orders-api", "name": "FunctionName"}],
                        "MetricName": "Invocations",
                        "Namespace": "AWS/Lambda",
                    },
                    "Period": 60,
                    "Stat": "Sum",
                    "Unit": "Count",
                },
                "ReturnData": False,
            },
        ],
    },
}


def cloudwatch_message(base: dict[str, Any] = CLOUDWATCH_ALARM, **changes: Any) -> dict[str, Any]:
    """A copy of a CloudWatch alarm message with some top-level fields changed."""
    message = copy.deepcopy(base)
    message.update(changes)
    return message


def alarm(state: str = "ALARM", base: dict[str, Any] = CLOUDWATCH_ALARM, **changes: Any) -> AlarmDetails:
    """AlarmDetails as intake produces them from a CloudWatch notification."""
    message = cloudwatch_message(base, NewStateValue=state, **changes)
    if state == "OK":
        message["OldStateValue"] = changes.get("OldStateValue", "ALARM")
        message["NewStateReason"] = changes.get(
            "NewStateReason",
            "Threshold Crossed: 1 out of the last 1 datapoints [0.0 (01/05/24 10:14:00)] was not greater than or "
            "equal to the threshold (5.0) (minimum 1 datapoint for ALARM -> OK transition).",
        )
    return CloudWatchAlarmNotification.model_validate_json(json.dumps(message)).details()


def sqs_record(body: str, receive_count: int = 1, queue: str = "firebell-intake", region: str = "us-east-1") -> dict:
    """One record of an SQS event as Lambda's event source mapping delivers it."""
    return {
        "messageId": str(uuid.uuid4()),
        "receiptHandle": "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a" + uuid.uuid4().hex,
        "body": body,
        "attributes": {
            "ApproximateReceiveCount": str(receive_count),
            "SentTimestamp": "1714557612345",
            "SenderId": "AIDAIENQZJOLO23YVJ4VO",
            "ApproximateFirstReceiveTimestamp": "1714557612350",
        },
        "messageAttributes": {
            "type": {
                "stringValue": "incident.opened",
                "stringListValues": [],
                "binaryListValues": [],
                "dataType": "String",
            }
        },
        "md5OfBody": hashlib.md5(body.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{region}:{ACCOUNT}:{queue}",
        "awsRegion": region,
    }


def sqs_event(*records: dict) -> dict:
    return {"Records": list(records)}


class LambdaContextStub:
    """Just enough of a Lambda context for powertools' batch processor."""

    function_name = "firebell-intake"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:firebell-intake"
    memory_limit_in_mb = 512
    aws_request_id = "6f1b9c4e-0f5e-4a55-9f7e-2b1d1c1e7a10"
    log_group_name = "/aws/lambda/firebell-intake"
    log_stream_name = "2024/05/01/[$LATEST]abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


# --- messages the state machines send to notify/classify (infra/statemachines/*.asl.json) ----------

PAGE_TIMEOUTS = {1: 300, 2: 600}


def _plan_target(target: str | tuple[str, str]) -> dict[str, str]:
    kind, ref = target if isinstance(target, tuple) else ("person", target)
    return {"kind": kind, "ref": ref}


def page_request(
    incident_id: str,
    level: int,
    targets: list[str | tuple[str, str]],
    token: str,
    round: int = 1,
    retrigger: bool = False,
) -> PageRequest:
    """escalation.page for one level; a target is a person id or (kind, ref), e.g. ("schedule", "platform-primary")."""
    return PageRequest.model_validate(
        {
            "type": "escalation.page",
            "incident_id": incident_id,
            "level": {
                "level": level,
                "targets": [_plan_target(t) for t in targets],
                "timeout_seconds": PAGE_TIMEOUTS.get(level, 60),
            },
            "round": round,
            "retrigger": retrigger,
            "task_token": token,
        }
    )


def watch_request(incident_id: str, token: str) -> WatchRequest:
    return WatchRequest(type="escalation.watch", incident_id=incident_id, task_token=token)


def exhausted(incident_id: str, managers: list[str] | None = None) -> EscalationExhausted:
    return EscalationExhausted(
        type="escalation.exhausted", incident_id=incident_id, incident_managers=managers or ["carol"]
    )


def sla_wake(incident_id: str, kind: str, clock: str, generation: int = 0) -> SlaWakeUp:
    """kind: "at_risk" or "breached"."""
    return SlaWakeUp(type=f"sla.{kind}", incident_id=incident_id, clock=clock, generation=generation)


def reminder(incident_id: str, duty: str, round: int, token: str, max_rounds: int | None = None) -> ReminderDue:
    return ReminderDue(
        type="reminder.due", incident_id=incident_id, duty=duty, round=round, task_token=token, max_rounds=max_rounds
    )


def confirming(incident_id: str, token: str) -> ResolutionConfirming:
    return ResolutionConfirming(type="resolution.confirming", incident_id=incident_id, task_token=token)
