"""Alert intake & dedup: identification and logging. Alerts from every source become one Signal; the first
occurrence opens an incident, repeats are counted with one write (all of an alert's copies in a queue batch
together), recovery resolves, a quick return reopens. People report incidents through the API (an
Idempotency-Key makes a retry find the first one)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any

from ulid import ULID

from ..domain import sla
from ..domain.enums import AlarmState, Source, Status, TimelineKind
from ..domain.errors import (
    ConcurrentUpdate,
    HeldBack,
    IdempotencyKeyReused,
    IdempotencyKeyTaken,
    InvalidTransition,
    UnknownService,
)
from ..domain.models import AlarmDetails, Incident, Signal, TimelineEntry
from ..domain.requests import DrillStart, IncidentCreate
from ..domain.signal_groups import Arrival, SignalGroup, group_arrivals, out_of_order, utc
from ..outbox import Change, DedupMark, EffectKind, IdempotencyClaim, Needs
from ..ports import SIGNALS_PER_WRITE, DedupState
from ..retrying import persevering
from .base import Context, Incidents
from .escalation import Escalation
from .lifecycle import Lifecycle
from .opening import Opening
from .resolution import Resolution

# How long an alert's claim may stay unwritten before a later signal assumes its writer crashed.
_CLAIM_GRACE = timedelta(seconds=30)
_IDEMPOTENCY_DAYS = 1


class AlarmOutcome(StrEnum):
    OPENED = "opened"
    ACKNOWLEDGED = "acknowledged"
    DEDUPLICATED = "deduplicated"
    REOPENED = "reopened"
    RESOLVED = "resolved"
    RECORDED = "recorded"
    IGNORED = "ignored"


Handled = tuple[AlarmOutcome, str | None] | Exception  # an arrival's outcome and incident, or why its group failed
Tried = Callable[[Callable[[int], list[Handled]]], list[Handled]]  # runs work (given the attempt, 0 first), maybe again


def _once(work: Callable[[int], list[Handled]]) -> list[Handled]:
    return work(0)


def _at(moment: datetime | None) -> str:
    return f"{utc(moment):%Y-%m-%d %H:%M:%S} UTC" if moment else "an unknown time"


def fingerprint(request: IncidentCreate | DrillStart) -> str:
    return hashlib.sha256(
        json.dumps({"kind": type(request).__name__, **request.model_dump(mode="json")}, sort_keys=True).encode()
    ).hexdigest()


def alarm_signal(alarm: AlarmDetails) -> Signal:
    """A CloudWatch alarm state change: ALARM triggers, OK resolves, INSUFFICIENT_DATA is recorded."""
    action = {AlarmState.ALARM: "trigger", AlarmState.OK: "resolve", AlarmState.INSUFFICIENT_DATA: "record"}[
        alarm.state
    ]
    if alarm.actions_suppressed_by and action == "trigger":
        action = "record"
    details = alarm.reason
    if action == "record":
        suppressed = f" (actions suppressed: {alarm.actions_suppressed_by})" if alarm.actions_suppressed_by else ""
        details = f"alarm is {alarm.state}{suppressed}: {alarm.reason}"
    return Signal(
        source=Source.CLOUDWATCH_ALARM,
        action=action,
        dedup_key=alarm.arn,
        summary=f"{alarm.name}: {alarm.description}"[:1024] if alarm.description else alarm.name,
        details=details,
        actor="cloudwatch",
        alarm=alarm,
        changed_at=alarm.changed_at,
    )


class AlertIntake:
    # It opens incidents, classified and paged in the same change (and announces them); recovery resolves, a
    # quick return reopens, PagerDuty acknowledges.
    NEEDS = Needs(effects=frozenset({EffectKind.PUBLISH})) | Escalation.NEEDS | Lifecycle.NEEDS | Resolution.NEEDS

    def __init__(
        self, incidents: Incidents, ctx: Context, lifecycle: Lifecycle, resolution: Resolution, escalation: Escalation
    ) -> None:
        self._incidents = incidents
        self._store = incidents.store
        self._ctx = ctx
        self._lifecycle = lifecycle
        self._resolution = resolution
        self._escalation = escalation
        self._opening = Opening(incidents.store, ctx, escalation)

    # --- people -----------------------------------------------------------------------------------

    def report(self, request: IncidentCreate, idempotency_key: str | None = None, actor: str | None = None) -> Incident:
        return self.report_once(request, idempotency_key, actor)[0]

    def report_once(
        self,
        request: IncidentCreate,
        idempotency_key: str | None = None,
        actor: str | None = None,
        source: Source = Source.API,
        custom_details: dict[str, Any] | None = None,
        links: list[dict[str, str]] | None = None,
    ) -> tuple[Incident, bool]:
        """Open an incident; True when an earlier request with this Idempotency-Key had opened it. The key is bound
        to the incident in the same transaction: a retry after any failure, or racing the first request, finds
        that incident (a different body is refused: IdempotencyKeyReused), never opens a second.

        `actor`: who asked (the authenticated caller), named on the timeline; the incident's reporter is the
        request's `reporter` (someone reporting for another) or else the actor. `source`, `custom_details` and
        `links`: where the report came from and what it carried besides (an email: usecases/mail_intake.py)."""
        reporter = request.reporter or actor
        if reporter is None:
            raise ValueError("a report names its reporter, or is made by an authenticated actor")
        if source is Source.API:  # (an email's service comes from the directory's own intake address)
            self._check_service(request.service)
        return self._opened_once(
            idempotency_key,
            fingerprint(request),
            lambda: self._opening.new(
                str(ULID()),
                title=request.title,
                description=request.description,
                source=source,
                reporter=reporter,
                service=request.service,
                impact=request.impact,
                urgency=request.urgency,
                opened_by=actor,
                custom_details=custom_details or {},
                links=links or [],
            ),
        )

    def start_drill(self, request: DrillStart, actor: str, idempotency_key: str | None = None) -> tuple[Incident, bool]:
        """A training drill: a synthetic incident opened, classified and paged like any (the real policy and
        schedules), marked as a drill in every message and left out of the reports; Resolution.end_drill ends it.
        With an Idempotency-Key, as report_once: True when an earlier request with it had started it."""
        self._check_service(request.service)
        return self._opened_once(
            idempotency_key,
            fingerprint(request),
            lambda: self._opening.new(
                str(ULID()),
                title=f"[DRILL] {request.title}",
                description=f"A drill started by {actor}.",
                source=Source.API,
                reporter=actor,
                service=request.service,
                impact=request.impact,
                urgency=request.urgency,
                drill=True,
            ),
        )

    def _check_service(self, service: str | None) -> None:
        """A service named by a person or tool must exist: a typo would otherwise route to the default team unseen.
        (Alerts from unknown services still go to the default team: a monitoring tool cannot be asked again.)"""
        directory = self._ctx.config().directory
        if service is not None and directory.service(service) is None:
            raise UnknownService(service, [known.id for known in directory.services])

    def _opened_once(
        self, idempotency_key: str | None, print_: str, new: Callable[[], Change]
    ) -> tuple[Incident, bool]:
        if idempotency_key:
            existing = self._bound(idempotency_key, print_)
            if existing:
                return existing, True
        change = new()
        if idempotency_key:
            change.idempotency = IdempotencyClaim(
                key=idempotency_key,
                incident_id=change.incident_id,
                fingerprint=print_,
                expires_at=change.now + timedelta(days=_IDEMPOTENCY_DAYS),
            )
        try:
            return self._incidents.open(change).incident, False
        except IdempotencyKeyTaken:
            # (only a change that claimed a key meets its claim taken: by a request like it that committed first)
            bound = self._bound(idempotency_key, print_) if idempotency_key else None
            if bound is None:
                raise
            return bound, True

    def _bound(self, key: str, print_: str) -> Incident | None:
        found = persevering(lambda: self._store.idempotent_incident(key))  # (a read: tried again in place)
        if found is None:
            return None
        incident_id, bound_print = found
        if bound_print != print_:
            shown = key.partition("|")[2] or key  # (the API scopes keys by caller: `<caller>|<key>`; say the key sent)
            raise IdempotencyKeyReused(
                f"Idempotency-Key {shown!r} was already used with a different request body; use a new key"
            )
        return self._incidents.get(incident_id)

    # --- monitoring tools ----------------------------------------------------------------------------

    def handle_alarm(
        self, alarm: AlarmDetails, message_id: str | None = None, redelivered: bool = False
    ) -> tuple[AlarmOutcome, str | None]:
        return self.handle_signal(alarm_signal(alarm), message_id, redelivered)

    def handle_signal(
        self, signal: Signal, message_id: str | None = None, redelivered: bool = False
    ) -> tuple[AlarmOutcome, str | None]:
        """Any monitoring source's alert. `message_id` identifies this notification across redeliveries (it
        counts once); `redelivered`: an earlier attempt at this message may have failed midway."""
        if signal.action == "trigger":
            return self._trigger(signal, [message_id], redelivered)
        state = self._store.dedup_state(signal.dedup_key)
        if state is None or not state.created:
            return AlarmOutcome.IGNORED, None
        try:
            if signal.action == "resolve":
                if out_of_order(signal.changed_at, state.triggered_at):
                    return self._ignored_out_of_order(
                        state.incident_id,
                        signal,
                        f"its recovery at {_at(signal.changed_at)} arrived after it fired at {_at(state.triggered_at)}",
                    )
                notes = f"{signal.summary} recovered" + (f": {signal.details}" if signal.details else "")
                self._resolution.resolve(
                    state.incident_id, by=signal.actor, notes=notes, automatic=True, recovered_at=signal.changed_at
                )
                return AlarmOutcome.RESOLVED, state.incident_id
            if signal.action == "acknowledge":
                self._lifecycle.acknowledge(state.incident_id, by=signal.actor)
                return AlarmOutcome.ACKNOWLEDGED, state.incident_id
        except InvalidTransition:
            return AlarmOutcome.IGNORED, state.incident_id
        # "record": worth a line on the timeline (e.g. INSUFFICIENT_DATA), never a page.
        line = f"{signal.summary}: {signal.details}".rstrip(": ")
        self._incidents.change(state.incident_id, lambda c: c.log(TimelineKind.ALARM_STATE, signal.actor, line))
        return AlarmOutcome.RECORDED, state.incident_id

    def _trigger(
        self, signal: Signal, message_ids: Sequence[str | None], redelivered: bool
    ) -> tuple[AlarmOutcome, str | None]:
        """`signal` arrived once per entry of `message_ids` (its notifications' ids, or None): what the first copy
        did; the others are its repeats."""
        now = self._ctx.clock()
        candidate = str(ULID())
        # The one write a batch's copies of an alert cost: claim the key and count them all, atomically (once per message).
        state = self._store.record_signals(signal.dedup_key, candidate, now, message_ids, signal.changed_at)
        if state.claimed:
            return self._open_from_signal(state.incident_id, signal)
        if state.resolved_at is not None and not state.replayed:
            return self._returned(signal, state, state.resolved_at, candidate, now, message_ids, redelivered)
        if not state.created:
            # Another delivery claimed the key and is writing the incident. If it crashed (it is long ago, or
            # this is a redelivery), finish its job; the conditional create makes a race harmless.
            if not (redelivered or state.replayed or now - state.first_seen > _CLAIM_GRACE):
                return AlarmOutcome.DEDUPLICATED, state.incident_id
            if self._store.get(state.incident_id) is None:
                return self._open_from_signal(state.incident_id, signal)
        if not state.replayed:
            self._log_repeat(signal, state, now)
        silence = state.last_seen - state.previous_seen if state.previous_seen else None
        after = sla.scaled(self._ctx.config().rules.process.renotify_after_silence_minutes, self._ctx.time_scale)
        if silence is not None and silence >= after:
            # (a redelivery decides again: the retrigger is a no-op once the incident is no longer acknowledged)
            self._resolution.returned(state.incident_id, by=signal.actor, summary=signal.summary, silence=silence)
        return AlarmOutcome.DEDUPLICATED, state.incident_id

    def _ignored_out_of_order(self, incident_id: str, signal: Signal, what: str) -> tuple[AlarmOutcome, str | None]:
        """Said on the timeline, and nothing else done."""
        line = f"{signal.summary}: {what}, so it is ignored (notifications can arrive out of order)"
        self._incidents.change(incident_id, lambda c: c.log(TimelineKind.ALARM_STATE, signal.actor, line))
        return AlarmOutcome.IGNORED, incident_id

    def _log_repeat(self, signal: Signal, state: DedupState, now: datetime) -> None:
        """At most one timeline entry per few minutes in a storm; the count itself is always exact."""
        every = timedelta(minutes=self._ctx.config().rules.process.occurrence_log_minutes)
        if state.last_logged_at is not None and now - state.last_logged_at < every:
            return
        entry = TimelineEntry(
            incident_id=state.incident_id,
            at=now,
            kind=TimelineKind.OCCURRENCE,
            actor=signal.actor,
            message=f"{signal.summary} fired again: {state.occurrences} occurrences since {state.first_seen:%H:%M:%S} UTC",
            details={"occurrences": state.occurrences},
        )
        self._store.log_repeat(signal.dedup_key, state.incident_id, state.last_logged_at, entry)

    def _returned(
        self,
        signal: Signal,
        state: DedupState,
        resolved_at: datetime,
        candidate: str,
        now: datetime,
        message_ids: Sequence[str | None],
        redelivered: bool,
    ) -> tuple[AlarmOutcome, str | None]:
        """It recovered and fires again. The one reopen rule (rules.yaml: confirmation_window_minutes): while its
        incident is resolved, i.e. its confirmation window is open, that incident reopens; once the window has
        closed it, a new incident opens. Unless it fired before the recovery that resolved it: then it is late."""
        recovered_at = self._incidents.get(state.incident_id).recovered_at
        if out_of_order(signal.changed_at, recovered_at):
            return self._ignored_out_of_order(
                state.incident_id,
                signal,
                f"it fired at {_at(signal.changed_at)}, before the recovery at {_at(recovered_at)} that resolved it",
            )
        try:
            after = (now - resolved_at).total_seconds()
            self._resolution.reopen(
                state.incident_id,
                by=signal.actor,
                reason=f"{signal.summary} fired again {after:.0f}s after it recovered",
            )
            return AlarmOutcome.REOPENED, state.incident_id
        except InvalidTransition:
            if self._incidents.get(state.incident_id).status is not Status.CLOSED:
                return AlarmOutcome.DEDUPLICATED, state.incident_id  # a concurrent repeat reopened it
            # the window closed it meanwhile: this alert starts a new incident
        old, moved = state.incident_id, state.counted  # what this write counted goes to the new incident
        self._incidents.change(
            old,
            lambda c: (
                c.set(occurrences=state.occurrences - moved, last_seen_at=state.last_seen)
                if state.occurrences - moved > c.incident.occurrences
                else None
            ),
        )
        claim = next((m for m in message_ids if m is not None), None)
        if self._store.replace_dedup(signal.dedup_key, old, candidate, now, claim, moved):
            return self._open_from_signal(candidate, signal)
        return self._trigger(
            signal, [None] * moved, redelivered
        )  # another trigger replaced it first: count these there

    # --- a queue's batch at once ------------------------------------------------------------------------

    def handle_batch(self, arrivals: Sequence[Arrival], tried: Tried = _once) -> list[Handled]:
        """What became of each arrival (its outcome), or the error that failed its group: a group's arrivals fail or
        succeed together, as its one write counted all of them or none. `tried` runs each group's work (the queue's
        tries in place; the work takes the attempt, 0 first). An alert's groups are applied in arrival order, and
        once one failed its later ones are held back (HeldBack) until the redelivery."""
        handled: dict[int, Handled] = {}
        failed: set[str] = set()
        for group in group_arrivals(arrivals, SIGNALS_PER_WRITE):
            try:
                if group.dedup_key in failed:
                    raise HeldBack(group.dedup_key)
                results = tried(partial(self._attempt_group, group))
            except Exception as error:
                failed.add(group.dedup_key)
                results = [error] * len(group.arrivals)
            handled.update(zip(group.positions, results, strict=True))
        return [handled[position] for position in range(len(arrivals))]

    def _attempt_group(self, group: SignalGroup, attempt: int) -> list[Handled]:
        """handle_group as `tried` runs it: an attempt after the first is a redelivery of the group's work."""
        return list(self.handle_group(group, group.redelivered or attempt > 0))

    def handle_group(self, group: SignalGroup, redelivered: bool) -> list[tuple[AlarmOutcome, str | None]]:
        """One group of a batch (domain/signal_groups.py): an alert's copies counted in one write, the first one
        deciding; anything else as handle_signal."""
        if group.signal.action != "trigger":  # (alone in its group)
            (arrival,) = group.arrivals
            return [self.handle_signal(arrival.signal, arrival.message_id, redelivered)]
        signal = group.signal
        if signal.changed_at is not None and group.triggered_at != signal.changed_at:
            signal = signal.model_copy(update={"changed_at": group.triggered_at})
        outcome, incident_id = self._trigger(signal, group.message_ids, redelivered)
        return [(outcome, incident_id)] + [(AlarmOutcome.DEDUPLICATED, incident_id)] * (len(group.arrivals) - 1)

    # --- opening ----------------------------------------------------------------------------------------

    def _open_from_signal(self, incident_id: str, signal: Signal) -> tuple[AlarmOutcome, str]:
        change = self._opening.new(
            incident_id,
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
        change.dedup.append(DedupMark(dedup_key=signal.dedup_key, incident_id=incident_id, created=True))
        try:
            self._incidents.open(change)
            return AlarmOutcome.OPENED, incident_id
        except ConcurrentUpdate:
            return (
                AlarmOutcome.DEDUPLICATED,
                incident_id,
            )  # a redelivery of the claimer, or a concurrent takeover, opened it
