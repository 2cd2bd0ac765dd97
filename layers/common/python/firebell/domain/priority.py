"""ITIL prioritisation: impact × urgency → P1–P5, and the SLA due times that follow."""

from datetime import datetime, timedelta

from .enums import Impact, Priority, Urgency
from .models import SlaClock
from .rules import Rules


def priority_for(impact: Impact, urgency: Urgency, rules: Rules) -> Priority:
    return rules.priority_matrix[impact][urgency]


def sla_clock(priority: Priority, opened_at: datetime, rules: Rules) -> SlaClock:
    target = rules.sla_targets[priority]
    return SlaClock(
        response_minutes=target.response_minutes,
        resolution_minutes=target.resolution_minutes,
        response_due_at=opened_at + timedelta(minutes=target.response_minutes),
        resolution_due_at=opened_at + timedelta(minutes=target.resolution_minutes),
    )
