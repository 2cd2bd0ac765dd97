"""What one incident costs in AWS, estimated from what it did (pure): the reports' cost figures.

An incident's cost follows from a few things its timeline records:
- its changes: one transaction each (the incident, its timeline lines, its outbox entries and their index entries),
  with the invocation that made it, the queue messages that carried its effects and the timer it set or fired;
- the messages delivered for it: an email or an SMS each (their queue messages and invocations are the change's);
- what reached it from outside: an alarm notification (an SNS publish, an intake invocation, a trace) or an
  API request (API Gateway, the web ACL, a trace).

The figures per change and per delivery are what bench/cost.py counted call by call on its two scenarios (a P2
alarm and a P1 report, run on the local runtime): `python -m bench.cost` prints this estimate next to its count
for each, so a design change that moves one shows as a drift there. Prices are us-east-1 list prices.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from .enums import TimelineKind

# USD per unit, what the unit is, and where the price is published (checked 2025).
PRICES: dict[str, tuple[float, str, str]] = {
    "stepfunctions": (0.025 / 1000, "state transition (Standard)", "https://aws.amazon.com/step-functions/pricing/"),
    "lambda_requests": (0.20 / 1e6, "invocation", "https://aws.amazon.com/lambda/pricing/"),
    "lambda_gb_seconds": (
        0.0000166667,
        "GB-second (x86_64, as infra/cdk builds them)",
        "https://aws.amazon.com/lambda/pricing/",
    ),
    "dynamodb_write_units": (
        0.625 / 1e6,
        "write request unit (on-demand)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "dynamodb_read_units": (
        0.125 / 1e6,
        "read request unit (on-demand)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
    ),
    "sqs": (0.40 / 1e6, "request (standard queue)", "https://aws.amazon.com/sqs/pricing/"),
    "sns": (0.50 / 1e6, "publish (deliveries to SQS are free)", "https://aws.amazon.com/sns/pricing/"),
    "secretsmanager": (0.05 / 10_000, "API call", "https://aws.amazon.com/secrets-manager/pricing/"),
    "apigateway": (3.50 / 1e6, "REST API request", "https://aws.amazon.com/api-gateway/pricing/"),
    "waf": (0.60 / 1e6, "request inspected by the API's web ACL", "https://aws.amazon.com/waf/pricing/"),
    "xray": (
        5.00 / 1e6,
        "trace recorded (one per alarm notification or API request: the rest joins it)",
        "https://aws.amazon.com/xray/pricing/",
    ),
    "ses": (0.10 / 1000, "email", "https://aws.amazon.com/ses/pricing/"),
    "sms": (0.00581, "SMS to a US number (base price; carrier fees on top)", "https://aws.amazon.com/sns/sms-pricing/"),
}
MESSAGING = ("ses", "sms")  # priced per message whatever the design

# Units per driver. Per change: the two scenarios' counted units (bench/results/cost.json of 2026-12-02, less what
# the alarm notifications and API requests themselves cost) divided by their 12 changes; a save that writes no
# timeline line of its own (a timer's bookkeeping) and the deliveries' queue messages and invocations are in it.
PER_CHANGE = {
    "stepfunctions": 17 / 12,
    "lambda_requests": 15 / 12,
    "lambda_gb_seconds": 2.518 / 12,
    "dynamodb_write_units": 431 / 12,
    "dynamodb_read_units": 54 / 12,
    "sqs": 47 / 12,
    "sns": 10 / 12,
    "secretsmanager": 4 / 12,
}
PER_SIGNAL = {"sns": 1, "lambda_requests": 1, "xray": 1}  # CloudWatch's publish, intake's invocation, its trace
PER_API_REQUEST = {"apigateway": 1, "waf": 1, "lambda_requests": 1, "xray": 1}

SYSTEM = "firebell"
_SIGNAL_KINDS = (TimelineKind.OCCURRENCE, TimelineKind.ALARM_STATE, TimelineKind.RETRIGGERED)


@dataclass(frozen=True)
class Drivers:
    """What an incident did that costs: its changes, the messages sent for it, the alarm notifications and API
    requests that reached it."""

    changes: int = 0
    emails: int = 0
    sms: int = 0
    signals: int = 0
    api_requests: int = 0


def drivers_of(entries: list[Any], source: str) -> Drivers:
    """Entries are the incident's timeline lines (TimelineEntry); `source` is how it was opened."""
    changes: dict[int, list[Any]] = {}
    sent: Counter[str] = Counter()
    for e in entries:
        if e.version is not None:
            changes.setdefault(e.version, []).append(e)
        elif e.kind is TimelineKind.NOTIFICATION_SENT:
            sent["sms" if e.details.get("channel") == "sms" else "email"] += 1
    signals = api_requests = 0
    for lines in changes.values():
        opening = any(e.kind is TimelineKind.OPENED for e in lines)
        recovery = any(e.kind is TimelineKind.RESOLVED and e.details.get("automatic") for e in lines)
        if any(e.kind in _SIGNAL_KINDS for e in lines) or recovery or (opening and source != "api"):
            signals += 1
        elif any(e.actor != SYSTEM for e in lines) and (source == "api" or not opening):
            api_requests += 1
    return Drivers(
        changes=len(changes), emails=sent["email"], sms=sent["sms"], signals=signals, api_requests=api_requests
    )


def units_of(drivers: Drivers) -> dict[str, float]:
    units: defaultdict[str, float] = defaultdict(float)
    for per, count in (
        (PER_CHANGE, drivers.changes),
        (PER_SIGNAL, drivers.signals),
        (PER_API_REQUEST, drivers.api_requests),
    ):
        for unit, amount in per.items():
            units[unit] += amount * count
    units["ses"] += drivers.emails
    units["sms"] += drivers.sms
    return dict(units)


@dataclass(frozen=True)
class CostEstimate:
    usd_ex_messaging: float  # AWS's own services: what the design decides
    usd_messaging: float  # emails and SMS, per message

    @property
    def usd(self) -> float:
        return self.usd_ex_messaging + self.usd_messaging


def estimate(drivers: Drivers) -> CostEstimate:
    usd = {unit: amount * PRICES[unit][0] for unit, amount in units_of(drivers).items()}
    return CostEstimate(
        usd_ex_messaging=round(sum(v for u, v in usd.items() if u not in MESSAGING), 8),
        usd_messaging=round(sum(v for u, v in usd.items() if u in MESSAGING), 8),
    )
