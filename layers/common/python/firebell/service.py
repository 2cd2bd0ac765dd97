"""Incident use cases: what happens when an alarm fires, a person reports, a level is paged, someone acks.

Pure orchestration over the ports in ports.py: no boto3 here, so every rule is unit-testable with fakes.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from ulid import ULID

from .config import FirebellConfig, Person
from .domain.classification import classify, escalation_plan
from .domain.enums import Action, AlarmState, EventType, Source, Status, TimelineKind
from .domain.errors import ConcurrentUpdate, IncidentNotFound, InvalidTransition
from .domain.lifecycle import is_open, next_status
from .domain.models import (
    AlarmDetails,
    EscalationExhausted,
    Incident,
    IncidentCreate,
    IncidentEvent,
    PageRequest,
    TimelineEntry,
)
from .ports import Clock, EscalationWorkflow, EventPublisher, IncidentFilter, IncidentStore, Messenger, Page

T = TypeVar("T")
SYSTEM = "firebell"
_REFERENCE = re.compile(r"^INC-\d+$")
_SAVE_ATTEMPTS = 8


class AlarmOutcome(StrEnum):
    OPENED = "opened"
    DEDUPLICATED = "deduplicated"
    RESOLVED = "resolved"
    RECORDED = "recorded"
    IGNORED = "ignored"


@dataclass(frozen=True, slots=True)
class Delivery:
    channel: str
    to: str
    person: str
    message_id: str


class IncidentService:
    def __init__(
        self,
        store: IncidentStore,
        events: EventPublisher,
        clock: Clock,
        config: Callable[[], FirebellConfig] | None = None,
        workflow: EscalationWorkflow | None = None,
        messenger: Messenger | None = None,
        time_scale: float = 1.0,
        public_api_url: str = "",
    ) -> None:
        self._store = store
        self._events = events
        self._clock = clock
        self._config = config
        self._workflow = workflow
        self._messenger = messenger
        self._time_scale = time_scale
        self._api_url = public_api_url.rstrip("/")

    # --- reading ---------------------------------------------------------------------------------

    def get(self, incident_id_or_reference: str) -> Incident:
        if _REFERENCE.match(incident_id_or_reference):
            found = self._store.get_by_reference(incident_id_or_reference)
        else:
            found = self._store.get(incident_id_or_reference)
        if found is None:
            raise IncidentNotFound(incident_id_or_reference)
        return found

    def list(self, filters: IncidentFilter, limit: int, cursor: str | None) -> Page:
        return self._store.list(filters, limit, cursor)

    def timeline(self, incident_id_or_reference: str) -> list[TimelineEntry]:
        return self._store.timeline(self.get(incident_id_or_reference).incident_id)

    # --- identification and logging --------------------------------------------------------------

    def report(self, request: IncidentCreate) -> Incident:
        return self._open(
            incident_id=str(ULID()),
            title=request.title,
            description=request.description,
            source=Source.API,
            reporter=request.reporter,
            service=request.service,
            impact=request.impact,
            urgency=request.urgency,
        )

    def handle_alarm(self, alarm: AlarmDetails, redelivered: bool = False) -> tuple[AlarmOutcome, Incident | None]:
        """`redelivered`: this same message was received before, so an earlier attempt may have failed midway."""
        if alarm.state is AlarmState.ALARM:
            return self._open_or_count(alarm, redelivered)
        holder = self._store.dedup_holder(alarm.arn)
        if holder is None:
            return AlarmOutcome.IGNORED, None
        if alarm.state is AlarmState.OK:
            try:
                resolved = self.resolve(
                    holder,
                    by="cloudwatch",
                    notes=f"alarm {alarm.name} returned to OK: {alarm.reason}",
                    automatic=True,
                )
            except InvalidTransition:
                return AlarmOutcome.IGNORED, self.get(holder)
            return AlarmOutcome.RESOLVED, resolved
        # INSUFFICIENT_DATA: worth a line on the timeline, never a page.
        self._log(holder, TimelineKind.ALARM_STATE, "cloudwatch", f"Alarm {alarm.name} is {alarm.state}: {alarm.reason}")
        return AlarmOutcome.RECORDED, self.get(holder)

    def _open_or_count(self, alarm: AlarmDetails, redelivered: bool) -> tuple[AlarmOutcome, Incident]:
        candidate = str(ULID())
        holder = self._store.claim_dedup_key(alarm.arn, candidate)
        if holder is not None:
            count = self._store.record_occurrence(holder, self._clock())
            if count is not None:
                self._log(holder, TimelineKind.OCCURRENCE, "cloudwatch", f"Alarm {alarm.name} fired again (occurrence {count})")
                existing = self.get(holder)
                if redelivered and existing.priority is None:
                    # An earlier attempt may have written the incident and failed to announce it:
                    # announce again (classification is idempotent). First deliveries in a storm never do.
                    self._publish(EventType.OPENED, existing)
                return AlarmOutcome.DEDUPLICATED, existing
            candidate = holder  # the key was claimed but the incident never written (a crash): finish the job
        incident = self._open(
            incident_id=candidate,
            title=f"{alarm.name}: {alarm.description}" if alarm.description else alarm.name,
            description=alarm.reason,
            source=Source.CLOUDWATCH_ALARM,
            reporter="cloudwatch",
            alarm=alarm,
            dedup_key=alarm.arn,
        )
        return AlarmOutcome.OPENED, incident

    def _open(self, incident_id: str, **fields) -> Incident:
        now = self._clock()
        incident = Incident(
            incident_id=incident_id,
            reference=self._store.next_reference(),
            opened_at=now,
            last_seen_at=now,
            **fields,
        )
        created = self._store.create(incident)
        origin = f"alarm {incident.alarm.name}" if incident.alarm else f"report by {incident.reporter}"
        self._log(created.incident_id, TimelineKind.OPENED, incident.reporter, f"{created.reference} opened from {origin}: {created.title}")
        self._publish(EventType.OPENED, created)
        return created

    # --- categorisation, prioritisation, escalation ----------------------------------------------

    def classify(self, incident_id: str) -> Incident:
        """Idempotent: a redelivered event finishes whatever an earlier attempt left undone."""
        config = self._require(self._config)()
        incident = self.get(incident_id)
        if incident.priority is None:
            incident = self._classify(incident, config)
        if is_open(incident.status) and incident.escalation.execution_arn is None:
            incident = self._start_escalation(incident, config)
        return incident

    def _classify(self, incident: Incident, config: FirebellConfig) -> Incident:
        result = classify(incident, config.rules, config.directory)
        classified = self._update(
            incident.incident_id,
            lambda current: current.model_copy(
                update={
                    "category": result.category,
                    "impact": result.impact,
                    "urgency": result.urgency,
                    "priority": result.priority,
                    "team": result.team,
                    "service": result.service,
                    "sla": result.sla,
                }
            ),
        )
        self._log(
            incident.incident_id,
            TimelineKind.CLASSIFIED,
            SYSTEM,
            f"Classified {result.category}: impact {result.impact} × urgency {result.urgency} → {result.priority}; "
            f"team {result.team}; respond by {result.sla.response_due_at:%H:%M} UTC, "
            f"resolve by {result.sla.resolution_due_at:%Y-%m-%d %H:%M} UTC",
            details={"category": result.category, "priority": result.priority, "team": result.team},
        )
        self._publish(EventType.CLASSIFIED, classified)
        return classified

    def _start_escalation(self, incident: Incident, config: FirebellConfig) -> Incident:
        plan = escalation_plan(incident, config.directory, self._time_scale)
        execution = self._require(self._workflow).start(plan)
        updated = self._update(
            incident.incident_id,
            lambda current: current.model_copy(
                update={"escalation": current.escalation.model_copy(update={"execution_arn": execution})}
            ),
        )
        steps = ", then ".join(
            f"level {lvl.level} ({', '.join(lvl.targets)}) for {lvl.timeout_seconds}s" for lvl in plan.levels
        )
        self._log(incident.incident_id, TimelineKind.ESCALATION_STARTED, SYSTEM, f"Escalation started: {steps}; then incident manager")
        return updated

    # --- notification ----------------------------------------------------------------------------

    def page(self, request: PageRequest) -> list[Delivery]:
        incident = self.get(request.incident_id)
        workflow = self._require(self._workflow)
        if incident.escalation.task_token == request.task_token:
            return []  # this level was already paged (redelivered message)
        if not is_open(incident.status) or incident.status is Status.ACKNOWLEDGED:
            workflow.stop_paging(request.task_token, f"incident already {incident.status}")
            self._log(incident.incident_id, TimelineKind.PAGE_SKIPPED, SYSTEM, f"Level {request.level.level} not paged: incident {incident.status}")
            return []
        deliveries = self._reach(incident, request.level.targets, urgent=True, why=f"level {request.level.level}")
        self._log(
            incident.incident_id,
            TimelineKind.PAGED,
            SYSTEM,
            f"Level {request.level.level} paged: {', '.join(request.level.targets)}; escalates in {request.level.timeout_seconds}s unless acknowledged",
            details={"level": request.level.level},
        )
        updated = self._update(
            incident.incident_id,
            lambda current: current.model_copy(
                update={
                    "escalation": current.escalation.model_copy(
                        update={"level": request.level.level, "task_token": request.task_token}
                    )
                }
            ),
        )
        if updated.status is not Status.TRIGGERED:
            workflow.stop_paging(request.task_token, f"incident {updated.status} while paging")
        return deliveries

    def page_incident_managers(self, request: EscalationExhausted) -> list[Delivery]:
        incident = self.get(request.incident_id)
        if incident.status is not Status.TRIGGERED or incident.escalation.exhausted:
            return []
        deliveries = self._reach(incident, request.incident_managers, urgent=True, why="nobody acknowledged")
        self._update(
            incident.incident_id,
            lambda current: current.model_copy(update={"escalation": current.escalation.model_copy(update={"exhausted": True})}),
        )
        self._log(
            incident.incident_id,
            TimelineKind.ESCALATION_EXHAUSTED,
            SYSTEM,
            f"No level acknowledged: incident manager paged ({', '.join(request.incident_managers)})",
        )
        return deliveries

    def announce_resolution(self, incident_id: str) -> list[Delivery]:
        """Tell stakeholders and everyone paged so far that the incident is resolved."""
        config = self._require(self._config)()
        incident = self.get(incident_id)
        team = config.directory.team(incident.team)
        paged = [t for level in team.escalation_policy.levels[: incident.escalation.level] for t in level.targets]
        managers = list(team.incident_managers) if incident.escalation.exhausted else []
        audience = list(dict.fromkeys([*team.stakeholders, *paged, *managers]))
        return self._reach(incident, audience, urgent=False, why="resolution")

    def _reach(self, incident: Incident, person_ids: list[str], urgent: bool, why: str) -> list[Delivery]:
        config = self._require(self._config)()
        messenger = self._require(self._messenger)
        directory = config.directory
        deliveries: list[Delivery] = []
        people = [(pid, directory.person(pid)) for pid in person_ids]
        for missing in [pid for pid, person in people if person is None]:
            self._log(incident.incident_id, TimelineKind.NOTIFICATION_FAILED, SYSTEM, f"cannot reach {missing}: no longer in the directory ({why})")
        for person in [person for _, person in people if person is not None]:
            subject, body, sms = self._compose(incident, person)
            if person.email:
                message_id = messenger.send_email(directory.notifications.sender, person.email, subject, body)
                deliveries.append(Delivery("email", person.email, person.id, message_id))
            if person.phone and urgent:
                deliveries.append(Delivery("sms", person.phone, person.id, messenger.send_sms(person.phone, sms)))
        for delivery in deliveries:
            self._log(
                incident.incident_id,
                TimelineKind.NOTIFICATION_SENT,
                SYSTEM,
                f"{delivery.channel} to {delivery.person} <{delivery.to}> ({why})",
                details={"channel": delivery.channel, "to": delivery.to, "person": delivery.person, "message_id": delivery.message_id},
            )
        return deliveries

    def _compose(self, incident: Incident, person: Person) -> tuple[str, str, str]:
        priority = incident.priority or "unprioritised"
        state = incident.status.value
        subject = f"[firebell] {incident.reference} {priority} {state}: {incident.title}"[:200]
        ack = f"{self._api_url}/incidents/{incident.reference}/acknowledge" if self._api_url else ""
        lines = [
            f"Hello {person.name},",
            "",
            f"{incident.reference} ({priority}, {incident.category or 'uncategorised'}) is {state}.",
            f"Title: {incident.title}",
            f"Team: {incident.team or '-'}   Service: {incident.service or '-'}",
        ]
        if incident.sla:
            lines.append(f"Respond by {incident.sla.response_due_at:%Y-%m-%d %H:%M} UTC; resolve by {incident.sla.resolution_due_at:%Y-%m-%d %H:%M} UTC")
        if incident.resolution_notes:
            lines.append(f"Resolution: {incident.resolution_notes}")
        if ack and incident.status is Status.TRIGGERED:
            lines += ["", f"Acknowledge (stops paging): POST {ack}"]
        sms = f"firebell {incident.reference} {priority} {state}: {incident.title}"[:140]
        return subject, "\n".join(lines), sms

    # --- acknowledgement, resolution, notes ------------------------------------------------------

    def acknowledge(self, incident_id_or_reference: str, by: str) -> Incident:
        incident_id = self.get(incident_id_or_reference).incident_id
        updated = self._transition(
            incident_id, Action.ACKNOWLEDGE, lambda i, now: {"acknowledged_at": now, "acknowledged_by": by}
        )
        self._log(incident_id, TimelineKind.ACKNOWLEDGED, by, f"Acknowledged by {by}; paging stopped")
        self._stop_paging(updated, f"acknowledged by {by}")
        self._publish(EventType.ACKNOWLEDGED, updated)
        return updated

    def resolve(self, incident_id_or_reference: str, by: str, notes: str, automatic: bool = False) -> Incident:
        incident_id = self.get(incident_id_or_reference).incident_id
        updated = self._transition(
            incident_id,
            Action.RESOLVE,
            lambda i, now: {"resolved_at": now, "resolved_by": by, "resolution_notes": notes, "auto_resolved": automatic},
        )
        if updated.dedup_key:
            self._store.release_dedup_key(updated.dedup_key, incident_id)
        how = "automatically" if automatic else f"by {by}"
        self._log(incident_id, TimelineKind.RESOLVED, by, f"Resolved {how}: {notes}", details={"automatic": automatic})
        self._stop_paging(updated, f"resolved {how}")
        self._publish(EventType.RESOLVED, updated)
        return updated

    def add_note(self, incident_id_or_reference: str, by: str, text: str) -> TimelineEntry:
        incident = self.get(incident_id_or_reference)
        return self._log(incident.incident_id, TimelineKind.NOTE, by, text)

    def _stop_paging(self, incident: Incident, outcome: str) -> None:
        token = incident.escalation.task_token
        if token and self._workflow is not None:
            self._workflow.stop_paging(token, outcome)

    def _transition(self, incident_id: str, action: Action, changes: Callable[[Incident, object], dict]) -> Incident:
        def apply(current: Incident) -> Incident:
            status = next_status(current.reference, current.status, action)
            return current.model_copy(update={"status": status, **changes(current, self._clock())})

        return self._update(incident_id, apply)

    # --- plumbing --------------------------------------------------------------------------------

    def _update(self, incident_id: str, change: Callable[[Incident], Incident]) -> Incident:
        """Optimistic read-modify-write: a concurrent save makes us re-read and re-apply, never lose it."""
        for _ in range(_SAVE_ATTEMPTS):
            current = self.get(incident_id)
            try:
                return self._store.save(change(current))
            except ConcurrentUpdate:
                continue
        raise ConcurrentUpdate(f"{incident_id}: too many concurrent updates")

    def _log(self, incident_id: str, kind: TimelineKind, actor: str, message: str, details: dict | None = None) -> TimelineEntry:
        entry = TimelineEntry(incident_id=incident_id, at=self._clock(), kind=kind, actor=actor, message=message, details=details or {})
        self._store.append_timeline(entry)
        return entry

    def _publish(self, event_type: EventType, incident: Incident) -> None:
        self._events.publish(
            IncidentEvent(type=event_type, incident_id=incident.incident_id, reference=incident.reference, occurred_at=self._clock())
        )

    @staticmethod
    def _require(dependency: T | None) -> T:
        if dependency is None:
            raise RuntimeError("this use case needs a dependency the caller did not wire")
        return dependency
