"""Resolution & closure: resolve (by a person, the alert's recovery or a quiet period), the confirmation
window that tells everyone and closes, reopening."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from .. import workflows as machines
from ..domain import sla
from ..domain.directory import FirebellConfig
from ..domain.enums import Action, EventType, Status, TaskOutcome, TimelineKind
from ..domain.errors import InvalidTransition
from ..domain.escalation import scaled_timeout
from ..domain.facts import facts_of
from ..domain.lifecycle import is_open, next_status
from ..domain.workflow_messages import QuietCheck, ResolutionConfirming
from ..outbox import Change, DedupMark, EffectKind, Needs
from . import sla_clocks
from .base import SYSTEM, Context, Incidents, Outcome
from .duties import require_review
from .escalation import start_escalation
from .lifecycle import transition
from .reaching import reach


class Resolution:
    NEEDS = Needs(
        effects=frozenset({EffectKind.PUBLISH, EffectKind.ANSWER, EffectKind.START, EffectKind.STOP, EffectKind.EMAIL}),
        starts=frozenset({machines.RESOLUTION, machines.REMINDER, machines.ESCALATION, machines.SLA}),
        stops=frozenset({machines.ESCALATION, machines.SLA, machines.REMINDER}),
        answers=frozenset({machines.ESCALATION, machines.REMINDER, machines.RESOLUTION, machines.QUIET}),
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def resolve(
        self,
        incident_id_or_reference: str,
        by: str,
        notes: str,
        automatic: bool = False,
        recovered_at: datetime | None = None,
    ) -> Outcome:
        """`recovered_at`: an alert's recovery, when its source says its state changed (kept on the incident)."""
        config = self._ctx.config()
        incident = self._incidents.get(incident_id_or_reference)
        store = self._incidents.store
        # A person resolving may race the alert firing again; an automatic resolve is that alert itself.
        before = store.dedup_state(incident.dedup_key) if incident.dedup_key and not automatic else None
        outcome = self._incidents.change(
            incident.incident_id, lambda c: self._resolve(c, by, notes, automatic, config, recovered_at)
        )
        if before is not None and incident.dedup_key:
            after = store.dedup_state(incident.dedup_key)
            if after and after.incident_id == incident.incident_id and after.occurrences > before.occurrences:
                # The alert fired while we were resolving: it counted as a repeat of an open incident.
                return self.reopen(
                    incident.incident_id, by=SYSTEM, reason="the alert fired again while it was being resolved"
                )
        return outcome

    def _resolve(
        self,
        c: Change,
        by: str,
        notes: str,
        automatic: bool,
        config: FirebellConfig,
        recovered_at: datetime | None = None,
    ) -> None:
        transition(
            c,
            Action.RESOLVE,
            resolved_at=c.now,
            resolved_by=by,
            resolution_notes=notes,
            auto_resolved=automatic,
            recovered_at=recovered_at,
        )
        incident = c.incident
        if incident.sla:
            # Response is met by now whatever happened; the resolution clock stops (a reopen resumes it).
            c.set(sla=sla.meet(sla.meet(incident.sla, "response", c.now), "resolution", c.now))
            c.stop(incident.sla.execution_arn, "resolved")
        if incident.dedup_key:
            c.dedup.append(DedupMark(dedup_key=incident.dedup_key, incident_id=incident.incident_id, resolved_at=c.now))
        how = "automatically" if automatic else f"by {by}"
        c.log(TimelineKind.RESOLVED, by, f"Resolved {how}: {notes}", details={"automatic": automatic})
        # Paging stops for certain: the run is stopped (answering its waiting task as well would only cost the
        # machine two more transitions on its way out). So is the SLA run, which waits for stakeholder update rounds
        # too (and a reminder run of old for them).
        c.stop(incident.escalation.execution_arn, "resolved")
        c.set_part("escalation", task_token=None, watching=False)
        if incident.updates:
            c.stop(incident.updates.execution_arn, "resolved")
        name = f"{incident.incident_id}-resolution-{incident.reopened_count}"
        c.start(
            machines.RESOLUTION,
            name,
            {
                "incident_id": incident.incident_id,
                "confirmation_seconds": scaled_timeout(
                    config.rules.process.confirmation_window_minutes, self._ctx.time_scale
                ),
            },
        )
        c.set_part("resolution", execution_arn=self._ctx.execution_arn(machines.RESOLUTION, name), task_token=None)
        require_review(c, self._ctx, config)
        c.publish(EventType.RESOLVED)

    def end_drill(self, incident_id_or_reference: str, by: str) -> Outcome:
        """A drill ends in one step: resolved and closed at once, every timer stopped, nobody told, no review; its
        facts (what the drill report reads) are kept, marked as a drill."""
        incident = self._incidents.get(incident_id_or_reference)
        if not incident.drill:
            raise InvalidTransition(incident.reference, incident.status, "end", "it is not a drill")
        timeline = self._incidents.store.timeline(incident.incident_id)

        def decide(c: Change) -> None:
            before = c.incident
            if before.status is Status.CLOSED:
                return
            if is_open(before.status):
                transition(c, Action.RESOLVE, resolved_at=c.now, resolved_by=by, resolution_notes="drill ended")
            transition(c, Action.CLOSE, closed_at=c.now, closed_by=by, closure_notes="drill ended")
            # (a confirmation window already open closes nothing when it ends: the drill is closed by then)
            for run in (
                before.escalation.execution_arn,
                before.sla and before.sla.execution_arn,
                before.updates and before.updates.execution_arn,
            ):
                c.stop(run or None, "drill ended")
            c.set_part("escalation", task_token=None, watching=False)
            c.log(TimelineKind.CLOSED, by, f"Drill ended by {by}")
            c.facts = facts_of(c.incident, timeline + c.entries)

        return self._incidents.change(incident.incident_id, decide)

    def reopen(self, incident_id_or_reference: str, by: str, reason: str) -> Outcome:
        config = self._ctx.config()

        def decide(c: Change) -> None:
            before = c.incident
            transition(
                c,
                Action.REOPEN,
                resolved_at=None,
                resolved_by=None,
                resolution_notes=None,  # (they told of a resolution that did not hold; the timeline keeps them)
                auto_resolved=False,
                reopened_count=before.reopened_count + 1,
                acknowledged_at=None,
                acknowledged_by=None,
            )
            c.log(TimelineKind.REOPENED, by, f"Reopened by {by}: {reason or 'no reason given'}")
            if before.dedup_key:
                c.dedup.append(
                    DedupMark(dedup_key=before.dedup_key, incident_id=before.incident_id, clear_resolved=True)
                )
            c.answer(before.resolution.task_token, TaskOutcome.REOPENED)
            c.set_part("resolution", task_token=None)
            if c.incident.updates:
                # Updates are due again from now, as SLA moments (a reminder run of old was stopped with the resolution).
                c.set_part("updates", started_at=c.now, rounds=0, overdue_rounds=0, execution_arn=None, task_token=None)
            if before.sla and (clock := c.incident.sla):
                # The resolution clock carries on from where resolving stopped it.
                stopped_at = before.resolved_at or c.now
                c.set(
                    sla=clock.model_copy(
                        update={
                            "resolution": clock.resolution.model_copy(update={"met_at": None}),
                            "paused_since": clock.paused_since or stopped_at,
                            "execution_arn": None,
                        }
                    )
                )
                sla_clocks.resume(c, self._ctx)
            c.publish(EventType.REOPENED)
            start_escalation(c, self._ctx, config)

        return self._incidents.change(incident_id_or_reference, decide)

    def returned(self, incident_id: str, by: str, summary: str, silence: timedelta) -> Outcome:
        """The alert of an acknowledged incident fired again after a long silence: that is news, not a repeat
        (Alertmanager #3959 swallowed it). Like the acknowledgement timeout, it re-triggers the incident and pages
        from level 1 again, so whoever is on call now hears of it, not only the one who acknowledged hours ago."""
        config = self._ctx.config()

        def decide(c: Change) -> None:
            incident = c.incident
            if incident.status is not Status.ACKNOWLEDGED:
                return  # still paging (triggered), or on hold waiting on someone else: counted only
            c.set(status=next_status(incident.reference, incident.status, Action.RETRIGGER))
            c.log(
                TimelineKind.RETRIGGERED,
                by,
                f"{summary} fired again after {_duration(silence)} of silence while acknowledged by {incident.acknowledged_by}: "
                f"paging again",
                details={"silence_seconds": round(silence.total_seconds())},
            )
            start_escalation(c, self._ctx, config)

        return self._incidents.change(incident_id, decide)

    # --- the confirmation window ---------------------------------------------------------------------------

    def confirming(self, request: ResolutionConfirming) -> Outcome:
        """The confirmation window opened: keep its token, tell stakeholders and those paged."""
        config = self._ctx.config()
        paged = [
            p
            for entry in self._incidents.store.timeline(request.incident_id)
            if entry.kind is TimelineKind.PAGED
            for p in entry.details.get("people", [])
        ]

        def decide(c: Change) -> None:
            incident = c.incident
            if incident.status is not Status.RESOLVED:
                c.answer(request.task_token, TaskOutcome.REOPENED)
                return
            if incident.resolution.task_token == request.task_token:
                return  # redelivered
            told_already = incident.resolution.task_token is not None  # a re-armed window (a reopen clears the token)
            c.set_part("resolution", task_token=request.task_token)
            if told_already:
                return
            team = config.directory.team(incident.team)
            managers = list(team.incident_managers) if incident.escalation.exhausted else []
            extra = [p for p in (incident.incident_manager, incident.assignee) if p]
            audience = list(dict.fromkeys([*team.stakeholders, *paged, *managers, *extra]))
            # The review's owner learns of it here (the email says when it is due): one email, not a second one
            # from the review reminder's first round.
            owner = incident.review.owner if incident.review and not incident.review.completed_at else None
            reach(c, self._ctx, config, [p for p in audience if p != owner], urgent=False, why="resolution")
            if owner:
                reach(c, self._ctx, config, [owner], urgent=False, why="resolution; the post-incident review is yours")

        return self._incidents.change(request.incident_id, decide)

    def window_closed(self, incident_id: str) -> Outcome:
        incident = self._incidents.get(incident_id)
        pointer = self._incidents.store.dedup_state(incident.dedup_key) if incident.dedup_key else None
        timeline = self._incidents.store.timeline(incident_id) if incident.status is Status.RESOLVED else []

        def decide(c: Change) -> None:
            incident = c.incident
            if incident.status is not Status.RESOLVED:
                return
            notes = f"Closed automatically: not reopened within the confirmation window. Resolution: {incident.resolution_notes}"
            transition(c, Action.CLOSE, closed_at=c.now, closed_by=SYSTEM, closure_notes=notes)
            if incident.dedup_key:
                if pointer and pointer.incident_id == incident_id and pointer.occurrences > incident.occurrences:
                    c.set(occurrences=pointer.occurrences, last_seen_at=pointer.last_seen)
                # The alert's next firing opens a new incident.
                c.dedup.append(DedupMark(dedup_key=incident.dedup_key, incident_id=incident_id, release=True))
            c.log(TimelineKind.CLOSED, SYSTEM, notes)
            c.publish(EventType.CLOSED)
            c.facts = facts_of(c.incident, timeline + c.entries)  # what the reports read of it, from now on

        return self._incidents.change(incident_id, decide)

    # --- quiet period auto-resolve ---------------------------------------------------------------------------

    def quiet_check(self, request: QuietCheck) -> Outcome:
        config = self._ctx.config()
        incident = self._incidents.get(request.incident_id)
        service = config.directory.service(incident.service)
        minutes = service.auto_resolve_quiet_minutes if service else None
        if is_open(incident.status) and minutes is not None and incident.dedup_key:
            state = self._incidents.store.dedup_state(incident.dedup_key)
            last_seen = (
                state.last_seen if state and state.incident_id == incident.incident_id else incident.last_seen_at
            )
            remaining = (last_seen + sla.scaled(minutes, self._ctx.time_scale) - self._ctx.clock()).total_seconds()
            if remaining > 0:  # it fired again meanwhile: the quiet period starts over from that occurrence
                return self._incidents.change(
                    incident.incident_id,
                    lambda c: c.answer(request.task_token, TaskOutcome.WAIT, seconds=max(1, math.ceil(remaining))),
                )
            self.resolve(
                incident.incident_id,
                by=SYSTEM,
                notes=f"no new occurrence for {minutes:g} min (quiet period)",
                automatic=True,
            )
        return self._incidents.change(incident.incident_id, lambda c: c.answer(request.task_token, TaskOutcome.DONE))


def _duration(span: timedelta) -> str:
    minutes = round(span.total_seconds() / 60)
    if minutes < 1:
        return f"{span.total_seconds():.0f}s"
    return f"{minutes // 60}h{minutes % 60:02d}m" if minutes >= 60 else f"{minutes}m"
