"""Paging & escalation: classification starts it; each level is paged when its state machine asks; an
acknowledgement moves it to the watch; at most one escalation run per incident, and a stale run pages nobody."""

from __future__ import annotations

from .. import workflows as machines
from ..domain import sla
from ..domain.classification import classify
from ..domain.directory import FirebellConfig, MaintenanceWindow
from ..domain.enums import Action, EventType, Status, TaskOutcome, TimelineKind
from ..domain.escalation import escalation_plan, next_step, people_for, scaled_timeout, vacancies
from ..domain.lifecycle import is_open, next_status
from ..domain.models import Incident, KnownError
from ..domain.problems import known_error_for
from ..domain.workflow_messages import EscalationExhausted, EscalationLevel, PageRequest, WatchRequest
from ..outbox import Change, EffectKind, Guard, Needs
from . import sla_clocks
from .base import SYSTEM, Context, Incidents, Outcome
from .duties import start_duties
from .reaching import reach
from .routing import kept_policy, route_now

_OPEN = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.ON_HOLD)


def start_escalation(
    c: Change, ctx: Context, config: FirebellConfig, page_first_level: bool = False, reroute: bool = True
) -> None:
    """A new run of the incident's policy; the previous run (if any) is stopped first: never two at once.

    `reroute`: paging starts afresh (opening, the end of a maintenance window, a reopen, a returning alert), so the
    team's routing rules choose the policy now; else (escalated by hand, timers re-armed) the policy chosen before
    is kept, and an incident a rule sent to chat pages with the service's or team's own policy.
    `page_first_level`: level 1 is paged by this very change, its pages going before the run's start (whose first
    page request then only hands over its token): the first page waits for no workflow, queue or function.
    """
    incident = c.incident
    chosen = route_now(c, config) if reroute else None
    c.answer(incident.escalation.task_token, TaskOutcome.STOP)
    c.stop(incident.escalation.execution_arn, "superseded by a new escalation run")
    if chosen is not None and chosen.policy is None:
        c.set_part(
            "escalation", execution_arn=None, task_token=None, watching=False, exhausted=False, deferred_until=None,
            paged_at_start=False, escalate_on_first_request=False, policy=None, routed_by=chosen.rule,
            routed_at=c.now,
        )  # fmt: skip
        return
    policy_id = chosen.policy if chosen is not None else kept_policy(c, config)
    plan = escalation_plan(incident, config.directory, config.rules, ctx.time_scale, policy_id)
    run = incident.escalation.runs + 1
    name = incident.incident_id if run == 1 else f"{incident.incident_id}-{run}"
    execution = ctx.execution_arn(machines.ESCALATION, name)
    c.set_part(
        "escalation",
        execution_arn=execution,
        runs=run,
        level=0,
        round=1,
        task_token=None,
        watching=False,
        exhausted=False,
        deferred_until=None,
        paged_at_start=False,
        escalate_on_first_request=False,
        plan_levels=len(plan.levels),
        plan_rounds=plan.rounds,
        policy=policy_id,
        routed_by=chosen.rule if chosen is not None else incident.escalation.routed_by,
        routed_at=c.now if chosen is not None else incident.escalation.routed_at,
    )
    steps = ", then ".join(
        f"level {lvl.level} ({', '.join(t.ref for t in lvl.targets)}) for {lvl.timeout_seconds}s" for lvl in plan.levels
    )
    repeat = f" ×{plan.rounds}" if plan.rounds > 1 else ""
    c.log(
        TimelineKind.ESCALATION_STARTED,
        SYSTEM,
        f"Escalation started: {steps}{repeat}; then incident manager",
        details={"execution": execution, "run": run},
    )
    if page_first_level and c.incident.status is Status.TRIGGERED:
        page_level(c, ctx, config, plan.levels[0], 1, task_token=None)
        c.set_part("escalation", paged_at_start=True)
    # Started only while the incident still wants this very run (a resolve may commit before it starts).
    c.start(
        machines.ESCALATION, name, plan.machine_input(), guard=Guard(statuses=_OPEN, escalation_execution=execution)
    )


