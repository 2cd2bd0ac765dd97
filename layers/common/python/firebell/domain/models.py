"""Incident domain models (Base/Create/Read in the Dispatch style), and the messages between functions."""

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from .enums import AlarmState, EventType, Impact, Priority, Source, Status, TimelineKind, Urgency

# Limits documented in docs/api.md; the API refuses anything longer with a 422 naming the field.
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1024)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=65_536)]
Actor = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlarmDetails(_Model):
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


class SlaClock(_Model):
    response_minutes: int
    resolution_minutes: int
    response_due_at: datetime
    resolution_due_at: datetime


class EscalationState(_Model):
    execution_arn: str | None = None
    level: int = 0
    task_token: str | None = None
    exhausted: bool = False


class Incident(_Model):
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
    # Set by classification; a reporter may preset impact/urgency.
    category: str | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None
    priority: Priority | None = None
    team: str | None = None
    sla: SlaClock | None = None
    opened_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_notes: str | None = None
    auto_resolved: bool = False
    closed_at: datetime | None = None
    occurrences: int = 1
    last_seen_at: datetime
    escalation: EscalationState = EscalationState()
    version: int = 0


class EscalationView(_Model):
    execution_arn: str | None = None
    level: int = 0
    exhausted: bool = False


class IncidentRead(Incident):
    """What the API shows: the task token that can stop an escalation never leaves the backend."""

    escalation: EscalationView = EscalationView()

    @classmethod
    def of(cls, incident: Incident) -> "IncidentRead":
        return cls.model_validate(incident.model_dump(exclude={"escalation": {"task_token"}}))


class IncidentPage(_Model):
    items: list[IncidentRead]
    cursor: str | None = None


class TimelineEntry(_Model):
    incident_id: str
    at: datetime
    kind: TimelineKind
    actor: str
    message: str
    details: dict[str, Any] = {}


class Timeline(_Model):
    items: list[TimelineEntry]


# --- API inputs -------------------------------------------------------------------------------


class IncidentCreate(_Model):
    title: Title
    description: LongText = ""
    reporter: Actor
    service: Name | None = None
    impact: Impact | None = None
    urgency: Urgency | None = None


class AcknowledgeRequest(_Model):
    by: Actor


class ResolveRequest(_Model):
    by: Actor
    resolution_notes: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=65_536)]


class NoteRequest(_Model):
    by: Actor
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=65_536)]


# --- messages between functions ----------------------------------------------------------------


class IncidentEvent(_Model):
    """Published on the events topic; `type` is also a message attribute that subscriptions filter on."""

    type: EventType
    incident_id: str
    reference: str
    occurred_at: AwareDatetime


class EscalationLevel(_Model):
    level: Annotated[int, Field(ge=1)]
    targets: list[str]
    timeout_seconds: Annotated[int, Field(ge=1)]


class EscalationPlan(_Model):
    """State machine input: the policy as it was when the incident opened."""

    incident_id: str
    reference: str
    levels: Annotated[list[EscalationLevel], Field(min_length=1)]
    incident_managers: list[str]


class PageRequest(_Model):
    """Sent by the escalation state machine (sqs:sendMessage.waitForTaskToken) to the notify queue."""

    type: Literal["escalation.page"]
    incident_id: str
    level: EscalationLevel
    task_token: str


class EscalationExhausted(_Model):
    """Sent by the state machine when the last level timed out: page the incident manager."""

    type: Literal["escalation.exhausted"]
    incident_id: str
    incident_managers: list[str]
