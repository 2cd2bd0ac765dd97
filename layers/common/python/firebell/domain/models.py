"""Incident domain models (Base/Create/Read in the Dispatch style) and the events published about them; the
messages exchanged with the state machines are in workflow_messages.py."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    SerializationInfo,
    StringConstraints,
)

from .enums import AlarmState, EventType, Impact, Priority, Source, Status, TimelineKind, Urgency
from .text import LongText, Title

# Limits documented in docs/api.md; the API refuses anything longer with a 422 naming the field.


def _written_as_a_date(value: object) -> object:
    # pydantic's lax mode reads "0.5" or "1700000000" as seconds since 1970: a query parameter documented as
    # an ISO 8601 time should refuse them, not answer for 1970.
    if isinstance(value, str) and not value[:10].count("-") == 2:
        raise ValueError("give an ISO 8601 time, e.g. 2026-11-22T09:00:00Z")
    return value


# A time given in a query string (the time zone offset is checked where the answer needs it).
QueryTime = Annotated[datetime, BeforeValidator(_written_as_a_date)]


class Model(BaseModel):
    # defer_build: a model's validator is built on its first use, so a function builds only the models it uses (cold start).
    model_config = ConfigDict(defer_build=True, extra="forbid")


def _hidden_in_public(value: str | None, info: SerializationInfo) -> str | None:
    return None if (info.context or {}).get("public") else value


# A task token lets its holder stop or steer a workflow: stored, never shown by the API.
Secret = Annotated[str | None, PlainSerializer(_hidden_in_public)]


class AlarmDetails(Model):
    name: str
    arn: str
    state: AlarmState
    reason: str = ""
    description: str | None = None
    namespace: str | None = None
    metric: str | None = None
    dimensions: dict[str, str] = {}
    region: str | None = None
    account_id: str | None = None
    changed_at: datetime | None = None
    # EventBridge also delivers changes whose actions CloudWatch suppressed (composite alarm suppression),
    # which SNS never does: those are recorded, not paged.
    actions_suppressed_by: str | None = None


class SlaTimerView(Model):
    state: Literal["running", "paused", "at_risk", "breached", "met"]
    due_at: datetime
    seconds_left: float | None  # None once met; negative once breached


class SlaStatus(Model):
    response: SlaTimerView
    resolution: SlaTimerView


class SlaTimer(Model):
    """One SLA target (response or resolution): when it is at risk, when it breaches, what happened."""

    target_minutes: float
    at_risk_at: datetime
    due_at: datetime
    met_at: datetime | None = None
    at_risk_notified_at: datetime | None = None
    breached_at: datetime | None = None

    def view(self, paused_since: datetime | None, now: datetime) -> SlaTimerView:
        if self.met_at:
            return SlaTimerView(state="met", due_at=self.due_at, seconds_left=None)
        effective_now = paused_since or now  # a paused clock does not run
        left = (self.due_at - effective_now).total_seconds()
        if self.breached_at or left <= 0:
            state = "breached"
        elif paused_since:
            state = "paused"
        elif self.at_risk_notified_at or effective_now >= self.at_risk_at:
            state = "at_risk"
        else:
            state = "running"
        return SlaTimerView(state=state, due_at=self.due_at, seconds_left=left)


class SlaClock(Model):
    response: SlaTimer
    resolution: SlaTimer
    paused_since: datetime | None = None
    paused_seconds: float = 0
    # Bumped each time the timers are (re)armed: a wake-up from an older arming is stale and ignored.
    generation: int = 0
    execution_arn: str | None = None

    def status(self, now: datetime) -> SlaStatus:
        """Where both clocks stand at `now` (what GET /incidents/{id} shows as sla_status)."""
        return SlaStatus(
            response=self.response.view(self.paused_since, now), resolution=self.resolution.view(self.paused_since, now)
        )


class EscalationState(Model):
    execution_arn: str | None = None
    runs: int = 0  # escalations started so far (a reopen starts another)
    level: int = 0
    round: int = 1
    task_token: Secret = None
    watching: bool = False  # the token belongs to the acknowledgement watch, not to a page
    exhausted: bool = False
    deferred_until: datetime | None = None  # opened during maintenance: escalation starts then
    # Level 1 went out with the run's start (no hop through the state machine and the notify queue): the run's
    # first page request only hands over its task token.
    paged_at_start: bool = False
    # Escalated by hand before that first request came: it is answered "escalate" at once (level 2 is paged).
    escalate_on_first_request: bool = False
    # The run's plan in short (what a level that pages nobody names as next); 0: a run started before they were kept.
    plan_levels: int = 0
    plan_rounds: int = 0
    # Working-hours routing (domain/routing.py), decided when paging starts: the policy paging follows (None once
    # routed_at is set: a routing rule sent the incident to chat, nobody paged), the rule's name, and when.
    policy: str | None = None
    routed_by: str | None = None
    routed_at: datetime | None = None
    # Personal follow-ups (usecases/reaching.py): person → the version whose page they follow, and the last round sent.
    follow_ups: dict[str, int] = {}
    follow_up_rounds: dict[str, str] = {}


class Duty(Model):
    """A recurring duty run by the reminder state machine (a review, stakeholder updates)."""

    execution_arn: str | None = None
    task_token: Secret = None
    reminders_sent: int = 0


class ActionItem(Model):
    """A post-incident action: someone will do something by a date so it does not happen again; reminded until done."""

    number: int
    text: str
    owner: str
    due_at: datetime
    created_by: str
    done_at: datetime | None = None
    done_by: str | None = None
    execution_arn: str | None = None  # its reminder run
    task_token: Secret = None  # of the round last reminded (a redelivered round reminds nobody twice)
    reminders_sent: int = 0


class Review(Duty):
    owner: str
    due_at: datetime
    completed_at: datetime | None = None
    completed_by: str | None = None
    summary: str | None = None
    root_cause: str = ""
    contributing_factors: list[str] = []
    actions: list[ActionItem] = []


class StakeholderUpdates(Duty):
    """Updates due every `every_minutes` while open. Their rounds are moments of the SLA machine's runs (one run
    waits for the incident's next moment of either kind); `execution_arn` is set only for a reminder run started
    before that (re-arming the timers converts it)."""

    every_minutes: float
    last_update_at: datetime | None = None
    overdue_rounds: int = 0
    started_at: datetime | None = None  # round n is due every_minutes × n after it
    rounds: int = 0  # rounds come and gone


class PreviousFix(Model):
    """How a past incident was resolved, told to whoever is paged for this one: the same alert's last incident, or
    one that looks like it (domain/similarity.py)."""

    reference: str
    title: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_notes: str


class KnownError(Model):
    """The known error (domain/problems.py) an incident matched when it was classified: what to do about it."""

    problem: str
    title: str
    workaround: str


class ResolutionWorkflow(Model):
    execution_arn: str | None = None
    task_token: Secret = None


class Signal(Model):
    """One alert from any monitoring source, normalised: all intake acts on.

    `dedup_key` is namespaced by source (an alarm ARN, `pagerduty:<service>:<dedup_key>`,
    `alertmanager:<service>:<fingerprint>`), so sources never collide.
    """

    source: Source
    action: Literal["trigger", "acknowledge", "resolve", "record"]
    dedup_key: Annotated[str, StringConstraints(min_length=1, max_length=1024)]
    summary: Title
    details: LongText = ""
    actor: str
    service: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    alarm: AlarmDetails | None = None
    # When the source says the alert's state changed (CloudWatch's StateChangeTime): notifications can arrive out of
    # order, and an older one must not undo a newer one.
    changed_at: datetime | None = None
    labels: dict[str, str] = {}
    custom_details: dict[str, Any] = {}
    links: list[dict[str, str]] = []


class Incident(Model):
    incident_id: str
    reference: str
    title: str
    description: str = ""
    status: Status = Status.TRIGGERED
    source: Source
    dedup_key: str | None = None
    reporter: str
    service: str | None = None
    alarm: AlarmDetails | None = None
    # What the monitoring source said (Alertmanager labels/annotations, PagerDuty custom_details, links).
    labels: dict[str, str] = {}
    custom_details: dict[str, Any] = {}
    links: list[dict[str, str]] = []
    # Set by classification; a reporter may preset impact/urgency.
    category: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    priority: Priority | None = None
    team: str | None = None
    sla: SlaClock | None = None
    assignee: str | None = None
    incident_manager: str | None = None
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_notes: str | None = None
    auto_resolved: bool = False
    # When the recovery that resolved it changed its alert's state, by the source's clock: an alert older than
    # that, arriving late, neither reopens it nor opens another.
    recovered_at: datetime | None = None
    reopened_count: int = 0
    closed_at: datetime | None = None
    closed_by: str | None = None
    closure_notes: str | None = None
    occurrences: int = 1
    last_seen_at: datetime
    escalation: EscalationState = EscalationState()
    resolution: ResolutionWorkflow = ResolutionWorkflow()
    review: Review | None = None
    updates: StakeholderUpdates | None = None
    previously: PreviousFix | None = None  # the same alert's last incident, closed: how it was resolved
    similar: list[PreviousFix] = []  # else, recent closed incidents that look like it, when it opened
    known_error: KnownError | None = None
    drill: bool = False  # a training drill (usecases/drills.py): its messages say so, reports leave it out
    version: int = 0
    last_change: str | None = (
        None  # id of the change that wrote this version: a commit whose answer was lost is recognised
    )

    @property
    def alert(self) -> str | None:
        """What raised it, as reports and problems name it: the alarm's name, else the monitoring tool's dedup key."""
        return self.alarm.name if self.alarm else self.dedup_key


class IncidentRead(Incident):
    """What the API shows: the incident without its secrets, plus where its SLA clocks stand now."""

    sla_status: SlaStatus | None = None

    @classmethod
    def of(cls, incident: Incident, now: datetime) -> "IncidentRead":
        public = incident.model_dump(context={"public": True})
        return cls.model_validate({**public, "sla_status": incident.sla.status(now) if incident.sla else None})


class IncidentPage(Model):
    items: list[IncidentRead]
    cursor: str | None = None


class TimelineEntry(Model):
    incident_id: str
    at: datetime
    kind: TimelineKind
    actor: str
    message: str
    details: dict[str, Any] = {}
    # The incident version the change that wrote it committed (None for what the outbox records after it):
    # entries of one version happened together, in one transaction.
    version: int | None = None


class Timeline(Model):
    items: list[TimelineEntry]


# --- messages between functions ----------------------------------------------------------------


class IncidentEvent(Model):
    """Published on the events topic; `type` is also a message attribute that subscriptions filter on."""

    type: EventType
    incident_id: str
    reference: str
    occurred_at: AwareDatetime
