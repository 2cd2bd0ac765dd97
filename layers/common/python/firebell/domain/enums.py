from enum import StrEnum


class Status(StrEnum):
    TRIGGERED = "triggered"
    ACKNOWLEDGED = "acknowledged"
    ON_HOLD = "on_hold"  # waiting on someone outside the team: the SLA clocks pause
    RESOLVED = "resolved"
    CLOSED = "closed"


class Action(StrEnum):
    ACKNOWLEDGE = "acknowledge"
    HOLD = "hold"
    RESUME = "resume"
    RETRIGGER = "retrigger"  # an acknowledgement timed out, or someone escalated by hand
    RESOLVE = "resolve"
    CLOSE = "close"
    REOPEN = "reopen"


class Impact(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Urgency(StrEnum):
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Priority(StrEnum):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"
    P5 = "P5"


class Source(StrEnum):
    CLOUDWATCH_ALARM = "cloudwatch_alarm"  # SNS notification or EventBridge state change
    PAGERDUTY = "pagerduty_events"  # PagerDuty Events API v2, on the wire
    ALERTMANAGER = "alertmanager"  # Prometheus Alertmanager webhook
    API = "api"


class AlarmState(StrEnum):
    ALARM = "ALARM"
    OK = "OK"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"


class TimelineKind(StrEnum):
    OPENED = "opened"
    OCCURRENCE = "occurrence"
    ALARM_STATE = "alarm_state"
    CLASSIFIED = "classified"
    ESCALATION_STARTED = "escalation_started"
    PAGED = "paged"
    NOTIFICATION_SENT = "notification_sent"
    NOTIFICATION_FAILED = "notification_failed"
    PAGE_SKIPPED = "page_skipped"
    ESCALATION_EXHAUSTED = "escalation_exhausted"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    NOTE = "note"
    ON_HOLD = "on_hold"
    RESUMED = "resumed"
    RETRIGGERED = "retriggered"
    ESCALATED = "escalated"
    REASSIGNED = "reassigned"
    MAINTENANCE = "maintenance"
    SLA_AT_RISK = "sla_at_risk"
    SLA_BREACHED = "sla_breached"
    INCIDENT_MANAGER = "incident_manager"
    STAKEHOLDER_UPDATE = "stakeholder_update"
    UPDATE_OVERDUE = "update_overdue"
    REVIEW = "review"


class EventType(StrEnum):
    """Types published on the events topic; subscriptions filter on them."""

    OPENED = "incident.opened"
    CLASSIFIED = "incident.classified"
    ACKNOWLEDGED = "incident.acknowledged"
    RESOLVED = "incident.resolved"
    REOPENED = "incident.reopened"
    CLOSED = "incident.closed"
