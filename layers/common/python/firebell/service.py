"""Incident use cases: what happens when an alarm fires, a person reports, a timer wakes, someone acts.

Pure orchestration over the ports in ports.py: no boto3 here, so every rule is unit-testable with fakes.
Every timer lives in a Step Functions state machine (infra/statemachines); this module decides what a
wake-up means, and answers the waiting tasks.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from ulid import ULID

from . import workflows as machines
from .config import FirebellConfig, Person
from .domain import ack_links, sla
from .domain.classification import classify
from .domain.enums import Action, AlarmState, EventType, Source, Status, TimelineKind
from .domain.errors import ConcurrentUpdate, DomainError, IncidentNotFound, InvalidTransition
from .domain.escalation import escalation_plan, people_for, plan_targets, scaled_timeout
from .domain.lifecycle import is_open, next_status
from .domain.rules import ProcessRules
from .domain.models import (
    AlarmDetails,
    EscalationExhausted,
    Incident,
    IncidentCreate,
    IncidentEvent,
    IncidentRead,
    PageRequest,
    QuietCheck,
    ReminderDue,
    Signal,
    ResolutionConfirming,
    Review,
    SlaWakeUp,
    StakeholderUpdates,
    TimelineEntry,
    WatchRequest,
)
from .ports import Clock, DedupState, EventPublisher, IncidentFilter, IncidentStore, Messenger, Page, Workflows

T = TypeVar("T")
SYSTEM = "firebell"
_REFERENCE = re.compile(r"^INC-\d+$")
_SAVE_ATTEMPTS = 8
_MAX_REMINDER_ROUNDS = 500  # a duty nobody ever does still ends (Standard executions last at most a year)
# How long an alert's claim may stay unwritten before a later signal assumes its writer crashed.
_CLAIM_GRACE = timedelta(seconds=30)


class AlarmOutcome(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    DEDUPLICATED = "deduplicated"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    RECORDED = "recorded"
    IGNORED = "ignored"


class UnknownPerson(DomainError):
    def __init__(self, person: str) -> None:
        super().__init__(f"unknown person {person!r}")


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
        workflows: Workflows | None = None,
        messenger: Messenger | None = None,
        time_scale: float = 1.0,
        public_api_url: str = "",
        ack_secret: Callable[[], bytes] | None = None,
    ) -> None:
        self._store = store
        self._events = events
        self._clock = clock
        self._config = config
        self._workflows = workflows
        self._messenger = messenger
        self._time_scale = time_scale
        self._api_url = public_api_url.rstrip("/")
        self._ack_secret = ack_secret

    # --- reading ---------------------------------------------------------------------------------

    def get(self, incident_id_or_reference: str) -> Incident:
        if _REFERENCE.match(incident_id_or_reference):
            found = self._store.get_by_reference(incident_id_or_reference)
        else:
            found = self._store.get(incident_id_or_reference)
        if found is None:
            raise IncidentNotFound(incident_id_or_reference)
        return found

    def read(self, incident: Incident) -> IncidentRead:
        """The API's view: the exact occurrence count lives on the dedup pointer (one write per repeat)."""
        if incident.dedup_key:
            state = self._store.dedup_state(incident.dedup_key)
            if state is not None and state.incident_id == incident.incident_id and state.occurrences > incident.occurrences:
                incident = incident.model_copy(update={"occurrences": state.occurrences, "last_seen_at": state.last_seen})
        return IncidentRead.of(incident, self._clock())

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

    def handle_alarm(self, alarm: AlarmDetails, redelivered: bool = False) -> tuple[AlarmOutcome, str | None]:
        """A CloudWatch alarm state change: ALARM triggers, OK resolves, INSUFFICIENT_DATA is recorded."""
        action = {AlarmState.ALARM: "trigger", AlarmState.OK: "resolve", AlarmState.INSUFFICIENT_DATA: "record"}[alarm.state]
        if alarm.actions_suppressed_by and action == "trigger":
            action = "record"
        details = alarm.reason
        if action == "record":
            suppressed = f" (actions suppressed: {alarm.actions_suppressed_by})" if alarm.actions_suppressed_by else ""
            details = f"alarm is {alarm.state}{suppressed}: {alarm.reason}"
        signal = Signal(
            source=Source.CLOUDWATCH_ALARM,
            action=action,
            dedup_key=alarm.arn,
            summary=f"{alarm.name}: {alarm.description}"[:1024] if alarm.description else alarm.name,
            details=details,
            actor="cloudwatch",
            alarm=alarm,
        )
        return self.handle_signal(signal, redelivered)

    def handle_signal(self, signal: Signal, redelivered: bool = False) -> tuple[AlarmOutcome, str | None]:
        """Any monitoring source's alert. Returns what happened and the incident it concerned.

        `redelivered`: this same message was received before, so an earlier attempt may have failed midway.
        """
        if signal.action == "trigger":
            return self._trigger(signal, redelivered)
        state = self._store.dedup_state(signal.dedup_key)
        if state is None or not state.created:
            return AlarmOutcome.IGNORED, None
        try:
            if signal.action == "resolve":
                notes = f"{signal.summary} recovered" + (f": {signal.details}" if signal.details else "")
                self.resolve(state.incident_id, by=signal.actor, notes=notes, automatic=True)
                return AlarmOutcome.RESOLVED, state.incident_id
            if signal.action == "acknowledge":
                self.acknowledge(state.incident_id, by=signal.actor)
                return AlarmOutcome.ACKNOWLEDGED, state.incident_id
        except InvalidTransition:
            return AlarmOutcome.IGNORED, state.incident_id
        # "record": worth a line on the timeline (e.g. INSUFFICIENT_DATA), never a page.
        self._log(state.incident_id, TimelineKind.ALARM_STATE, signal.actor, f"{signal.summary}: {signal.details}".rstrip(": "))
        return AlarmOutcome.RECORDED, state.incident_id

    def _trigger(self, signal: Signal, redelivered: bool) -> tuple[AlarmOutcome, str | None]:
        now = self._clock()
        candidate = str(ULID())
        # The one write every alert costs: claim the key or count a repeat, atomically.
        state = self._store.record_signal(signal.dedup_key, candidate, now)
        if state.claimed:
            return AlarmOutcome.OPENED, self._open_from_signal(state.incident_id, signal).incident_id
        if state.resolved_at is not None:
            return self._flapped(signal, state, candidate, now, redelivered)
        took_over = False
        if not state.created:
            # Another delivery claimed the key and is writing the incident. If it crashed (it is long ago,
            # or this is a redelivery), finish its job; the conditional create makes a race harmless.
            if not (redelivered or now - state.first_seen > _CLAIM_GRACE):
                return AlarmOutcome.DEDUPLICATED, state.incident_id
            if self._store.get(state.incident_id) is None:
                try:
                    return AlarmOutcome.OPENED, self._open_from_signal(state.incident_id, signal).incident_id
                except ConcurrentUpdate:
                    pass
            # Written but never marked (the announcement failed): mark it and carry on as a repeat, which
            # re-announces an unclassified incident on redelivery.
            self._store.mark_dedup(signal.dedup_key, state.incident_id, created=True)
            state = dataclasses.replace(state, created=True)
            took_over = True
        self._log_repeat(signal, state, now)
        if redelivered or took_over:
            existing = self.get(state.incident_id)
            if existing.priority is None:
                # An earlier attempt may have written the incident and failed to announce it:
                # announce again (classification is idempotent). First deliveries in a storm never do.
                self._publish(EventType.OPENED, existing)
        return AlarmOutcome.DEDUPLICATED, state.incident_id

    def _log_repeat(self, signal: Signal, state: DedupState, now: datetime) -> None:
        """At most one timeline entry per few minutes in a storm; the count itself is always exact."""
        every = timedelta(minutes=self._process().occurrence_log_minutes)
        if state.last_logged_at is not None and now - state.last_logged_at < every:
            return
        if not self._store.mark_dedup(signal.dedup_key, state.incident_id, logged_at=now, logged_before=state.last_logged_at):
            return  # a concurrent repeat took this slot
        self._store.sync_occurrences(state.incident_id, state.occurrences, now)
        self._log(state.incident_id, TimelineKind.OCCURRENCE, signal.actor,
                  f"{signal.summary} fired again: {state.occurrences} occurrences since {state.first_seen:%H:%M:%S} UTC")

    def _flapped(self, signal: Signal, state: DedupState, candidate: str, now: datetime, redelivered: bool) -> tuple[AlarmOutcome, str | None]:
        """It recovered and fires again: within the flapping window the same incident reopens."""
        window = sla.scaled(self._process().flapping_window_minutes, self._time_scale)
        if now - state.resolved_at <= window:
            try:
                after = (now - state.resolved_at).total_seconds()
                self.reopen(state.incident_id, by=signal.actor, reason=f"{signal.summary} fired again {after:.0f}s after it recovered")
                return AlarmOutcome.REOPENED, state.incident_id
            except InvalidTransition:
                if self.get(state.incident_id).status is not Status.CLOSED:
                    return AlarmOutcome.DEDUPLICATED, state.incident_id  # a concurrent repeat reopened it
                # it closed meanwhile: this alert starts a new incident
        self._store.sync_occurrences(state.incident_id, state.occurrences - 1, state.last_seen)
        if self._store.replace_dedup(signal.dedup_key, state.incident_id, candidate, now):
            return AlarmOutcome.OPENED, self._open_from_signal(candidate, signal).incident_id
        return self._trigger(signal, redelivered)  # another trigger replaced it first: count this one there

    def _open_from_signal(self, incident_id: str, signal: Signal) -> Incident:
        incident = self._open(
            incident_id=incident_id,
            title=signal.summary,
            description=signal.details,
            source=signal.source,
            reporter=signal.actor,
            service=signal.service,
            impact=signal.impact,
            urgency=signal.urgency,
            alarm=signal.alarm,
            dedup_key=signal.dedup_key,
            labels=signal.labels,
            custom_details=signal.custom_details,
            links=signal.links,
        )
        self._store.mark_dedup(signal.dedup_key, incident_id, created=True)
        return incident

    def _process(self) -> ProcessRules:
        return self._config().rules.process if self._config else ProcessRules()

    def _open(self, incident_id: str, **fields) -> Incident:
        now = self._clock()
        incident = Incident(incident_id=incident_id, reference=self._store.next_reference(), opened_at=now, last_seen_at=now, **fields)
        created = self._store.create(incident)
        origin = (
            f"alarm {incident.alarm.name}" if incident.alarm
            else {Source.PAGERDUTY: "a PagerDuty Events v2 event", Source.ALERTMANAGER: "an Alertmanager alert"}.get(
                incident.source, f"report by {incident.reporter}")
        )
        self._log(created.incident_id, TimelineKind.OPENED, incident.reporter, f"{created.reference} opened from {origin}: {created.title}")
        self._publish(EventType.OPENED, created)
        return created

    # --- categorisation, prioritisation, escalation ----------------------------------------------

    def classify(self, incident_id: str) -> Incident:
        """Idempotent: a redelivered event finishes whatever an earlier attempt left undone."""
        config = self._need(self._config)()
        incident = self.get(incident_id)
        if incident.priority is None:
            incident = self._classify(incident, config)
        if not is_open(incident.status):
            return incident
        if incident.sla and incident.sla.execution_arn is None:
            incident = self._arm_sla(incident)
        if incident.escalation.execution_arn is None and incident.escalation.deferred_until is None:
            window = self._maintenance_window(incident, config)
            incident = self._defer(incident, window) if window else self._start_escalation(incident, config)
        if incident.escalation.execution_arn is None:
            return incident  # in maintenance: nobody is paged or chased until the window ends
        incident = self._start_quiet_period(incident, config)
        return self._start_duties(incident, config)

    def _start_quiet_period(self, incident: Incident, config: FirebellConfig) -> Incident:
        """Services that auto-resolve their alerts: resolve once the alert has been quiet long enough."""
        service = config.directory.service(incident.service)
        if not incident.dedup_key or service is None or service.auto_resolve_quiet_minutes is None:
            return incident
        self._need(self._workflows).start(
            machines.QUIET, f"{incident.incident_id}-quiet-{incident.reopened_count}",
            {"incident_id": incident.incident_id, "quiet_seconds": scaled_timeout(service.auto_resolve_quiet_minutes, self._time_scale)},
        )
        return incident

    def quiet_check(self, request: QuietCheck) -> None:
        incident = self.get(request.incident_id)
        workflows = self._need(self._workflows)
        service = self._need(self._config)().directory.service(incident.service)
        minutes = service.auto_resolve_quiet_minutes if service else None
        if not is_open(incident.status) or minutes is None or not incident.dedup_key:
            workflows.answer(request.task_token, "done")
            return
        state = self._store.dedup_state(incident.dedup_key)
        last_seen = state.last_seen if state and state.incident_id == incident.incident_id else incident.last_seen_at
        remaining = (last_seen + sla.scaled(minutes, self._time_scale) - self._clock()).total_seconds()
        if remaining > 0:  # it fired again meanwhile: the quiet period starts over from that occurrence
            workflows.answer(request.task_token, "wait", seconds=max(1, math.ceil(remaining)))
            return
        self.resolve(incident.incident_id, by=SYSTEM, notes=f"no new occurrence for {minutes:g} min (quiet period)", automatic=True)
        workflows.answer(request.task_token, "done")

    def _start_duties(self, incident: Incident, config: FirebellConfig) -> Incident:
        """What a major incident needs besides paging: an incident manager, stakeholder updates."""
        if incident.priority in config.rules.process.incident_manager_priorities and incident.incident_manager is None:
            incident = self._assign_incident_manager(incident, config)
        if incident.priority in config.rules.process.stakeholder_update_minutes and incident.updates is None:
            incident = self._start_updates(incident, config)
        return incident

    def _classify(self, incident: Incident, config: FirebellConfig) -> Incident:
        result = classify(incident, config.rules, config.directory, self._time_scale)
        fields = {
            "category": result.category, "impact": result.impact, "urgency": result.urgency, "priority": result.priority,
            "team": result.team, "service": result.service, "sla": result.sla,
        }
        classified = self._update(incident.incident_id, lambda current: current.model_copy(update=fields))
        self._log(
            incident.incident_id,
            TimelineKind.CLASSIFIED,
            SYSTEM,
            f"Classified {result.category}: impact {result.impact} × urgency {result.urgency} → {result.priority}; "
            f"team {result.team}; respond by {result.sla.response.due_at:%H:%M} UTC, "
            f"resolve by {result.sla.resolution.due_at:%Y-%m-%d %H:%M} UTC",
            details={"category": result.category, "priority": result.priority, "team": result.team},
        )
        self._publish(EventType.CLASSIFIED, classified)
        return classified

    def _maintenance_window(self, incident: Incident, config: FirebellConfig):
        service = config.directory.service(incident.service)
        return service.maintenance_at(self._clock()) if service else None

    def _defer(self, incident: Incident, window) -> Incident:
        """During maintenance the incident is recorded, nobody is paged; escalation starts when the window ends."""
        execution = self._need(self._workflows).start(
            machines.MAINTENANCE, f"{incident.incident_id}-maintenance",
            {"incident_id": incident.incident_id, "window_ends_at": sla.state_machine_time(window.end)},
        )
        updated = self._update_part(incident.incident_id, "escalation", deferred_until=window.end)
        self._log(incident.incident_id, TimelineKind.MAINTENANCE, SYSTEM,
                  f"Service {incident.service} is in maintenance until {window.end:%Y-%m-%d %H:%M} UTC ({window.reason or 'no reason given'}): "
                  f"recorded, nobody paged until then", details={"execution": execution})
        return updated

    def maintenance_ended(self, incident_id: str) -> Incident:
        config = self._need(self._config)()
        incident = self.get(incident_id)
        if not is_open(incident.status) or incident.escalation.execution_arn:
            return incident
        self._log(incident_id, TimelineKind.MAINTENANCE, SYSTEM, "Maintenance window over and the incident is still open: escalation starts")
        return self._start_duties(self._start_escalation(incident, config), config)

    def _start_escalation(self, incident: Incident, config: FirebellConfig) -> Incident:
        plan = escalation_plan(incident, config.directory, config.rules, self._time_scale)
        run = incident.escalation.runs + 1
        name = incident.incident_id if run == 1 else f"{incident.incident_id}-{run}"
        execution = self._need(self._workflows).start(machines.ESCALATION, name, plan.model_dump(mode="json"))
        updated = self._update_part(
            incident.incident_id, "escalation", execution_arn=execution, runs=run, level=0, round=1, task_token=None,
            watching=False, exhausted=False, deferred_until=None,
        )
        steps = ", then ".join(
            f"level {lvl.level} ({', '.join(t.ref for t in lvl.targets)}) for {lvl.timeout_seconds}s" for lvl in plan.levels
        )
        repeat = f" ×{plan.rounds}" if plan.rounds > 1 else ""
        self._log(incident.incident_id, TimelineKind.ESCALATION_STARTED, SYSTEM, f"Escalation started: {steps}{repeat}; then incident manager")
        return updated

    def _assign_incident_manager(self, incident: Incident, config: FirebellConfig) -> Incident:
        manager = config.directory.team(incident.team).incident_managers[0]
        updated = self._update(incident.incident_id, lambda current: current.model_copy(update={"incident_manager": manager}))
        self._log(incident.incident_id, TimelineKind.INCIDENT_MANAGER, SYSTEM, f"{incident.priority}: {manager} assigned as incident manager")
        self._reach(updated, [manager], urgent=True, why=f"incident manager for {incident.priority}")
        return updated

    # --- paging and the acknowledgement watch ----------------------------------------------------

    def page(self, request: PageRequest) -> list[Delivery]:
        incident = self.get(request.incident_id)
        workflows = self._need(self._workflows)
        if incident.escalation.task_token == request.task_token:
            return []  # this level was already paged (redelivered message)
        if request.retrigger and incident.status is Status.ACKNOWLEDGED and incident.escalation.watching:
            incident = self._transition(incident.incident_id, Action.RETRIGGER, lambda i, now: {})
            self._log(incident.incident_id, TimelineKind.RETRIGGERED, SYSTEM, "Acknowledged but untouched past the acknowledgement timeout: paging again")
        if incident.status is Status.ON_HOLD:
            # On hold is acknowledged: the watch goes on, nobody is paged.
            self._remember_token(incident.incident_id, request.task_token, watching=True)
            workflows.answer(request.task_token, "acknowledged")
            return []
        if incident.status is not Status.TRIGGERED:
            workflows.answer(request.task_token, "acknowledged" if incident.status is Status.ACKNOWLEDGED else "stop")
            self._log(incident.incident_id, TimelineKind.PAGE_SKIPPED, SYSTEM, f"Level {request.level.level} not paged: incident {incident.status}")
            return []
        config = self._need(self._config)()
        people = people_for(request.level.targets, config.directory, self._clock())
        round_note = f", round {request.round}" if request.round > 1 else ""
        deliveries = self._reach(incident, people, urgent=True, why=f"level {request.level.level}{round_note}")
        self._log(
            incident.incident_id, TimelineKind.PAGED, SYSTEM,
            f"Level {request.level.level}{round_note} paged: {', '.join(people) or 'nobody reachable'}; "
            f"escalates in {request.level.timeout_seconds}s unless acknowledged",
            details={"level": request.level.level, "round": request.round, "people": people},
        )
        updated = self._update_part(
            incident.incident_id, "escalation", level=request.level.level, round=request.round, task_token=request.task_token, watching=False
        )
        if updated.status is not Status.TRIGGERED:  # acknowledged or resolved while we were paging
            workflows.answer(request.task_token, "acknowledged" if updated.status in (Status.ACKNOWLEDGED, Status.ON_HOLD) else "stop")
        return deliveries

    def watch(self, request: WatchRequest) -> None:
        incident = self.get(request.incident_id)
        if not is_open(incident.status):
            self._need(self._workflows).answer(request.task_token, "stop")
            return
        self._remember_token(incident.incident_id, request.task_token, watching=True)

    def _remember_token(self, incident_id: str, token: str, watching: bool) -> Incident:
        return self._update_part(incident_id, "escalation", task_token=token, watching=watching)

    def page_incident_managers(self, request: EscalationExhausted) -> list[Delivery]:
        incident = self.get(request.incident_id)
        if incident.status is not Status.TRIGGERED or incident.escalation.exhausted:
            return []
        deliveries = self._reach(incident, request.incident_managers, urgent=True, why="nobody acknowledged")
        self._update_part(incident.incident_id, "escalation", exhausted=True)
        self._log(incident.incident_id, TimelineKind.ESCALATION_EXHAUSTED, SYSTEM,
                  f"No level acknowledged: incident manager paged ({', '.join(request.incident_managers)})")
        return deliveries

    # --- SLA clocks --------------------------------------------------------------------------------

    def _arm_sla(self, incident: Incident) -> Incident:
        clock = incident.sla
        assert clock is not None
        execution = self._need(self._workflows).start(
            machines.SLA, f"{incident.incident_id}-sla-{clock.generation}", sla.timers_input(clock, incident.incident_id)
        )
        return self._update_part(incident.incident_id, "sla", execution_arn=execution)

    def _pause_sla(self, incident: Incident) -> Incident:
        if incident.sla is None or incident.sla.paused_since:
            return incident
        if incident.sla.execution_arn:
            self._need(self._workflows).stop(incident.sla.execution_arn, "SLA paused")
        return self._update(
            incident.incident_id, lambda current: current.model_copy(update={"sla": sla.pause(current.sla, self._clock())})
        )

    def _resume_sla(self, incident: Incident) -> Incident:
        if incident.sla is None or incident.sla.paused_since is None:
            return incident
        resumed = self._update(
            incident.incident_id,
            lambda current: current.model_copy(update={"sla": sla.resume(current.sla, self._clock()).model_copy(update={"execution_arn": None})}),
        )
        return self._arm_sla(resumed)

    def sla_wake_up(self, wake: SlaWakeUp) -> list[Delivery]:
        config = self._need(self._config)()
        incident = self.get(wake.incident_id)
        clock = incident.sla
        if clock is None or wake.generation != clock.generation or clock.paused_since or not is_open(incident.status):
            return []  # stale: the clock was paused, re-armed or stopped since this wake-up was scheduled
        timer = getattr(clock, wake.clock)
        now = self._clock()
        if timer.met_at:
            return []
        if wake.type == "sla.at_risk":
            if timer.at_risk_notified_at:
                return []
            self._mark_sla_timer(incident.incident_id, wake.clock, at_risk_notified_at=now)
            left = (timer.due_at - now).total_seconds()
            self._log(incident.incident_id, TimelineKind.SLA_AT_RISK, SYSTEM,
                      f"{wake.clock.title()} SLA at risk: {left:.0f}s left of {timer.target_minutes:g} min", details={"clock": wake.clock})
            return self._reach(incident, self._owners(incident, config), urgent=False, why=f"{wake.clock} SLA at risk")
        if timer.breached_at:
            return []
        self._mark_sla_timer(incident.incident_id, wake.clock, breached_at=now)
        self._log(incident.incident_id, TimelineKind.SLA_BREACHED, SYSTEM,
                  f"{wake.clock.title()} SLA breached: target {timer.target_minutes:g} min", details={"clock": wake.clock})
        managers = [incident.incident_manager] if incident.incident_manager else list(config.directory.team(incident.team).incident_managers)
        return self._reach(incident, managers, urgent=True, why=f"{wake.clock} SLA breached")

    def _mark_sla_timer(self, incident_id: str, which: str, **fields) -> Incident:
        return self._update(incident_id, lambda current: current.model_copy(update={"sla": current.sla.model_copy(
            update={which: getattr(current.sla, which).model_copy(update=fields)})}))

    def _owners(self, incident: Incident, config: FirebellConfig) -> list[str]:
        """Who owns the incident now: its assignee, whoever acknowledged it, else the first level's people."""
        if incident.assignee:
            return [incident.assignee]
        if incident.acknowledged_by and config.directory.person(incident.acknowledged_by):
            return [incident.acknowledged_by]
        policy = config.directory.policy_for(incident.team, incident.service)
        return people_for(plan_targets(policy.levels[0]), config.directory, self._clock())

    # --- duties: stakeholder updates and post-incident reviews -----------------------------------

    def _start_updates(self, incident: Incident, config: FirebellConfig) -> Incident:
        every = config.rules.process.stakeholder_update_minutes[incident.priority]
        execution = self._start_reminder(incident, "updates", every, incident.escalation.runs)
        updated = self._update(incident.incident_id, lambda current: current.model_copy(
            update={"updates": StakeholderUpdates(every_minutes=every, execution_arn=execution)}))
        self._log(incident.incident_id, TimelineKind.STAKEHOLDER_UPDATE, SYSTEM,
                  f"{incident.priority}: stakeholder updates due every {every:g} min while open")
        return updated

    def _start_reminder(self, incident: Incident, duty: str, every_minutes: float, run: int) -> str:
        return self._need(self._workflows).start(
            machines.REMINDER, f"{incident.incident_id}-{duty}-{run}",
            {"incident_id": incident.incident_id, "duty": duty, "max_rounds": _MAX_REMINDER_ROUNDS,
             "interval_seconds": scaled_timeout(every_minutes, self._time_scale)},
        )

    def reminder_due(self, due: ReminderDue) -> list[Delivery]:
        incident = self.get(due.incident_id)
        workflows = self._need(self._workflows)
        config = self._need(self._config)()
        if due.duty == "review":
            review = incident.review
            if review is None or review.completed_at:
                workflows.answer(due.task_token, "done")
                return []
            self._store_duty_token(incident.incident_id, "review", due.task_token, sent=due.round > 1)
            why = "post-incident review assigned" if due.round == 1 else f"post-incident review reminder #{due.round - 1}"
            return self._reach(incident, [review.owner], urgent=False, why=why)
        updates = incident.updates
        if updates is None or not is_open(incident.status):
            workflows.answer(due.task_token, "done")
            return []
        self._store_duty_token(incident.incident_id, "updates", due.task_token, sent=False)
        if due.round == 1:
            return []
        window_start = self._clock() - sla.scaled(updates.every_minutes, self._time_scale)
        if updates.last_update_at and updates.last_update_at >= window_start:
            self._update_part(incident.incident_id, "updates", overdue_rounds=0)
            return []
        overdue = updates.overdue_rounds + 1
        self._update(incident.incident_id, lambda c: c.model_copy(update={"updates": c.updates.model_copy(
            update={"overdue_rounds": overdue, "reminders_sent": c.updates.reminders_sent + 1})}))
        team = config.directory.team(incident.team)
        manager = incident.incident_manager or team.incident_managers[0]
        if overdue == 1:
            self._log(incident.incident_id, TimelineKind.UPDATE_OVERDUE, SYSTEM, f"Stakeholder update overdue: {manager} reminded")
            return self._reach(incident, [manager], urgent=False, why="stakeholder update overdue")
        escalate_to = [p for p in (manager, team.manager) if p]
        self._log(incident.incident_id, TimelineKind.UPDATE_OVERDUE, SYSTEM,
                  f"Stakeholder update overdue {overdue} times in a row: escalated to {', '.join(escalate_to)}")
        return self._reach(incident, escalate_to, urgent=True, why=f"stakeholder update overdue ×{overdue}")

    def _store_duty_token(self, incident_id: str, duty: str, token: str, sent: bool) -> None:
        def change(current: Incident) -> Incident:
            state = getattr(current, duty)
            return current.model_copy(update={duty: state.model_copy(
                update={"task_token": token, "reminders_sent": state.reminders_sent + (1 if sent else 0)})})

        self._update(incident_id, change)

    def post_update(self, incident_id_or_reference: str, by: str, message: str) -> list[Delivery]:
        config = self._need(self._config)()
        incident = self.get(incident_id_or_reference)
        now = self._clock()
        if incident.updates:
            self._update_part(incident.incident_id, "updates", last_update_at=now, overdue_rounds=0)
        self._log(incident.incident_id, TimelineKind.STAKEHOLDER_UPDATE, by, message)
        team = config.directory.team(incident.team)
        deliveries = self._reach(incident, list(team.stakeholders), urgent=False, why="stakeholder update", note=message)
        self._touch(self.get(incident.incident_id))
        return deliveries

    def complete_review(self, incident_id_or_reference: str, by: str, summary: str) -> Incident:
        incident = self.get(incident_id_or_reference)
        if incident.review is None:
            raise InvalidTransition(incident.reference, incident.status, "complete the review of", "it has no post-incident review")
        if incident.review.completed_at:
            raise InvalidTransition(incident.reference, incident.status, "complete the review of", "the review is already done")
        now = self._clock()
        updated = self._update_part(incident.incident_id, "review", completed_at=now, completed_by=by, summary=summary)
        self._log(incident.incident_id, TimelineKind.REVIEW, by, f"Post-incident review done: {summary}")
        if incident.review.task_token:
            self._need(self._workflows).answer(incident.review.task_token, "done")
        return updated

    # --- acknowledgement, hold, escalation by hand, reassignment ---------------------------------

    def acknowledge(self, incident_id_or_reference: str, by: str) -> Incident:
        incident_id = self.get(incident_id_or_reference).incident_id
        now = self._clock()
        updated = self._transition(incident_id, Action.ACKNOWLEDGE, lambda i, at: {"acknowledged_at": at, "acknowledged_by": by})
        if updated.sla:
            updated = self._update(incident_id, lambda c: c.model_copy(update={"sla": sla.meet(c.sla, "response", now)}))
        self._log(incident_id, TimelineKind.ACKNOWLEDGED, by, f"Acknowledged by {by}; paging stopped")
        self._answer_escalation(updated, "acknowledged")
        self._publish(EventType.ACKNOWLEDGED, updated)
        return updated

    def acknowledge_link(self, incident: Incident, person: str) -> str:
        config = self._need(self._config)()
        expires = self._clock() + timedelta(hours=config.rules.process.ack_link_hours)
        token = ack_links.sign(incident.incident_id, person, expires, self._need(self._ack_secret)())
        return f"{self._api_url}/ack/{token}"

    def acknowledge_by_link(self, token: str) -> Incident:
        claim = ack_links.verify(token, self._need(self._ack_secret)(), self._clock())
        if not self._store.consume_once(f"ACKLINK#{claim.nonce}", claim.expires_at):
            raise ack_links.InvalidAckLink("this acknowledgement link was already used")
        return self.acknowledge(claim.incident_id, by=claim.person)

    def hold(self, incident_id_or_reference: str, by: str, reason: str) -> Incident:
        incident_id = self.get(incident_id_or_reference).incident_id
        updated = self._pause_sla(self._transition(incident_id, Action.HOLD, lambda i, at: {}))
        self._log(incident_id, TimelineKind.ON_HOLD, by, f"On hold: {reason or 'no reason given'}; SLA clocks paused")
        self._touch(updated)
        return updated

    def resume(self, incident_id_or_reference: str, by: str) -> Incident:
        incident_id = self.get(incident_id_or_reference).incident_id
        updated = self._resume_sla(self._transition(incident_id, Action.RESUME, lambda i, at: {}))
        self._log(incident_id, TimelineKind.RESUMED, by, "Resumed; SLA clocks running again")
        self._touch(updated)
        return updated

    def escalate(self, incident_id_or_reference: str, by: str, reason: str = "") -> Incident:
        incident = self.get(incident_id_or_reference)
        if incident.status is Status.ON_HOLD:
            raise InvalidTransition(incident.reference, incident.status, "escalate", "it is on hold; resume it first")
        if not is_open(incident.status):
            raise InvalidTransition(incident.reference, incident.status, "escalate", f"it is {incident.status}")
        if incident.status is Status.ACKNOWLEDGED:
            incident = self._transition(incident.incident_id, Action.RETRIGGER, lambda i, at: {})
        self._log(incident.incident_id, TimelineKind.ESCALATED, by, f"Escalated by {by} to the next level{': ' + reason if reason else ''}")
        token = incident.escalation.task_token
        if token is None or not self._need(self._workflows).answer(token, "escalate"):
            # No escalation is waiting any more (it ran out, or never started): start a new one.
            return self._start_escalation(incident, self._need(self._config)())
        return self.get(incident.incident_id)

    def reassign(self, incident_id_or_reference: str, to: str, by: str) -> Incident:
        config = self._need(self._config)()
        if config.directory.person(to) is None:
            raise UnknownPerson(to)
        incident = self.get(incident_id_or_reference)
        if not is_open(incident.status):
            raise InvalidTransition(incident.reference, incident.status, "reassign", f"it is {incident.status}")
        updated = self._update(incident.incident_id, lambda c: c.model_copy(update={"assignee": to}))
        self._log(incident.incident_id, TimelineKind.REASSIGNED, by, f"Reassigned to {to} by {by}")
        self._reach(updated, [to], urgent=updated.status is Status.TRIGGERED, why=f"assigned by {by}")
        self._touch(updated)
        return updated

    def add_note(self, incident_id_or_reference: str, by: str, text: str) -> TimelineEntry:
        incident = self.get(incident_id_or_reference)
        entry = self._log(incident.incident_id, TimelineKind.NOTE, by, text)
        self._touch(incident)
        return entry

    def _touch(self, incident: Incident) -> None:
        """Activity on an acknowledged incident restarts its acknowledgement timeout."""
        if incident.escalation.watching and incident.escalation.task_token and is_open(incident.status):
            self._need(self._workflows).answer(incident.escalation.task_token, "touched")

    def _answer_escalation(self, incident: Incident, outcome: str) -> None:
        token = incident.escalation.task_token
        if token and self._workflows is not None:
            self._workflows.answer(token, outcome)

    # --- resolution, confirmation, closure, reopening --------------------------------------------

    def resolve(self, incident_id_or_reference: str, by: str, notes: str, automatic: bool = False) -> Incident:
        incident = self.get(incident_id_or_reference)
        incident_id = incident.incident_id
        now = self._clock()
        # A person resolving may race the alert firing again; an automatic resolve is that alert itself.
        before = self._store.dedup_state(incident.dedup_key) if incident.dedup_key and not automatic else None
        updated = self._transition(
            incident_id, Action.RESOLVE,
            lambda i, at: {"resolved_at": at, "resolved_by": by, "resolution_notes": notes, "auto_resolved": automatic},
        )
        if updated.sla:
            # Response is met by now whatever happened; the resolution clock stops (a reopen resumes it).
            updated = self._update(incident_id, lambda c: c.model_copy(update={"sla": sla.meet(sla.meet(c.sla, "response", now), "resolution", now)}))
            if updated.sla.execution_arn and self._workflows:
                self._workflows.stop(updated.sla.execution_arn, "resolved")
        if updated.dedup_key:
            self._store.mark_dedup(updated.dedup_key, incident_id, resolved_at=now)
            after = self._store.dedup_state(updated.dedup_key) if before else None
            if before and after and after.incident_id == incident_id and after.occurrences > before.occurrences:
                # The alert fired while we were resolving: it counted as a repeat of an open incident.
                self._log(incident_id, TimelineKind.RESOLVED, by, f"Resolved by {by}: {notes}")
                self._answer_escalation(updated, "stop")  # the reopen starts a fresh run; never two at once
                return self.reopen(incident_id, by="firebell", reason="the alert fired again while it was being resolved")
        how = "automatically" if automatic else f"by {by}"
        self._log(incident_id, TimelineKind.RESOLVED, by, f"Resolved {how}: {notes}", details={"automatic": automatic})
        self._answer_escalation(updated, "stop")
        if updated.updates and updated.updates.task_token and self._workflows:
            self._workflows.answer(updated.updates.task_token, "done")
        if self._workflows is not None and self._config is not None:
            updated = self._start_resolution(updated)
            updated = self._require_review(updated)
        self._publish(EventType.RESOLVED, updated)
        return updated

    def _start_resolution(self, incident: Incident) -> Incident:
        config = self._need(self._config)()
        execution = self._need(self._workflows).start(
            machines.RESOLUTION, f"{incident.incident_id}-resolution-{incident.reopened_count}",
            {"incident_id": incident.incident_id,
             "confirmation_seconds": scaled_timeout(config.rules.process.confirmation_window_minutes, self._time_scale)},
        )
        return self._update_part(incident.incident_id, "resolution", execution_arn=execution, task_token=None)

    def _require_review(self, incident: Incident) -> Incident:
        config = self._need(self._config)()
        process = config.rules.process
        if incident.priority not in process.review_required or incident.review is not None:
            return incident
        fallback = config.directory.team(incident.team).incident_managers[0]
        owner = incident.incident_manager or incident.acknowledged_by or fallback
        if config.directory.person(owner) is None:  # e.g. acknowledged by "cloudwatch" or a PagerDuty client
            owner = fallback
        due = self._clock() + sla.scaled(process.review_due_days * 24 * 60, self._time_scale)
        execution = self._start_reminder(incident, "review", process.review_reminder_hours * 60, incident.reopened_count)
        updated = self._update(incident.incident_id, lambda c: c.model_copy(
            update={"review": Review(owner=owner, due_at=due, execution_arn=execution)}))
        self._log(incident.incident_id, TimelineKind.REVIEW, SYSTEM,
                  f"{incident.priority}: post-incident review required, owner {owner}, due {due:%Y-%m-%d %H:%M} UTC")
        return updated

    def resolution_confirming(self, request: ResolutionConfirming) -> list[Delivery]:
        """The confirmation window opened: keep its token, tell stakeholders and those paged."""
        incident = self.get(request.incident_id)
        if incident.status is not Status.RESOLVED:
            self._need(self._workflows).answer(request.task_token, "reopened")
            return []
        if incident.resolution.task_token == request.task_token:
            return []  # redelivered
        self._update_part(incident.incident_id, "resolution", task_token=request.task_token)
        return self.announce_resolution(incident.incident_id)

    def announce_resolution(self, incident_id: str) -> list[Delivery]:
        """Tell stakeholders, everyone paged so far and any incident manager that the incident is resolved."""
        config = self._need(self._config)()
        incident = self.get(incident_id)
        paged = [p for entry in self._store.timeline(incident_id) if entry.kind is TimelineKind.PAGED for p in entry.details.get("people", [])]
        team = config.directory.team(incident.team)
        managers = list(team.incident_managers) if incident.escalation.exhausted else []
        extra = [p for p in (incident.incident_manager, incident.assignee) if p]
        audience = list(dict.fromkeys([*team.stakeholders, *paged, *managers, *extra]))
        return self._reach(incident, audience, urgent=False, why="resolution")

    def resolution_window_closed(self, incident_id: str) -> Incident:
        incident = self.get(incident_id)
        if incident.status is not Status.RESOLVED:
            return incident
        notes = f"Closed automatically: not reopened within the confirmation window. Resolution: {incident.resolution_notes}"
        closed = self._transition(incident_id, Action.CLOSE, lambda i, at: {"closed_at": at, "closed_by": SYSTEM, "closure_notes": notes})
        if closed.dedup_key:
            state = self._store.dedup_state(closed.dedup_key)
            if state and state.incident_id == incident_id:
                self._store.sync_occurrences(incident_id, state.occurrences, state.last_seen)
            self._store.release_dedup_key(closed.dedup_key, incident_id)
        self._log(incident_id, TimelineKind.CLOSED, SYSTEM, notes)
        self._publish(EventType.CLOSED, closed)
        return closed

    def reopen(self, incident_id_or_reference: str, by: str, reason: str) -> Incident:
        incident = self.get(incident_id_or_reference)
        updated = self._transition(
            incident.incident_id, Action.REOPEN,
            lambda i, at: {"resolved_at": None, "resolved_by": None, "auto_resolved": False, "reopened_count": i.reopened_count + 1,
                           "acknowledged_at": None, "acknowledged_by": None},
        )
        self._log(incident.incident_id, TimelineKind.REOPENED, by, f"Reopened by {by}: {reason or 'no reason given'}")
        if incident.dedup_key:
            self._store.mark_dedup(incident.dedup_key, incident.incident_id, resolved_at=None)
        if incident.resolution.task_token:
            self._need(self._workflows).answer(incident.resolution.task_token, "reopened")
        if updated.sla:
            # The resolution clock carries on from where resolving stopped it.
            stopped_at = incident.resolved_at or self._clock()
            updated = self._update(updated.incident_id, lambda c: c.model_copy(update={"sla": c.sla.model_copy(update={
                "resolution": c.sla.resolution.model_copy(update={"met_at": None}),
                "paused_since": c.sla.paused_since or stopped_at, "execution_arn": None})}))
            updated = self._resume_sla(updated)
        self._publish(EventType.REOPENED, updated)
        if self._config is not None and self._workflows is not None:
            config = self._config()
            updated = self._start_escalation(updated, config)
            if updated.updates:
                execution = self._start_reminder(updated, "updates", updated.updates.every_minutes, updated.escalation.runs)
                updated = self._update_part(updated.incident_id, "updates", execution_arn=execution, task_token=None, overdue_rounds=0)
        return updated

    # --- reaching people -------------------------------------------------------------------------

    def _reach(self, incident: Incident, person_ids: list[str], urgent: bool, why: str, note: str | None = None) -> list[Delivery]:
        config = self._need(self._config)()
        messenger = self._need(self._messenger)
        directory = config.directory
        deliveries: list[Delivery] = []
        people = [(pid, directory.person(pid)) for pid in person_ids]
        for missing in [pid for pid, person in people if person is None]:
            self._log(incident.incident_id, TimelineKind.NOTIFICATION_FAILED, SYSTEM, f"cannot reach {missing}: no longer in the directory ({why})")
        for person in [person for _, person in people if person is not None]:
            subject, body, text = self._compose(incident, person, why, note)
            if person.email:
                message_id = messenger.send_email(directory.notifications.sender, person.email, subject, body)
                deliveries.append(Delivery("email", person.email, person.id, message_id))
            if person.phone and urgent:
                deliveries.append(Delivery("sms", person.phone, person.id, messenger.send_sms(person.phone, text)))
        for delivery in deliveries:
            self._log(
                incident.incident_id, TimelineKind.NOTIFICATION_SENT, SYSTEM,
                f"{delivery.channel} to {delivery.person} <{delivery.to}> ({why})",
                details={"channel": delivery.channel, "to": delivery.to, "person": delivery.person, "message_id": delivery.message_id, "why": why},
            )
        return deliveries

    def _compose(self, incident: Incident, person: Person, why: str, note: str | None) -> tuple[str, str, str]:
        priority = incident.priority or "unprioritised"
        state = incident.status.value.replace("_", " ")
        subject = f"[firebell] {incident.reference} {priority} {state}: {incident.title}"[:200]
        lines = [
            f"Hello {person.name},",
            "",
            f"{incident.reference} ({priority}, {incident.category or 'uncategorised'}) is {state} — you are receiving this for: {why}.",
            f"Title: {incident.title}",
            f"Team: {incident.team or '-'}   Service: {incident.service or '-'}",
        ]
        if note:
            lines += ["", note]
        if incident.sla:
            lines.append(f"Respond by {incident.sla.response.due_at:%Y-%m-%d %H:%M} UTC; resolve by {incident.sla.resolution.due_at:%Y-%m-%d %H:%M} UTC")
        if incident.resolution_notes and incident.status in (Status.RESOLVED, Status.CLOSED):
            lines.append(f"Resolution: {incident.resolution_notes}")
        if incident.review and not incident.review.completed_at and incident.review.owner == person.id:
            lines.append(f"Post-incident review due {incident.review.due_at:%Y-%m-%d %H:%M} UTC: POST {self._api_url}/incidents/{incident.reference}/review")
        link = ""
        if incident.status is Status.TRIGGERED and self._api_url and self._ack_secret is not None:
            link = self.acknowledge_link(incident, person.id)
            lines += ["", f"Acknowledge (stops paging): {link}"]
        text = f"firebell {incident.reference} {priority} {state}: {incident.title}"[:120] + (f" Ack: {link}" if link else "")
        return subject, "\n".join(lines), text

    # --- plumbing --------------------------------------------------------------------------------

    def _transition(self, incident_id: str, action: Action, changes: Callable[[Incident, datetime], dict]) -> Incident:
        def apply(current: Incident) -> Incident:
            status = next_status(current.reference, current.status, action)
            return current.model_copy(update={"status": status, **changes(current, self._clock())})

        return self._update(incident_id, apply)

    def _update_part(self, incident_id: str, part: str, **fields) -> Incident:
        """Change fields of one nested part of the incident (escalation, sla, updates, review, resolution)."""
        return self._update(incident_id, lambda current: current.model_copy(
            update={part: getattr(current, part).model_copy(update=fields)}))

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
    def _need(dependency: T | None) -> T:
        if dependency is None:
            raise RuntimeError("this use case needs a dependency the caller did not wire")
        return dependency
