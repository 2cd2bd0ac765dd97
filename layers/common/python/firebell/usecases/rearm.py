"""Re-arming timers: every timer is a Step Functions execution. When the executions are lost but the incidents are
kept (the local runtime restarted; the table was restored into a new stack), each incident's own state says which
timers should be running, and they are started again, as new executions.

A deadline that passed meanwhile fires at once: SLA moments and the end of a maintenance window are Wait states on
a timestamp (a past one ends at once), the confirmation window and the quiet period get what is left of them (at
least a second), and an escalation starts a new run that pages level 1 now. Paging and reminders say nothing twice
that was said before (see Resolution.confirming and Duties.reminder_due).
"""

from __future__ import annotations

import math

from .. import workflows as machines
from ..domain import sla
from ..domain.directory import FirebellConfig
from ..domain.enums import EventType, Status, TimelineKind
from ..domain.lifecycle import is_open
from ..domain.models import Incident
from ..outbox import Change, EffectKind, Needs
from ..ports import IncidentFilter
from . import sla_clocks
from .base import SYSTEM, Context, Incidents, Outcome
from .duties import next_update_due, start_review_reminder, updates_of
from .escalation import start_escalation

_PAGE = 100


def _sla_running(incident: Incident) -> bool:
    clock = incident.sla
    return (
        clock is not None
        and clock.execution_arn is not None
        and clock.paused_since is None
        and any(t.met_at is None and t.breached_at is None for t in (clock.response, clock.resolution))
    )


def _review_pending(incident: Incident) -> bool:
    return (
        incident.review is not None
        and incident.review.completed_at is None
        and incident.review.execution_arn is not None
    )


def _one_missed_update_round(c: Change, ctx: Context) -> None:
    """Update rounds that fell due while the timers were lost come as one, at once (then every interval from
    now): not one overdue reminder, and escalation, per round missed."""
    due = next_update_due(c.incident, ctx.time_scale)
    if due is None or due >= c.now:
        return
    updates = updates_of(c)
    c.set_part("updates", started_at=c.now - sla.scaled(updates.every_minutes * (updates.rounds + 1), ctx.time_scale))


def has_timers(incident: Incident) -> bool:
    """Whether the incident's state implies a running timer (a review is chased even after closure)."""
    if incident.status is Status.CLOSED:
        return _review_pending(incident)
    return True