def page_level(
    c: Change, ctx: Context, config: FirebellConfig, level: EscalationLevel, round_: int, task_token: str | None
) -> None:
    people = people_for(level.targets, config.directory, c.now)
    round_note = f", round {round_}" if round_ > 1 else ""
    c.set_part("escalation", level=level.level, round=round_, task_token=task_token, watching=False)
    if not people:
        _skip_empty_level(c, config, level, round_, task_token)
        return
    reach(c, ctx, config, people, urgent=True, why=f"level {level.level}{round_note}", guard=page_guard(c))
    c.log(
        TimelineKind.PAGED,
        SYSTEM,
        f"Level {level.level}{round_note} paged: {', '.join(people) or 'nobody reachable'}; "
        f"escalates in {level.timeout_seconds}s unless acknowledged",
        details={"level": level.level, "round": round_, "people": people},
    )


def _skip_empty_level(
    c: Change, config: FirebellConfig, level: EscalationLevel, round_: int, task_token: str | None
) -> None:
    """A level that pages nobody (its schedules have nobody on call, outside their hours) is skipped at once, as
    PagerDuty and Opsgenie skip an empty rule, rather than waiting out its delay: the run is answered `escalate`
    (or, for level 1 paged as the run started, its first request will be). The token stays recorded, so a
    redelivered request finds the level done."""
    if task_token is None:
        c.set_part("escalation", escalate_on_first_request=True)
    else:
        c.answer(task_token, TaskOutcome.ESCALATE)
    run = c.incident.escalation
    why = "; ".join(vacancies(level.targets, config.directory, c.now)) or "its targets name nobody"
    after = next_step(level.level, round_, run.plan_levels, run.plan_rounds)
    round_note = f", round {round_}" if round_ > 1 else ""
    c.log(
        TimelineKind.PAGE_SKIPPED,
        SYSTEM,
        f"Level {level.level}{round_note} pages nobody: {why}; {after} next",
        details={"level": level.level, "round": round_, "people": []},
    )


def _known_error(c: Change, config: FirebellConfig) -> None:
    incident = c.incident
    found = known_error_for(
        config.directory.problems,
        f"{incident.title} {incident.description}",
        (incident.alert, incident.dedup_key),
        incident.service,
    )
    if found:
        c.set(known_error=KnownError(problem=found.id, title=found.title, workaround=found.workaround))
        c.log(
            TimelineKind.KNOWN_ERROR,
            SYSTEM,
            f"Known error {found.id} ({found.title}): {found.workaround}",
            details={"problem": found.id},
        )


def page_guard(c: Change) -> Guard:
    """A page goes out only while the incident is still triggered and this run is still its escalation."""
    return Guard(statuses=(Status.TRIGGERED,), escalation_execution=c.incident.escalation.execution_arn)


def _maintenance(c: Change, config: FirebellConfig) -> MaintenanceWindow | None:
    service = config.directory.service(c.incident.service)
    return service.maintenance_at(c.now) if service else None


def _paged_at_start(incident: Incident, request: PageRequest) -> bool:
    """The run's first page request, for a level 1 paged when the run started."""
    return (
        incident.escalation.paged_at_start
        and request.level is not None
        and request.level.level == 1
        and request.round == 1
        and not request.retrigger
        and incident.escalation.task_token is None
    )


def _stale(c: Change, execution: str | None) -> bool:
    # (no current run: it was paused for maintenance, or never started; either way this one is over)
    return execution is not None and execution != c.incident.escalation.execution_arn


