"""GET /_local/health: infra/monitoring.py's checks, measured on the local runtime.

What CloudWatch alarms on in AWS, measured here where it can be: each DLQ's depth (SQS), failed, timed-out and
aborted executions per state machine (moto's list_executions), function errors (exceptions the in-process
handlers raised) and the heartbeat (HeartbeatTimer sends it through the real intake path on a timer scaled like
the others). moto computes no SNS/SES delivery metrics and runs no concurrency limits, so those checks say
"not observable locally" and do not count towards `ok`. Counts are since the runtime started (moto keeps its
state in memory), where CloudWatch's alarms look at the last few minutes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import boto3

from firebell import heartbeat
from infra.local.render import ACCOUNT_ID, REGION
from infra.monitoring import EXECUTION_CHECKS, Check, HeartbeatSpec, checks

if TYPE_CHECKING:
    from infra.local.runtime import LocalRuntime

log = logging.getLogger("firebell.local")

# Scaled like the other timers, but not below this: scaled down, 5 min would be 3 s, three missed periods 9 s,
# which a busy laptop (or CI) can hold intake's poller up for without anything being broken; and each beat is
# work for a machine that may be running timing-sensitive tests.
MIN_HEARTBEAT_SECONDS = 10.0
NOT_OBSERVABLE = {
    "function-throttles": "not observable locally: each function runs as one in-process instance, with no "
    "concurrency limit to be throttled by",
    "sms-failures": "not observable locally: moto records SMS in the outbox and computes no SNS delivery metrics",
    "email-bounces": "not observable locally: moto records emails in the outbox; nothing bounces",
    "email-bounce-rate": "not observable locally: moto computes no SES reputation metrics",
}


def heartbeat_interval(spec: HeartbeatSpec, time_scale: float) -> float:
    return max(MIN_HEARTBEAT_SECONDS, spec.every_minutes * 60 * time_scale)


class HeartbeatTimer(threading.Thread):
    """The heartbeat schedule's rule, locally: at start and every interval, the synthetic alarm state change onto
    the queue, as the rule's SQS target delivers it (moto runs no EventBridge schedules)."""

    def __init__(self, spec: HeartbeatSpec, queue_url: str, interval: float, stop: threading.Event) -> None:
        super().__init__(name="heartbeat", daemon=True)
        self.spec = spec
        self.interval = interval
        self.sent = 0
        self._queue_url = queue_url
        self._stopping = stop
        self._sqs = boto3.client("sqs", region_name=REGION)

    def run(self) -> None:
        while not self._stopping.is_set():
            try:
                self.beat()
            except Exception:  # a missed beat is what the health check reports; keep beating
                log.exception("heartbeat could not be sent")
            self._stopping.wait(self.interval)

    def beat(self) -> None:
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = heartbeat.heartbeat_event(partition="aws", region=REGION, account=ACCOUNT_ID, time=now)
        self._sqs.send_message(QueueUrl=self._queue_url, MessageBody=json.dumps(event))
        self.sent += 1


def missing_after(interval: float, missing_periods: int) -> float:
    return interval * missing_periods


def heartbeat_status(*, started_at: float, last_seen: float | None, now: float, allowed: float) -> dict[str, Any]:
    """As the heartbeat alarm judges it: missing once `allowed` seconds (its periods) pass with none seen,
    counted from the start while none has arrived yet, as an alarm's first periods are."""
    since = last_seen if last_seen is not None else started_at
    age = now - since
    return {
        "ok": age <= allowed,
        "last_seen_seconds_ago": round(now - last_seen, 1) if last_seen is not None else None,
        "missing_after_seconds": round(allowed, 1),
    }


def _queue_depth(sqs: Any, queue_url: str) -> int:
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _executions(sfn: Any, machine_arn: str, status: str) -> int:
    pages = sfn.get_paginator("list_executions").paginate(stateMachineArn=machine_arn, statusFilter=status)
    return sum(len(page["executions"]) for page in pages)


def described(check: Check) -> dict[str, Any]:
    return {"name": check.name, "kind": check.kind, "subject": check.subject, "description": check.description}


def measure(check: Check, runtime: LocalRuntime, sqs: Any, sfn: Any) -> dict[str, Any]:
    """One check as JSON: `ok` true/false, or null with `detail` when it cannot be measured here."""
    entry = described(check)
    if check.kind in NOT_OBSERVABLE:
        return {**entry, "ok": None, "observable": False, "detail": NOT_OBSERVABLE[check.kind]}
    if check.kind == "dlq-depth":
        depth = _queue_depth(sqs, runtime.resources[("queue_url", check.subject)])
        return {**entry, "ok": depth == 0, "observable": True, "value": depth}
    if check.kind == "function-errors":
        errors = runtime.functions[check.subject].errors
        return {**entry, "ok": errors == 0, "observable": True, "value": errors}
    if check.kind in EXECUTION_CHECKS:
        count = _executions(sfn, runtime.resources[("state_machine", check.subject)], EXECUTION_CHECKS[check.kind])
        return {**entry, "ok": count == 0, "observable": True, "value": count}
    if check.kind == "heartbeat-missing":
        timer = runtime.heartbeat
        seen, last_seen = heartbeat.seen()
        status = heartbeat_status(
            started_at=runtime.started_at,
            last_seen=last_seen,
            now=time.time(),
            allowed=missing_after(timer.interval, timer.spec.missing_periods),
        )
        return {**entry, **status, "observable": True, "sent": timer.sent, "seen": seen}
    raise ValueError(f"no local measurement for check kind {check.kind!r}")


def measured_or_failing(check: Check, runtime: LocalRuntime, sqs: Any, sfn: Any) -> dict[str, Any]:
    """A check that cannot be measured right now (a busy endpoint, a timer not yet armed) is not a healthy one;
    the report around it stays whole, so whoever reads it still learns the runtime's resources."""
    try:
        return measure(check, runtime, sqs, sfn)
    except Exception as error:
        return {
            **described(check),
            "ok": False,
            "observable": True,
            "detail": f"could not be measured: {type(error).__name__}: {error}",
        }


def local_health(runtime: LocalRuntime) -> dict[str, Any]:
    sqs = boto3.client("sqs", region_name=REGION)
    sfn = boto3.client("stepfunctions", region_name=REGION)
    measured = [measured_or_failing(check, runtime, sqs, sfn) for check in checks(runtime.topology)]
    failing = [m["name"] for m in measured if m["ok"] is False]
    return {
        "ok": not failing,
        "status": "ok" if not failing else "failing",
        "failing": failing,
        "checks": measured,
        "aws_endpoint": runtime.aws_url,
        # Email intake's SMTP listener (infra/local/mail.py): where to send mail, how many messages it stored.
        "smtp": runtime.smtp.view() if runtime.smtp is not None else None,
        "resources": {f"{k}:{n}": v for (k, n), v in runtime.resources.items()},
    }
