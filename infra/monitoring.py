"""The pager watches itself: what is monitored, described as data next to the topology it watches.

`checks(topology)` derives the checks from the topology (every DLQ, function and state machine, so a new queue
is watched without a change here) plus the account-wide delivery checks and the heartbeat. infra/cdk/monitoring.py
renders each check as a CloudWatch alarm on the ops topic; the local runtime (infra/local/health.py) measures the
ones it can and answers GET /_local/health.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from firebell.heartbeat import HEARTBEAT_ALARM_NAME, HEARTBEAT_METRIC, OPS_ALARM_PREFIX

if TYPE_CHECKING:
    from infra.topology import Topology

CheckKind = Literal[
    "dlq-depth",
    "function-errors",
    "function-throttles",
    "executions-failed",
    "executions-timed-out",
    "executions-aborted",
    "sms-failures",
    "email-bounces",
    "email-bounce-rate",
    "heartbeat-missing",
]
EXECUTION_CHECKS: dict[CheckKind, str] = {
    # check → (Step Functions execution status, for list_executions' statusFilter)
    "executions-failed": "FAILED",
    "executions-timed-out": "TIMED_OUT",
    "executions-aborted": "ABORTED",
}


@dataclass(frozen=True)
class Check:
    kind: CheckKind
    # The queue (a DLQ), function or state machine checked; None for account-wide checks.
    subject: str | None
    description: str
    # OK notifications for states that persist (a DLQ with messages, a missing heartbeat); count-of-events
    # checks (an error, a failed SMS) would send an OK for every event five minutes later, doubling the noise.
    notify_ok: bool = False

    @property
    def name(self) -> str:
        """`intake-dlq-depth`, `notify-function-errors`, `sms-failures`: unique among the checks."""
        if self.subject is None:
            return self.kind
        return f"{self.subject}-depth" if self.kind == "dlq-depth" else f"{self.subject}-{self.kind}"


@dataclass(frozen=True)
class HeartbeatSpec:
    """A synthetic alarm (firebell.heartbeat) put on `queue` every `every_minutes`; the heartbeat alarm fires
    when intake has counted none for `missing_periods` periods in a row."""

    queue: str = "intake"
    every_minutes: int = 5
    missing_periods: int = 3
    alarm_name: str = HEARTBEAT_ALARM_NAME
    metric: str = HEARTBEAT_METRIC


@dataclass(frozen=True)
class MonitoringSpec:
    # The ops topic: its subscribers (config/firebell.yaml `ops:`) are reached by SNS directly. It is nobody's
    # input in the pipeline: no queue subscribes to it.
    ops_topic: str = "ops"
    ops_topic_description: str = "firebell's own health alarms; subscribers are config/firebell.yaml's ops section"
    heartbeat: HeartbeatSpec = HeartbeatSpec()
    # CloudWatch alarm names start with this (firebell.heartbeat: intake skips them).
    alarm_prefix: str = OPS_ALARM_PREFIX
    # SES's bounce rate above which AWS reviews the account (10 %) is too late; warn at 5 %, as AWS advises.
    max_bounce_rate: float = 0.05


def stopped_on_purpose(topology: Topology) -> set[str]:
    """State machines some function may stop (StopExecution): their ABORTED executions are normal operation."""
    return {m for f in topology.functions for m in f.permissions.stop_executions}


def checks(topology: Topology) -> tuple[Check, ...]:
    found: list[Check] = []
    for queue in topology.queues:
        dlq = topology.dlq_name(queue.name)
        found.append(
            Check("dlq-depth", dlq, f"messages waiting in {dlq}: {queue.name} could not process them", notify_ok=True)
        )
    for function in topology.functions:
        found.append(
            Check("function-errors", function.name, f"the {function.name} function failed (invocation errors)")
        )
        found.append(Check("function-throttles", function.name, f"the {function.name} function was throttled"))
    stopped = stopped_on_purpose(topology)
    for machine in topology.state_machines:
        for kind in EXECUTION_CHECKS:
            if kind == "executions-aborted" and machine.name in stopped:
                continue
            found.append(
                Check(
                    kind, machine.name, f"{machine.name} executions {EXECUTION_CHECKS[kind].lower().replace('_', ' ')}"
                )
            )
    found += [
        Check("sms-failures", None, "SMS pages SNS could not deliver"),
        Check("email-bounces", None, "emails (pages, notices) that bounced"),
        Check(
            "email-bounce-rate",
            None,
            "the account's SES bounce rate is high enough to put sending at risk",
            notify_ok=True,
        ),
    ]
    if topology.monitoring is not None:
        heartbeat = topology.monitoring.heartbeat
        found.append(
            Check(
                "heartbeat-missing",
                None,
                f"no heartbeat reached intake for {heartbeat.missing_periods * heartbeat.every_minutes} minutes",
                notify_ok=True,
            )
        )
    return tuple(found)
