"""The pager's heartbeat, and the alarms firebell raises about itself, as intake sees them.

Every few minutes a scheduled rule puts a synthetic "CloudWatch Alarm State Change" for the reserved alarm
name HEARTBEAT_ALARM_NAME on the intake queue (infra/cdk/monitoring.py; the local runtime sends the same
message on its own timer). Intake counts it as the `Heartbeat` metric instead of opening an incident; an alarm
that treats missing data as breaching fires on the ops topic when the count stops, i.e. when anything between
the schedule and intake's handler is broken.

The stack's own CloudWatch alarms (named with OPS_ALARM_PREFIX) notify the ops topic directly. The account-wide
alarm-state-changes rule still forwards their state changes to intake, which skips them: firebell must not page
about itself through the pipeline that may be what is broken.

Kept apart from the use cases (service.py) so that intake asks one question before its normal handling.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Protocol

from aws_lambda_powertools.metrics import MetricUnit

from .domain.alarms import ALARM_STATE_CHANGE, CLOUDWATCH_SOURCE
from .domain.models import AlarmDetails

HEARTBEAT_ALARM_NAME = "firebell-heartbeat"
HEARTBEAT_METRIC = "Heartbeat"
OPS_ALARM_PREFIX = "firebell-ops-"
OPS_ALARM_SKIPPED_METRIC = "OpsAlarmSkipped"

# When this process's intake last saw a heartbeat (epoch seconds). Per Lambda container it is harmless; the
# local runtime calls intake in-process and reads it for GET /_local/health.
_last_seen: float | None = None
_seen_count = 0
_lock = threading.Lock()


class MetricSink(Protocol):
    def add_metric(self, name: str, unit: Any, value: float) -> None: ...


def is_heartbeat(alarm: AlarmDetails) -> bool:
    return alarm.name == HEARTBEAT_ALARM_NAME


def is_ops_alarm(alarm: AlarmDetails) -> bool:
    return alarm.name.startswith(OPS_ALARM_PREFIX)


def intercept(alarm: AlarmDetails, metrics: MetricSink) -> str | None:
    """What intake does instead of its normal handling: "heartbeat" or "ops_alarm"; None to handle normally."""
    if is_heartbeat(alarm):
        metrics.add_metric(name=HEARTBEAT_METRIC, unit=MetricUnit.Count, value=1)
        _record_seen()
        return "heartbeat"
    if is_ops_alarm(alarm):
        metrics.add_metric(name=OPS_ALARM_SKIPPED_METRIC, unit=MetricUnit.Count, value=1)
        return "ops_alarm"
    return None


def _record_seen() -> None:
    global _last_seen, _seen_count
    with _lock:
        _last_seen = time.time()
        _seen_count += 1


def seen() -> tuple[int, float | None]:
    """How many heartbeats this process's intake has seen, and when it saw the last one (epoch seconds)."""
    with _lock:
        return _seen_count, _last_seen


def heartbeat_event(*, partition: str, region: str, account: str, time: str) -> dict[str, Any]:
    """The synthetic alarm state change the schedule sends, in EventBridge's format (what the
    alarm-state-changes rule delivers to the same queue). The arguments may be CDK tokens or EventBridge input
    placeholders (infra/cdk/monitoring.py) or real values (the local runtime, tests)."""
    return {
        "version": "0",
        "detail-type": ALARM_STATE_CHANGE,
        "source": CLOUDWATCH_SOURCE,
        "account": account,
        "time": time,
        "region": region,
        "resources": [f"arn:{partition}:cloudwatch:{region}:{account}:alarm:{HEARTBEAT_ALARM_NAME}"],
        "detail": {
            "alarmName": HEARTBEAT_ALARM_NAME,
            "state": {"value": "ALARM", "reason": "firebell heartbeat: the schedule reached intake", "timestamp": time},
            "configuration": {"description": "Synthetic: counted as the Heartbeat metric, never an incident"},
        },
    }
