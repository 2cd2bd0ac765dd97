"""What one command decided: the incident's new state, its timeline entries and the effects to carry out.

A use case reads the incident once and fills a Change without any I/O; the store commits the whole Change
in one DynamoDB transaction conditioned on the version it read (state, timeline entries and pending
effects together: a transactional outbox); the dispatcher then carries the effects out, each under a
stable effect id so that a redelivery or a second dispatcher never repeats one.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict
from ulid import ULID

from .domain.enums import EventType, Status, TaskOutcome, TimelineKind
from .domain.facts import IncidentFacts
from .domain.models import Incident, IncidentEvent, TimelineEntry

SYSTEM = "firebell"  # the actor of the timeline lines firebell writes itself


class EffectKind(StrEnum):
    PUBLISH = "publish"  # an IncidentEvent on the events topic
    START = "start"  # start a state machine execution (its name makes it idempotent)
    STOP = "stop"  # stop an execution
    ANSWER = "answer"  # SendTaskSuccess to a waiting task
    EMAIL = "email"
    SMS = "sms"
    CHAT = "chat"  # a Slack direct message to a person (their notification rules: domain/notification_rules.py)


@dataclass(frozen=True)
class Needs:
    """What a use case may ask of AWS through its effects: infra/topology.py derives each function's IAM grants
    and environment from the Needs of the use cases it runs (tests/unit/test_needs.py holds them to the code)."""

    effects: frozenset[EffectKind] = frozenset()
    starts: frozenset[str] = frozenset()  # state machines whose runs it starts
    stops: frozenset[str] = frozenset()  # ... whose runs it stops
    answers: frozenset[str] = frozenset()  # ... whose waiting tasks it answers
    signs_ack_links: bool = False  # its emails and SMS carry one-click acknowledgement links
    signs_webhooks: bool = False  # it posts signed webhooks (the stack's webhook key)
    replays_webhooks: bool = False  # it moves dead-lettered webhook events back to their queue
    posts_to_slack: bool = False  # it calls Slack's Web API (the app's bot token)
    verifies_slack: bool = False  # it takes Slack's signed requests (the app's signing secret)
    links_to_console: bool = False  # what it posts links to incidents in the console
    reads_mail: bool = False  # it reads received mail from the mail bucket (email intake)

    def __or__(self, other: Needs) -> Needs:
        # (sets unite, flags add up: every field is one or the other)
        return Needs(**{f.name: getattr(self, f.name) | getattr(other, f.name) for f in fields(self)})


class EffectStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"  # claimed by a dispatcher until its lease runs out
    DONE = "done"
    SKIPPED = "skipped"  # its guard no longer held when it was due (e.g. a page for an acknowledged incident)


class Guard(BaseModel):
    """A page is only sent while the incident still wants it: checked on a fresh read just before sending."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    statuses: tuple[Status, ...] = ()
    escalation_execution: str | None = None

    def holds(self, incident: Incident | None) -> bool:
        if incident is None:
            return False
        if self.statuses and incident.status not in self.statuses:
            return False
        return self.escalation_execution is None or incident.escalation.execution_arn == self.escalation_execution


class Effect(BaseModel):
    model_config = ConfigDict(extra="forbid")
    effect_id: str  # <incident id>:<committed version>:<position>: the same command commits it once
    incident_id: str
    kind: EffectKind
    payload: dict[str, Any]
    guard: Guard | None = None


# --- changes next to the incident that commit in the same transaction ------------------------------


