"""The messages between firebell's functions and its state machines: what a run is given (the escalation plan)
and what it sends back to the queues (a page, a watch, a wake-up, a reminder due), each checked on arrival."""

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints

from .enums import EventType, MessageType
from .models import IncidentEvent, Model


class PlanTarget(Model):
    kind: Literal["person", "schedule", "team_manager"]
    ref: str


class IncidentOpened(IncidentEvent):
    """incident.opened as classify receives it (raw delivery from the events topic)."""

    type: Literal[EventType.OPENED]


class EscalationLevel(Model):
    level: Annotated[int, Field(ge=1)]
    targets: list[PlanTarget]
    timeout_seconds: Annotated[int, Field(ge=1)]


class EscalationPlan(Model):
    """Escalation state machine input: the policy as it was when the incident opened."""

    incident_id: str
    reference: str
    levels: Annotated[list[EscalationLevel], Field(min_length=1)]
    rounds: Annotated[int, Field(ge=1)]
    ack_timeout_seconds: Annotated[int, Field(ge=1)]
    incident_managers: list[str]

    def machine_input(self) -> dict[str, Any]:
        """The escalation run's input: the plan, and its steps laid out flat (every level of every round, then a
        step without a level: the incident manager), which the machine walks by position without a Choice."""
        steps = [(level, round_) for round_ in range(1, self.rounds + 1) for level in self.levels]
        data = self.model_dump(mode="json")
        return {
            **data,
            "step_levels": [data["levels"][level.level - 1] for level, _ in steps] + [None],
            "step_rounds": [round_ for _, round_ in steps] + [self.rounds],
            # (the last step waits for notify's answer after paging the incident manager)
            "step_timeouts": [level.timeout_seconds for level, _ in steps] + [self.ack_timeout_seconds],
        }


class PageRequest(Model):
    """Sent by the escalation state machine (sqs:sendMessage.waitForTaskToken) to the notify queue."""

    type: Literal[MessageType.PAGE]
    incident_id: str
    execution: str | None = None  # the escalation run that sent it: a stale run pages nobody
    level: EscalationLevel | None  # None: every level of every round timed out: page the incident manager
    round: int = 1
    retrigger: bool = False  # the acknowledgement timed out: put the incident back to triggered first
    incident_managers: list[str] = Field(default_factory=list)  # the plan's, for the last step
    task_token: str


class WatchRequest(Model):
    """The incident is acknowledged: hold this token; answer `touched` on activity, or let it time out."""

    type: Literal[MessageType.WATCH]
    incident_id: str
    execution: str | None = None  # the escalation run that sent it: a stale run pages nobody
    task_token: str


class EscalationExhausted(Model):
    """The last level timed out: page the incident manager. Escalation runs now send it as a PageRequest without a
    level (its last step); runs started before that still send this message, so notify keeps accepting it."""

    type: Literal[MessageType.ESCALATION_EXHAUSTED]
    incident_id: str
    execution: str | None = None  # the escalation run that sent it: a stale run pages nobody
    incident_managers: list[str]


class SmsDigestDue(Model):
    """Sent by the digest state machine when a person's SMS digest window ended (domain/sms_digest.py)."""

    type: Literal[MessageType.SMS_DIGEST_DUE]
    person: str
    window: int
    digest_id: str


class SlaWakeUp(Model):
    type: Literal[MessageType.SLA_WAKE, MessageType.SLA_AT_RISK, MessageType.SLA_BREACHED]
    incident_id: str
    clock: Literal["response", "resolution", "updates"]
    # sla.wake says which moment; runs started before it said so with their type (and named no execution)
    moment: Literal["at_risk", "breach", "due"] | None = None
    generation: int
    execution: str | None = None

    @property
    def which_moment(self) -> str:
        if self.moment is not None:
            return self.moment
        return "at_risk" if self.type is MessageType.SLA_AT_RISK else "breach"


class ReminderDue(Model):
    type: Literal[MessageType.REMINDER_DUE]
    incident_id: str
    # action-<n>: an action item; follow-<version>-<person>: a page's follow-ups (usecases/reaching.py)
    duty: Annotated[
        str, StringConstraints(pattern=r"^(review|updates|action-[1-9][0-9]{0,3}|follow-[1-9][0-9]{0,8}-.{1,128})$")
    ]
    round: int
    max_rounds: int | None = None  # the run's last round (None from runs started before the reminder cap)
    task_token: str


class ResolutionConfirming(Model):
    type: Literal[MessageType.RESOLUTION_CONFIRMING]
    incident_id: str
    task_token: str


class ResolutionWindowClosed(Model):
    type: Literal[MessageType.RESOLUTION_WINDOW_CLOSED]
    incident_id: str


class QuietCheck(Model):
    """The quiet-period machine asks: has this alert been quiet long enough to resolve its incident?"""

    type: Literal[MessageType.QUIET_CHECK]
    incident_id: str
    task_token: str


class MaintenanceEnded(Model):
    type: Literal[MessageType.MAINTENANCE_ENDED]
    incident_id: str