class TimerRearm:
    NEEDS = Needs(
        effects=frozenset({EffectKind.PUBLISH, EffectKind.START, EffectKind.STOP, EffectKind.ANSWER}),
        starts=frozenset(
            {
                machines.ESCALATION,
                machines.SLA,
                machines.REMINDER,
                machines.RESOLUTION,
                machines.MAINTENANCE,
                machines.QUIET,
            }
        ),
        stops=frozenset({machines.ESCALATION, machines.SLA, machines.REMINDER}),
        answers=frozenset({machines.ESCALATION}),
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def rearm_all(self) -> list[str]:
        """Re-arm every incident that has timers; returns the references of those it re-armed."""
        rearmed: list[str] = []
        cursor = None
        while True:
            page = self._incidents.list(IncidentFilter(), _PAGE, cursor)
            for incident in page.items:
                if has_timers(incident) and self.rearm(incident.incident_id).changed:
                    rearmed.append(incident.reference)
            cursor = page.cursor
            if cursor is None:
                return rearmed

    def rearm(self, incident_id: str) -> Outcome:
        config = self._ctx.config()
        return self._incidents.change(incident_id, lambda c: self._decide(c, config))

    def _decide(self, c: Change, config: FirebellConfig) -> None:
        # Execution names are unique per machine (for 90 days in AWS): the version read makes each re-arming's own.
        tag = f"rearm{c.before.version}"
        armed: list[str] = []
        incident = c.incident
        if is_open(incident.status):
            armed += self._open_timers(c, config, tag)
        elif incident.status is Status.RESOLVED:
            armed += self._confirmation_window(c, config, tag)
        if _review_pending(c.incident):
            # (its first round says nothing: the owner was told with the resolution)
            execution = start_review_reminder(c, self._ctx, config, 0, suffix=tag)
            c.set_part("review", execution_arn=execution)
            armed.append("review reminders")
        if armed:
            c.log(
                TimelineKind.TIMERS_REARMED,
                SYSTEM,
                f"Timers re-armed after a restart: {', '.join(armed)}",
                details={"timers": armed},
            )

    def _open_timers(self, c: Change, config: FirebellConfig, tag: str) -> list[str]:
        incident = c.incident
        armed: list[str] = []
        if incident.priority is None:
            # Its opening event may have been lost on the way to classify (which is idempotent): say it again.
            c.publish(EventType.OPENED)
            return ["classification"]
        escalation = incident.escalation
        if escalation.deferred_until is not None and escalation.execution_arn is None:
            c.start(
                machines.MAINTENANCE,
                f"{c.incident_id}-maintenance-{tag}",
                {"incident_id": c.incident_id, "window_ends_at": sla.state_machine_time(escalation.deferred_until)},
            )
            armed.append("end of maintenance")
        elif escalation.execution_arn is not None and not escalation.exhausted:
            start_escalation(
                c, self._ctx, config, reroute=False
            )  # (acknowledged: its first page is skipped and the watch resumes)
            armed.append(f"escalation (run {c.incident.escalation.runs}, from level 1)")
        if incident.updates is not None and incident.updates.execution_arn is not None:
            # A reminder run of old: its rounds become moments of the SLA run armed below, due from now.
            c.stop(incident.updates.execution_arn, "re-armed as SLA moments")
            c.set_part("updates", execution_arn=None, task_token=None, started_at=c.now, rounds=0)
        else:
            _one_missed_update_round(c, self._ctx)
        if incident.sla is not None and (_sla_running(incident) or incident.updates is not None):
            clock = incident.sla
            c.stop(clock.execution_arn, "re-armed")
            # A new generation: a wake-up of the lost run, were it still queued, is stale.
            c.set(sla=clock.model_copy(update={"generation": clock.generation + 1, "execution_arn": None}))
            sla_clocks.arm(c, self._ctx)
            if _sla_running(c.incident):
                armed.append("SLA clocks")
            if next_update_due(c.incident, self._ctx.time_scale) is not None:
                armed.append("stakeholder update reminders")
        service = config.directory.service(incident.service)
        if incident.dedup_key and service is not None and service.auto_resolve_quiet_minutes is not None:
            quiet = sla.scaled(service.auto_resolve_quiet_minutes, self._ctx.time_scale)
            left = (incident.last_seen_at + quiet - c.now).total_seconds()
            c.start(
                machines.QUIET,
                f"{c.incident_id}-quiet-{incident.reopened_count}-{tag}",
                {"incident_id": c.incident_id, "quiet_seconds": max(1, math.ceil(left))},
            )
            armed.append("quiet period")
        return armed

    def _confirmation_window(self, c: Change, config: FirebellConfig, tag: str) -> list[str]:
        incident = c.incident
        window = sla.scaled(config.rules.process.confirmation_window_minutes, self._ctx.time_scale)
        left = (
            (incident.resolved_at + window - c.now).total_seconds() if incident.resolved_at else window.total_seconds()
        )
        name = f"{c.incident_id}-resolution-{incident.reopened_count}-{tag}"
        c.start(
            machines.RESOLUTION, name, {"incident_id": c.incident_id, "confirmation_seconds": max(1, math.ceil(left))}
        )
        # The token of the lost run stays until the new run's own arrives: it says stakeholders were told already.
        c.set_part("resolution", execution_arn=self._ctx.execution_arn(machines.RESOLUTION, name))
        return ["confirmation window"]
