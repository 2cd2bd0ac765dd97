"""Communications & duties: reaching people, the major-incident duties (incident manager, stakeholder updates)
and post-incident reviews, with the reminders that chase them."""

from __future__ import annotations

from .. import workflows as machines
from ..domain.directory import FirebellConfig
from ..domain import sla
from ..domain.enums import TaskOutcome, TimelineKind
from ..domain.errors import InvalidTransition
from ..domain.escalation import scaled_timeout
from ..domain.lifecycle import is_open
from ..domain.models import ReminderDue, Review, StakeholderUpdates, TimelineEntry
from ..outbox import Change, EffectKind, Guard, Needs
from .base import SYSTEM, Context, Incidents, Outcome
from .messages import compose

_MAX_REMINDER_ROUNDS = 500  # a duty nobody ever does still ends (Standard executions last at most a year)


def reach(c: Change, ctx: Context, config: FirebellConfig, person_ids: list[str], urgent: bool, why: str,
          note: str | None = None, guard: Guard | None = None) -> None:
    """Email (and SMS when urgent) to each person, as effects of this change; each delivery lands on the timeline."""
    directory = config.directory
    digest = directory.notifications.sms_digest
    # The dispatcher counts each SMS page against this when it is due (after its guard): held past the limit.
    limit = {"after": digest.after, "per_minutes": digest.per_minutes,
             "window_seconds": scaled_timeout(digest.per_minutes, ctx.time_scale)} if digest else None
    for pid in person_ids:
        person = directory.person(pid)
        if person is None:
            c.log(TimelineKind.NOTIFICATION_FAILED, SYSTEM, f"cannot reach {pid}: no longer in the directory ({why})")
            continue
        subject, body, text = compose(ctx, config, c.incident, person, why, note, c.now)
        if person.email:
            c.email(sender=directory.notifications.sender, to=person.email, person=person.id, subject=subject, body=body, why=why, guard=guard)
        if person.phone and urgent:
            c.sms(to=person.phone, person=person.id, text=text, why=why, guard=guard, limit=limit)


def touch(c: Change) -> None:
    """Activity on an acknowledged incident restarts its acknowledgement timeout."""
    escalation = c.incident.escalation
    if escalation.watching and escalation.task_token and is_open(c.incident.status):
        c.answer(escalation.task_token, TaskOutcome.TOUCHED)
        c.set_part("escalation", task_token=None)  # answered: the machine sends a fresh watch token


def start_reminder(c: Change, ctx: Context, duty: str, every_minutes: float, run: int, suffix: str = "") -> str:
    name = f"{c.incident_id}-{duty}-{run}" + (f"-{suffix}" if suffix else "")
    c.start(machines.REMINDER, name, {"incident_id": c.incident_id, "duty": duty, "max_rounds": _MAX_REMINDER_ROUNDS,
                                      "interval_seconds": scaled_timeout(every_minutes, ctx.time_scale)})
    return ctx.execution_arn(machines.REMINDER, name)


def start_duties(c: Change, ctx: Context, config: FirebellConfig) -> None:
    """What a major incident needs besides paging: an incident manager, stakeholder updates."""
    incident = c.incident
    process = config.rules.process
    if incident.priority in process.incident_manager_priorities and incident.incident_manager is None:
        manager = config.directory.team(incident.team).incident_managers[0]
        c.set(incident_manager=manager)
        c.log(TimelineKind.INCIDENT_MANAGER, SYSTEM, f"{incident.priority}: {manager} assigned as incident manager")
        reach(c, ctx, config, [manager], urgent=True, why=f"incident manager for {incident.priority}")
    if incident.priority in process.stakeholder_update_minutes and incident.updates is None:
        every = process.stakeholder_update_minutes[incident.priority]
        execution = start_reminder(c, ctx, "updates", every, incident.escalation.runs)
        c.set(updates=StakeholderUpdates(every_minutes=every, execution_arn=execution))
        c.log(TimelineKind.STAKEHOLDER_UPDATE, SYSTEM, f"{incident.priority}: stakeholder updates due every {every:g} min while open")


def require_review(c: Change, ctx: Context, config: FirebellConfig) -> None:
    incident = c.incident
    process = config.rules.process
    if incident.priority not in process.review_required or incident.review is not None:
        return
    fallback = config.directory.team(incident.team).incident_managers[0]
    owner = incident.incident_manager or incident.acknowledged_by or fallback
    if config.directory.person(owner) is None:  # e.g. acknowledged by "cloudwatch" or a PagerDuty client
        owner = fallback
    due = c.now + sla.scaled(process.review_due_days * 24 * 60, ctx.time_scale)
    execution = start_reminder(c, ctx, "review", process.review_reminder_hours * 60, incident.reopened_count)
    c.set(review=Review(owner=owner, due_at=due, execution_arn=execution))
    c.log(TimelineKind.REVIEW, SYSTEM, f"{incident.priority}: post-incident review required, owner {owner}, due {due:%Y-%m-%d %H:%M} UTC")


