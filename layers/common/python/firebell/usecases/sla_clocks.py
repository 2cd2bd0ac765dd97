"""SLA clocks: armed at classification, paused on hold, resumed, met; at-risk warns the owner, breach pages
the incident manager. The timers themselves are the `sla` state machine, whose runs wait for stakeholder update
rounds as well (duties.update_round): one run an incident, waiting for whichever moment comes first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .. import workflows as machines
from ..domain import sla
from ..domain.directory import FirebellConfig
from ..domain.enums import TimelineKind
from ..domain.escalation import people_for, plan_targets
from ..domain.lifecycle import is_open
from ..domain.models import Incident, SlaClock
from ..domain.workflow_messages import SlaWakeUp
from ..outbox import Change, EffectKind, Needs
from .base import SYSTEM, Context, Incidents, Outcome
from .duties import next_update_due, update_round
from .reaching import reach


def _run_name(incident_id: str, generation: int, clock: str, moment: str, updates_round: int = 0) -> str:
    """One run per moment per generation: a run stopped while its moment is still to come (an earlier one came
    first) spends its generation's names, so a name is never started twice."""
    if clock == "updates":
        return f"{incident_id}-sla-{generation}-updates-{updates_round}"
    return f"{incident_id}-sla-{generation}-{clock}-{moment.replace('_', '-')}"


def _clock(c: Change) -> SlaClock:
    """The incident's SLA clock: the steps that read it run only once classification armed one."""
    if c.incident.sla is None:
        raise ValueError(f"incident {c.incident_id} has no SLA clock")
    return c.incident.sla


def _legacy(c: Change, ctx: Context) -> bool:
    """A run of the machine before issue 10, which waited for every moment itself (it still does)."""
    clock = _clock(c)
    return clock.execution_arn == ctx.execution_arn(machines.SLA, f"{c.incident_id}-sla-{clock.generation}")


def arm(c: Change, ctx: Context, why: str = "re-armed", ended: bool = False) -> None:
    """Have one run wait for the incident's next moment (SLA target or stakeholder update round), or none: the
    current run stays if it waits for that moment already, else it is stopped (`ended`: it has just woken)."""
    clock = _clock(c)
    current = None if ended else clock.execution_arn
    update_due = next_update_due(c.incident, ctx.time_scale)
    found = sla.next_moment(clock, update_due)
    updates_round = c.incident.updates.rounds + 1 if c.incident.updates else 0

    def run_of(which: str, moment: str) -> str:
        return ctx.execution_arn(machines.SLA, _run_name(c.incident_id, clock.generation, which, moment, updates_round))

    if found is not None and current == run_of(found[0], found[1]):
        return
    if current is not None:
        c.stop(current, why)
        if current in {run_of(which, moment) for _, which, moment in sla.pending_moments(clock, update_due)}:
            clock = clock.model_copy(update={"generation": clock.generation + 1})
    if found is None:
        c.set(sla=clock.model_copy(update={"execution_arn": None}))
        return
    which, moment, at = found
    name = _run_name(c.incident_id, clock.generation, which, moment, updates_round)
    c.start(machines.SLA, name, sla.wake_input(c.incident_id, clock.generation, which, moment, at))
    c.set(sla=clock.model_copy(update={"execution_arn": ctx.execution_arn(machines.SLA, name)}))


def rearm(c: Change, ctx: Context) -> None:
    """A target was met: the run waiting for its moment is no longer wanted, the next moment's is."""
    clock = c.incident.sla
    if clock is None or _legacy(c, ctx):
        return
    arm(c, ctx, why="SLA target met")


def pause(c: Change, ctx: Context) -> None:
    """On hold the SLA targets wait; stakeholder updates are still due."""
    clock = c.incident.sla
    if clock is None or clock.paused_since:
        return
    c.set(sla=sla.pause(clock, c.now))
    if clock.execution_arn is None or not _legacy(c, ctx):
        arm(c, ctx, why="SLA paused")
    else:
        c.stop(clock.execution_arn, "SLA paused")
        c.set(sla=_clock(c).model_copy(update={"execution_arn": None}))


