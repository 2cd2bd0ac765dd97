"""ITIL prioritisation: impact × urgency → P1–P5."""

from .enums import Impact, Priority, Urgency
from .rules import Rules


def priority_for(impact: Impact, urgency: Urgency, rules: Rules) -> Priority:
    return rules.priority_matrix[impact][urgency]