class Duties:
    NEEDS = Needs(
        effects=frozenset({EffectKind.ANSWER, EffectKind.EMAIL, EffectKind.SMS}),
        answers=frozenset({machines.REMINDER, machines.ESCALATION}), signs_ack_links=True,
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def reminder_due(self, due: ReminderDue) -> Outcome:
        config = self._ctx.config()
        return self._incidents.change(due.incident_id, lambda c: self._remind(c, due, config))

    def _remind(self, c: Change, due: ReminderDue, config: FirebellConfig) -> None:
        incident = c.incident
        if due.duty == "review":
            review = incident.review
            if review is None or review.completed_at:
                c.answer(due.task_token, TaskOutcome.DONE)
                return
            if review.task_token == due.task_token:
                return  # redelivered
            if due.round == 1 and review.task_token is not None:
                # A re-armed run (the first one's token is kept): its owner was told already.
                c.set_part("review", task_token=due.task_token)
                return
            c.set_part("review", task_token=due.task_token, reminders_sent=review.reminders_sent + (1 if due.round > 1 else 0))
            why = "post-incident review assigned" if due.round == 1 else f"post-incident review reminder #{due.round - 1}"
            reach(c, self._ctx, config, [review.owner], urgent=False, why=why)
            return
        updates = incident.updates
        if updates is None or not is_open(incident.status):
            c.answer(due.task_token, TaskOutcome.DONE)
            return
        if updates.task_token == due.task_token:
            return  # redelivered
        c.set_part("updates", task_token=due.task_token)
        if due.round == 1:
            return
        window_start = c.now - sla.scaled(updates.every_minutes, self._ctx.time_scale)
        if updates.last_update_at and updates.last_update_at >= window_start:
            c.set_part("updates", overdue_rounds=0)
            return
        overdue = updates.overdue_rounds + 1
        c.set_part("updates", overdue_rounds=overdue, reminders_sent=updates.reminders_sent + 1)
        team = config.directory.team(incident.team)
        manager = incident.incident_manager or team.incident_managers[0]
        if overdue == 1:
            c.log(TimelineKind.UPDATE_OVERDUE, SYSTEM, f"Stakeholder update overdue: {manager} reminded")
            reach(c, self._ctx, config, [manager], urgent=False, why="stakeholder update overdue")
            return
        escalate_to = [p for p in (manager, team.manager) if p]
        c.log(TimelineKind.UPDATE_OVERDUE, SYSTEM, f"Stakeholder update overdue {overdue} times in a row: escalated to {', '.join(escalate_to)}")
        reach(c, self._ctx, config, escalate_to, urgent=True, why=f"stakeholder update overdue ×{overdue}")

    def post_update(self, incident_id_or_reference: str, by: str, message: str) -> tuple[TimelineEntry, Outcome]:
        config = self._ctx.config()
        posted: list[TimelineEntry] = []

        def decide(c: Change) -> None:
            posted.clear()
            if c.incident.updates:
                c.set_part("updates", last_update_at=c.now, overdue_rounds=0)
            posted.append(c.log(TimelineKind.STAKEHOLDER_UPDATE, by, message))
            team = config.directory.team(c.incident.team)
            reach(c, self._ctx, config, list(team.stakeholders), urgent=False, why="stakeholder update", note=message)
            touch(c)

        outcome = self._incidents.change(incident_id_or_reference, decide)
        return posted[0], outcome

    def complete_review(self, incident_id_or_reference: str, by: str, summary: str) -> Outcome:
        def decide(c: Change) -> None:
            incident = c.incident
            if incident.review is None:
                raise InvalidTransition(incident.reference, incident.status, "complete the review of", "it has no post-incident review")
            if incident.review.completed_at:
                raise InvalidTransition(incident.reference, incident.status, "complete the review of", "the review is already done")
            c.set_part("review", completed_at=c.now, completed_by=by, summary=summary)
            c.log(TimelineKind.REVIEW, by, f"Post-incident review done: {summary}")
            c.answer(incident.review.task_token, TaskOutcome.DONE)

        return self._incidents.change(incident_id_or_reference, decide)

