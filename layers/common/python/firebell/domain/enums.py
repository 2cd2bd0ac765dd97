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
    EMAIL = "email"  # a message to an intake address (docs/email-intake.md)


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
    NOTIFICATION_HELD = "notification_held"  # an SMS page past the person's limit: held for the window's digest
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
    TIMERS_REARMED = "timers_rearmed"
    KNOWN_ERROR = "known_error"  # classified as a case of a known error: its workaround
    CHANGE_EVENT = "change_event"  # a deploy or config change on the incident's service (PagerDuty Change Events)
    ROUTED = "routed"  # a team's routing rule chose the escalation policy, or to page nobody (domain/routing.py)


class EventType(StrEnum):
    """Types published on the events topic; subscriptions filter on them."""

    OPENED = "incident.opened"
    CLASSIFIED = "incident.classified"
    ACKNOWLEDGED = "incident.acknowledged"
    RESOLVED = "incident.resolved"
    REOPENED = "incident.reopened"
    CLOSED = "incident.closed"


# --- the contract with the state machines (infra/statemachines/*.asl.json; tests/unit/test_state_machine_contracts.py
# holds every machine to these, and these to the machines) --------------------------------------------------------


class MessageType(StrEnum):
    """`type` of each message a state machine sends to a queue; each has its model in domain/models.py."""

    PAGE = "escalation.page"  # with a task token: page one level, then wait for an answer or the level's delay
    WATCH = "escalation.watch"  # with a task token: acknowledged; wait for activity or the acknowledgement timeout
    ESCALATION_EXHAUSTED = "escalation.exhausted"  # every level of every round timed out
    SLA_WAKE = "sla.wake"  # an SLA moment (at risk, breach) or a stakeholder update round is due: `clock`, `moment`
    SLA_AT_RISK = "sla.at_risk"  # (runs started before issue 10's one-state wake: it said the moment with its type)
    SLA_BREACHED = "sla.breached"  # (likewise)
    REMINDER_DUE = "reminder.due"  # with a task token: is the duty (review, stakeholder update) done?
    RESOLUTION_CONFIRMING = "resolution.confirming"  # with a task token: the confirmation window is open
    RESOLUTION_WINDOW_CLOSED = "resolution.window_closed"
    QUIET_CHECK = "alert.quiet_check"  # with a task token: has the alert been quiet long enough to resolve?
    MAINTENANCE_ENDED = "maintenance.ended"  # to classify: start the deferred escalation
    SMS_DIGEST_DUE = "sms.digest_due"  # an SMS digest window ended: send its held pages as one SMS


class TaskOutcome(StrEnum):
    """`outcome` in the output of SendTaskSuccess: what firebell answers a state machine waiting on a message."""

    ACKNOWLEDGED = "acknowledged"  # page/watch: someone acknowledged (or it is on hold): watch the acknowledgement
    ESCALATE = "escalate"  # page/watch: escalated by hand: the next level now
    TOUCHED = "touched"  # watch: activity on the incident: restart the acknowledgement timeout
    STOP = "stop"  # page/watch: resolved or closed: the escalation ends
    DONE = "done"  # reminder: the duty is done; quiet check: resolved (or nothing left to do)
    WAIT = "wait"  # quiet check: not quiet long enough yet; `seconds` says how long still
    REOPENED = "reopened"  # resolution: reopened inside the confirmation window: do not close it


# The answers each waiting message may get. A machine's Choice after the wait names some of them; the others
# take its Default (escalation: Stopped; reminder, resolution and quiet: the machine ends).
OUTCOMES_FOR: dict[MessageType, frozenset[TaskOutcome]] = {
    MessageType.PAGE: frozenset({TaskOutcome.ACKNOWLEDGED, TaskOutcome.ESCALATE, TaskOutcome.STOP}),
    MessageType.WATCH: frozenset(
        {TaskOutcome.TOUCHED, TaskOutcome.ACKNOWLEDGED, TaskOutcome.ESCALATE, TaskOutcome.STOP}
    ),
    MessageType.REMINDER_DUE: frozenset({TaskOutcome.DONE}),
    MessageType.RESOLUTION_CONFIRMING: frozenset({TaskOutcome.REOPENED}),
    MessageType.QUIET_CHECK: frozenset({TaskOutcome.DONE, TaskOutcome.WAIT}),
}