class DedupMark(BaseModel):
    """Update the alert's dedup pointer, only while it still feeds `incident_id` (else it is skipped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    dedup_key: str
    incident_id: str
    created: bool | None = None
    resolved_at: datetime | None = None
    clear_resolved: bool = False
    occurrences: int | None = None
    release: bool = False  # delete the pointer: the incident closed, the next alert opens a new one


class UseOnce(BaseModel):
    """A key that can be used once (an acknowledgement link's nonce); the change fails if it was used."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    expires_at: datetime


class IdempotencyClaim(BaseModel):
    """Binds a client's Idempotency-Key to the incident it opened: a retry finds it, never opens another."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    key: str
    incident_id: str
    fingerprint: str
    expires_at: datetime


class Change:
    """Built by a use case, committed by the store in one transaction. Pure: it records, it does nothing."""

    def __init__(self, incident: Incident, now: datetime, *, new: bool = False) -> None:
        self.before = incident
        self.incident = incident
        self.now = now
        self.new = new
        self.change_id = str(ULID())
        self.entries: list[TimelineEntry] = []
        self._effects: list[tuple[EffectKind, dict[str, Any], Guard | None]] = []
        self.dedup: list[DedupMark] = []
        self.once: list[UseOnce] = []
        self.idempotency: IdempotencyClaim | None = None
        self.facts: IncidentFacts | None = None  # the closing change's: what the reports read of the incident
        # Set by the committer: its effects are written already claimed by it until then (no claim write each).
        self.claimed_until: datetime | None = None

    @property
    def incident_id(self) -> str:
        return self.incident.incident_id

    # state ----------------------------------------------------------------------------------------

    def set(self, **fields: Any) -> Incident:
        self.incident = self.incident.model_copy(update=fields)
        return self.incident

    def set_part(self, part: str, **fields: Any) -> Incident:
        """Change fields of one nested part (escalation, sla, updates, review, resolution)."""
        return self.set(**{part: getattr(self.incident, part).model_copy(update=fields)})

    # timeline ---------------------------------------------------------------------------------------

    def log(self, kind: TimelineKind, actor: str, message: str, details: dict[str, Any] | None = None) -> TimelineEntry:
        entry = TimelineEntry(
            incident_id=self.incident_id,
            at=self.now,
            kind=kind,
            actor=actor,
            message=message,
            details=details or {},
            version=1 if self.new else self.before.version + 1,
        )
        self.entries.append(entry)
        return entry

    # effects, in the order they must happen ----------------------------------------------------------

    def publish(self, event_type: EventType) -> None:
        event = IncidentEvent(
            type=event_type, incident_id=self.incident_id, reference=self.incident.reference, occurred_at=self.now
        )
        self._effects.append((EffectKind.PUBLISH, event.model_dump(mode="json"), None))

    def start(self, machine: str, name: str, payload: dict[str, Any], guard: Guard | None = None) -> None:
        self._effects.append((EffectKind.START, {"machine": machine, "name": name, "input": payload}, guard))

    def stop(self, execution_arn: str | None, cause: str) -> None:
        if execution_arn:
            self._effects.append((EffectKind.STOP, {"execution_arn": execution_arn, "cause": cause}, None))

    def answer(self, task_token: str | None, outcome: TaskOutcome, **details: Any) -> None:
        if task_token:
            self._effects.append(
                (EffectKind.ANSWER, {"task_token": task_token, "outcome": outcome, "details": details}, None)
            )

    def email(
        self, *, sender: str, to: str, person: str, subject: str, body: str, why: str, guard: Guard | None = None
    ) -> None:
        self._effects.append(
            (
                EffectKind.EMAIL,
                {"sender": sender, "to": to, "person": person, "subject": subject, "body": body, "why": why},
                guard,
            )
        )

    def sms(
        self,
        *,
        to: str,
        person: str,
        text: str,
        why: str,
        guard: Guard | None = None,
        limit: dict[str, Any] | None = None,
    ) -> None:
        """`limit`: the person's SMS digest rule (domain/sms_digest.py): past it, the SMS is held for the digest."""
        payload = {"to": to, "person": person, "text": text, "why": why} | ({"limit": limit} if limit else {})
        self._effects.append((EffectKind.SMS, payload, guard))

    def chat(self, *, to: str, person: str, text: str, why: str, guard: Guard | None = None) -> None:
        """A Slack direct message to the person (`to`: their Slack member id)."""
        self._effects.append((EffectKind.CHAT, {"to": to, "person": person, "text": text, "why": why}, guard))

    # committing -----------------------------------------------------------------------------------------

    @property
    def empty(self) -> bool:
        return (
            self.incident == self.before
            and not self.new
            and not self.entries
            and not self._effects
            and not self.dedup
            and not self.once
            and self.idempotency is None
        )

    def committed_state(self) -> Incident:
        """The incident as the transaction writes it: next version, stamped with this change's id."""
        version = 1 if self.new else self.before.version + 1
        return self.incident.model_copy(update={"version": version, "last_change": self.change_id})

    def effects(self, version: int) -> list[Effect]:
        """Effect ids derive from the committed version: a command that commits once has them once."""
        return [
            Effect(
                effect_id=f"{self.incident_id}:{version}:{position:02d}",
                incident_id=self.incident_id,
                kind=kind,
                payload=payload,
                guard=guard,
            )
            for position, (kind, payload, guard) in enumerate(self._effects)
        ]

    def effect_kinds(self) -> list[EffectKind]:
        return [kind for kind, _, _ in self._effects]