def resume(c: Change, ctx: Context) -> None:
    clock = c.incident.sla
    if clock is None or clock.paused_since is None:
        return
    c.stop(clock.execution_arn, "SLA resumed")  # (the run for an update round while on hold: a new generation now)
    c.set(sla=sla.resume(clock, c.now).model_copy(update={"execution_arn": None}))
    arm(c, ctx)


def owners(incident: Incident, config: FirebellConfig, now: datetime) -> list[str]:
    """Who owns the incident now: its assignee, whoever acknowledged it, else the first level's people."""
    if incident.assignee:
        return [incident.assignee]
    if incident.acknowledged_by and config.directory.person(incident.acknowledged_by):
        return [incident.acknowledged_by]
    policy = config.directory.policy_for(incident.team, incident.service, incident.escalation.policy)
    return people_for(plan_targets(policy.levels[0]), config.directory, now)


class SlaClocks:
    # Each wake-up arms the run for the moment after it.
    NEEDS = Needs(
        effects=frozenset({EffectKind.EMAIL, EffectKind.SMS, EffectKind.CHAT, EffectKind.START}),
        starts=frozenset({machines.SLA}),
        signs_ack_links=True,
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def wake_up(self, wake: SlaWakeUp) -> Outcome:
        config = self._ctx.config()
        return self._incidents.change(wake.incident_id, lambda c: self._decide(c, wake, config))

    def _decide(self, c: Change, wake: SlaWakeUp, config: FirebellConfig) -> None:
        incident = c.incident
        clock = incident.sla
        if clock is None or not is_open(incident.status):
            return
        if wake.execution is None:  # a run started before issue 10's one-state wake
            if wake.clock == "updates" or wake.generation != clock.generation or clock.paused_since:
                return  # stale: the clock was paused, re-armed or stopped since this wake-up was scheduled
            self._notify(c, wake, config)
            if clock.execution_arn == self._ctx.execution_arn(
                machines.SLA, _run_name(c.incident_id, clock.generation, wake.clock, wake.which_moment)
            ):
                arm(c, self._ctx, ended=True)  # that run is over: the one for the moment after it
            return
        if wake.execution != clock.execution_arn:
            return  # stale: replaced or stopped since (a met target, a hold, a resolution, re-armed timers)
        if wake.clock == "updates":
            update_round(c, self._ctx, config)
        else:
            self._notify(c, wake, config)
        arm(c, self._ctx, ended=True)  # that run is over: the one for the moment after it

    def _notify(self, c: Change, wake: SlaWakeUp, config: FirebellConfig) -> None:
        incident = c.incident
        timer = getattr(incident.sla, wake.clock)
        if timer.met_at:
            return
        if wake.which_moment == "at_risk":
            if timer.at_risk_notified_at:
                return
            self._mark(c, wake.clock, at_risk_notified_at=c.now)
            left = (timer.due_at - c.now).total_seconds()
            c.log(
                TimelineKind.SLA_AT_RISK,
                SYSTEM,
                f"{wake.clock.title()} SLA at risk: {left:.0f}s left of {timer.target_minutes:g} min",
                details={"clock": wake.clock},
            )
            reach(c, self._ctx, config, owners(incident, config, c.now), urgent=False, why=f"{wake.clock} SLA at risk")
            return
        if timer.breached_at:
            return
        self._mark(c, wake.clock, breached_at=c.now)
        c.log(
            TimelineKind.SLA_BREACHED,
            SYSTEM,
            f"{wake.clock.title()} SLA breached: target {timer.target_minutes:g} min",
            details={"clock": wake.clock},
        )
        managers = (
            [incident.incident_manager]
            if incident.incident_manager
            else list(config.directory.team(incident.team).incident_managers)
        )
        reach(c, self._ctx, config, managers, urgent=True, why=f"{wake.clock} SLA breached")

    @staticmethod
    def _mark(c: Change, which: str, **fields: Any) -> None:
        clock = _clock(c)
        c.set(sla=clock.model_copy(update={which: getattr(clock, which).model_copy(update=fields)}))
