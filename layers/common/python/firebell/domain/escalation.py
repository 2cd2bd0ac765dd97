"""Escalation policies frozen into a plan when an incident opens, and targets resolved to people when paged."""

from datetime import datetime
from zoneinfo import ZoneInfo

from .directory import Directory, PolicyLevel
from .models import Incident
from .rules import Rules
from .schedules import on_call, vacancy
from .workflow_messages import EscalationLevel, EscalationPlan, PlanTarget


def scaled_timeout(delay_minutes: float, time_scale: float) -> int:
    """Seconds a timer waits; Step Functions needs a whole number of at least 1."""
    return max(1, round(delay_minutes * 60 * time_scale))


def plan_targets(level: PolicyLevel) -> list[PlanTarget]:
    return [PlanTarget(kind=t.kind, ref=t.ref) for t in level.targets]


def escalation_plan(
    incident: Incident, directory: Directory, rules: Rules, time_scale: float, policy_id: str | None = None
) -> EscalationPlan:
    """The policy named (a routing rule's choice), else the service's (or team's), as it is now: the incident keeps
    it even if the config changes."""
    policy = directory.policy_for(incident.team, incident.service, policy_id)
    team = directory.team(incident.team)
    return EscalationPlan(
        incident_id=incident.incident_id,
        reference=incident.reference,
        levels=[
            EscalationLevel(
                level=number,
                targets=plan_targets(level),
                timeout_seconds=scaled_timeout(level.delay_minutes, time_scale),
            )
            for number, level in enumerate(policy.levels, start=1)
        ],
        rounds=policy.repeat + 1,
        ack_timeout_seconds=scaled_timeout(rules.process.ack_timeout_minutes, time_scale),
        incident_managers=list(team.incident_managers),
    )


def people_for(targets: list[PlanTarget], directory: Directory, at: datetime) -> list[str]:
    """Who the targets mean at `at`: a schedule's on-call person, a person, a team's manager (deduplicated)."""
    people: list[str] = []
    for target in targets:
        if target.kind == "person":
            people.append(target.ref)
        elif target.kind == "schedule":
            schedule = directory.schedule(target.ref)
            person = on_call(schedule, at) if schedule is not None else None
            if person is not None:  # nobody on call (outside its hours): the level's other targets, or the next level
                people.append(person)
        elif target.kind == "team_manager":
            manager = directory.team(target.ref).manager
            if manager:
                people.append(manager)
    return list(dict.fromkeys(people))


def vacancies(targets: list[PlanTarget], directory: Directory, at: datetime) -> list[str]:
    """Why each schedule target of a level means nobody at `at`, in the words of its timeline line: "nobody on call
    on platform-primary at 19:02 Europe/London (outside its hours)"."""
    found: list[str] = []
    for target in targets:
        if target.kind != "schedule":
            continue
        schedule = directory.schedule(target.ref)
        if schedule is None:
            found.append(f"schedule {target.ref} is no longer in the directory")
            continue
        why = vacancy(schedule, at)
        if why is not None:
            local = at.astimezone(ZoneInfo(schedule.time_zone))
            found.append(f"nobody on call on {schedule.id} at {local:%H:%M} {schedule.time_zone} ({why})")
    return found


def next_step(level: int, round_: int, levels: int, rounds: int) -> str:
    """What an escalation run does after level `level` of round `round_` (levels and rounds: 0 when not known)."""
    if not levels or not rounds:
        return "the next step"
    if level < levels:
        return f"level {level + 1}" + (f", round {round_}" if round_ > 1 else "")
    if round_ < rounds:
        return f"level 1, round {round_ + 1}"
    return "the incident manager"