class Escalation:
    NEEDS = Needs(
        # (it starts only the first escalation run: no run before it to stop; an SLA run may make way for updates)
        effects=frozenset(
            {
                EffectKind.PUBLISH,
                EffectKind.ANSWER,
                EffectKind.START,
                EffectKind.STOP,
                EffectKind.EMAIL,
                EffectKind.SMS,
                EffectKind.CHAT,
            }
        ),
        # (reminder: the follow-ups of a page, as the paged person's notification rules ask: usecases/reaching.py)
        starts=frozenset({machines.ESCALATION, machines.SLA, machines.QUIET, machines.MAINTENANCE, machines.REMINDER}),
        stops=frozenset({machines.SLA}),
        answers=frozenset({machines.ESCALATION}),
        signs_ack_links=True,
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    # --- categorisation, prioritisation, start -------------------------------------------------------

    def classify(self, incident_id: str) -> Outcome:
        """Idempotent: a redelivered event finds everything done and changes nothing."""
        config = self._ctx.config()
        return self._incidents.change(incident_id, lambda c: self._classify(c, config))

    def classify_opening(self, c: Change) -> None:
        """Classify a new incident in the change that opens it, paging level 1 in that same change: no hop
        through the events topic and the classify queue (whose consumer then finds it done)."""
        self._classify(c, self._ctx.config(), announce_opened=True)

    def _classify(self, c: Change, config: FirebellConfig, announce_opened: bool = False) -> None:
        newly = c.incident.priority is None
        if newly:
            result = classify(c.incident, config.rules, config.directory, self._ctx.time_scale)
            c.set(
                category=result.category,
                impact=result.impact,
                urgency=result.urgency,
                priority=result.priority,
                team=result.team,
                service=result.service,
                sla=result.sla,
            )
            c.log(
                TimelineKind.CLASSIFIED,
                SYSTEM,
                f"Classified {result.category}: impact {result.impact} × urgency {result.urgency} → {result.priority}; "
                f"team {result.team}; respond by {result.sla.response.due_at:%H:%M} UTC, "
                f"resolve by {result.sla.resolution.due_at:%Y-%m-%d %H:%M} UTC",
                details={"category": result.category, "priority": result.priority, "team": result.team},
            )
            _known_error(c, config)  # (before the first page, which tells its workaround)
        if is_open(c.incident.status):
            # Effects run in the order they are added: level 1's pages first, then the escalation's start, so the
            # first page waits for nothing else (issue 10).
            self._start_paging(c, config)
        if announce_opened:
            c.publish(EventType.OPENED)  # after the first page's effects: it waits for nothing else
        if newly:
            c.publish(EventType.CLASSIFIED)
        if is_open(c.incident.status) and c.incident.sla and c.incident.sla.execution_arn is None:
            sla_clocks.arm(c, self._ctx)

    def _start_paging(self, c: Change, config: FirebellConfig) -> None:
        escalation = c.incident.escalation
        if escalation.execution_arn is not None or escalation.deferred_until is not None or escalation.routed_at:
            return  # started (or deferred, or routed to chat) by an earlier delivery
        window = _maintenance(c, config)
        if window:
            self._defer(c, window)
            return
        start_escalation(c, self._ctx, config, page_first_level=True)
        self._start_quiet_period(c, config)
        start_duties(c, self._ctx, config)

    def _start_quiet_period(self, c: Change, config: FirebellConfig) -> None:
        """Services that auto-resolve their alerts: resolve once the alert has been quiet long enough."""
        service = config.directory.service(c.incident.service)
        if not c.incident.dedup_key or service is None or service.auto_resolve_quiet_minutes is None:
            return
        c.start(
            machines.QUIET,
            f"{c.incident_id}-quiet-{c.incident.reopened_count}",
            {
                "incident_id": c.incident_id,
                "quiet_seconds": scaled_timeout(service.auto_resolve_quiet_minutes, self._ctx.time_scale),
            },
        )

    def _defer(self, c: Change, window: MaintenanceWindow, name: str | None = None, what: str = "recorded") -> None:
        """During maintenance the incident is recorded, nobody is paged; escalation starts when the window ends."""
        name = name or f"{c.incident_id}-maintenance"
        c.start(
            machines.MAINTENANCE,
            name,
            {"incident_id": c.incident_id, "window_ends_at": sla.state_machine_time(window.end)},
        )
        c.set_part("escalation", deferred_until=window.end)
        c.log(
            TimelineKind.MAINTENANCE,
            SYSTEM,
            f"Service {c.incident.service} is in maintenance until {window.end:%Y-%m-%d %H:%M} UTC ({window.reason or 'no reason given'}): "
            f"{what}, nobody paged until then",
            details={"execution": self._ctx.execution_arn(machines.MAINTENANCE, name)},
        )

    def _pause_for_maintenance(self, c: Change, window: MaintenanceWindow, task_token: str | None, what: str) -> None:
        """A window that began while the escalation ran (GoAlert #2594): this run ends here without paging, and a
        new run starts from level 1 when the window ends if the incident is still open."""
        c.answer(task_token, TaskOutcome.STOP)
        c.set_part("escalation", execution_arn=None, task_token=None, watching=False)
        self._defer(
            c, window, name=f"{c.incident_id}-maintenance-{c.incident.escalation.runs}", what=f"{what} not paged"
        )

    def maintenance_ended(self, incident_id: str) -> Outcome:
        config = self._ctx.config()

        def decide(c: Change) -> None:
            if not is_open(c.incident.status) or c.incident.escalation.execution_arn:
                return
            c.log(
                TimelineKind.MAINTENANCE,
                SYSTEM,
                "Maintenance window over and the incident is still open: escalation starts",
            )
            start_escalation(c, self._ctx, config)
            start_duties(c, self._ctx, config)
            if c.incident.sla:
                sla_clocks.arm(
                    c, self._ctx, why="stakeholder updates begin"
                )  # their first round may come before its moment

        return self._incidents.change(incident_id, decide)

    # --- paging and the acknowledgement watch ---------------------------------------------------------

    def page(self, request: PageRequest) -> Outcome:
        config = self._ctx.config()
        return self._incidents.change(request.incident_id, lambda c: self._page(c, request, config))

    def _page(self, c: Change, request: PageRequest, config: FirebellConfig) -> None:
        incident = c.incident
        if _stale(c, request.execution):
            c.answer(request.task_token, TaskOutcome.STOP)
            return  # a run that was superseded or stopped pages nobody
        if request.level is None:
            # The run's last step: nobody acknowledged any level of any round. The run ends with this answer.
            self._exhausted(c, config, request.incident_managers, request.execution)
            c.answer(request.task_token, TaskOutcome.STOP)
            return
        if incident.escalation.task_token == request.task_token:
            return  # this level was already paged (redelivered message)
        paged_at_start = _paged_at_start(incident, request)
        if paged_at_start:
            if incident.status is Status.TRIGGERED and incident.escalation.escalate_on_first_request:
                c.answer(request.task_token, TaskOutcome.ESCALATE)  # on to level 2, as asked
                c.set_part("escalation", paged_at_start=False, escalate_on_first_request=False)
                return
            if incident.status is Status.TRIGGERED:
                c.set_part("escalation", task_token=request.task_token, paged_at_start=False)
                return
            # Acknowledged (or more) before the token came: answered below, without a "not paged" line.
            c.set_part("escalation", paged_at_start=False)
        if request.retrigger and incident.status is Status.ACKNOWLEDGED and incident.escalation.watching:
            c.set(status=next_status(incident.reference, incident.status, Action.RETRIGGER))
            c.log(
                TimelineKind.RETRIGGERED,
                SYSTEM,
                "Acknowledged but untouched past the acknowledgement timeout: paging again",
            )
        status = c.incident.status
        window = _maintenance(c, config) if status is Status.TRIGGERED else None
        if window:
            self._pause_for_maintenance(c, window, request.task_token, f"level {request.level.level}")
            return
        if status is Status.ON_HOLD:
            # On hold is acknowledged: the watch goes on, nobody is paged.
            c.set_part("escalation", task_token=request.task_token, watching=True)
            c.answer(request.task_token, TaskOutcome.ACKNOWLEDGED)
            return
        if status is not Status.TRIGGERED:
            c.answer(
                request.task_token, TaskOutcome.ACKNOWLEDGED if status is Status.ACKNOWLEDGED else TaskOutcome.STOP
            )
            if not paged_at_start:
                c.log(TimelineKind.PAGE_SKIPPED, SYSTEM, f"Level {request.level.level} not paged: incident {status}")
            return
        page_level(c, self._ctx, config, request.level, request.round, request.task_token)

    def watch(self, request: WatchRequest) -> Outcome:
        def decide(c: Change) -> None:
            if not is_open(c.incident.status) or _stale(c, request.execution):
                c.answer(request.task_token, TaskOutcome.STOP)
                return
            if c.incident.escalation.task_token != request.task_token:
                c.set_part("escalation", task_token=request.task_token, watching=True)

        return self._incidents.change(request.incident_id, decide)

    def page_incident_managers(self, request: EscalationExhausted) -> Outcome:
        """escalation.exhausted, from runs started before the last step became a PageRequest without a level."""
        config = self._ctx.config()
        return self._incidents.change(
            request.incident_id, lambda c: self._exhausted(c, config, request.incident_managers, request.execution)
        )

    def _exhausted(self, c: Change, config: FirebellConfig, managers: list[str], execution: str | None) -> None:
        incident = c.incident
        if incident.status is not Status.TRIGGERED or incident.escalation.exhausted or _stale(c, execution):
            return
        window = _maintenance(c, config)
        if window:
            self._pause_for_maintenance(c, window, None, "the incident manager")
            return
        c.set_part("escalation", exhausted=True)
        reach(c, self._ctx, config, managers, urgent=True, why="nobody acknowledged", guard=page_guard(c))
        c.log(
            TimelineKind.ESCALATION_EXHAUSTED,
            SYSTEM,
            f"No level acknowledged: incident manager paged ({', '.join(managers)})",
        )
