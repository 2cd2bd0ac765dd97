"""Communications & duties: reaching people, the major-incident duties (incident manager, stakeholder updates)
and post-incident reviews, with the reminders that chase them."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .. import workflows as machines
from ..domain import sla
from ..domain.directory import FirebellConfig
from ..domain.enums import TaskOutcome, TimelineKind
from ..domain.errors import InvalidTransition
from ..domain.escalation import scaled_timeout
from ..domain.lifecycle import is_open
from ..domain.models import ActionItem, Incident, Review, StakeholderUpdates, TimelineEntry
from ..domain.workflow_messages import ReminderDue
from ..outbox import Change, EffectKind, Needs
from .base import SYSTEM, Context, Incidents, Outcome
from .reaching import follow_up_due, reach

# Stakeholder updates are due while the incident is open; their reminders still end (a Standard execution of the
# reminder machine, which ran them before, lasts at most a year).
_MAX_UPDATE_ROUNDS = 500


def touch(c: Change) -> None:
    """Activity on an acknowledged incident restarts its acknowledgement timeout."""
    escalation = c.incident.escalation
    if escalation.watching and escalation.task_token and is_open(c.incident.status):
        c.answer(escalation.task_token, TaskOutcome.TOUCHED)
        c.set_part("escalation", task_token=None)  # answered: the machine sends a fresh watch token


def start_reminder(c: Change, ctx: Context, name: str, duty: str, interval_seconds: int, max_rounds: int) -> str:
    """A run of the reminder machine asking notify about `duty` every interval; its execution id."""
    c.start(
        machines.REMINDER,
        name,
        {
            "incident_id": c.incident_id,
            "duty": duty,
            "max_rounds": max_rounds,
            "interval_seconds": interval_seconds,
            "round": 1,
        },
    )
    return ctx.execution_arn(machines.REMINDER, name)


def review_interval(ctx: Context, config: FirebellConfig) -> int:
    return scaled_timeout(config.rules.process.review_reminder_hours * 60, ctx.time_scale)


def start_review_reminder(c: Change, ctx: Context, config: FirebellConfig, run: int, suffix: str = "") -> str:
    name = f"{c.incident_id}-review-{run}" + (f"-{suffix}" if suffix else "")
    return start_reminder(
        c, ctx, name, "review", review_interval(ctx, config), config.rules.process.review_reminder_max_rounds
    )


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
        # (their rounds are moments of the SLA run the caller arms: sla_clocks.arm)
        every = process.stakeholder_update_minutes[incident.priority]
        c.set(updates=StakeholderUpdates(every_minutes=every, started_at=c.now))
        c.log(
            TimelineKind.STAKEHOLDER_UPDATE,
            SYSTEM,
            f"{incident.priority}: stakeholder updates due every {every:g} min while open",
        )


def next_update_due(incident: Incident, time_scale: float) -> datetime | None:
    """When the next stakeholder update round is due: None if the incident has none (or a reminder run of old
    chases them), is no longer open, or has had its last round."""
    updates = incident.updates
    if (
        updates is None
        or updates.started_at is None
        or updates.execution_arn is not None
        or not is_open(incident.status)
    ):
        return None
    if updates.rounds >= _MAX_UPDATE_ROUNDS:
        return None
    return updates.started_at + sla.scaled(updates.every_minutes * (updates.rounds + 1), time_scale)


def updates_of(c: Change) -> StakeholderUpdates:
    """The incident's stakeholder updates: the steps that read them run only once classification asked for them."""
    if c.incident.updates is None:
        raise ValueError(f"incident {c.incident_id} has no stakeholder updates")
    return c.incident.updates


def update_round(c: Change, ctx: Context, config: FirebellConfig) -> None:
    """A round of stakeholder updates came: overdue unless someone posted one within the last interval."""
    updates = updates_of(c)
    rounds = updates.rounds + 1
    c.set_part("updates", rounds=rounds)
    _overdue_unless_posted(c, ctx, config)
    if rounds >= _MAX_UPDATE_ROUNDS:
        c.log(
            TimelineKind.UPDATE_OVERDUE,
            SYSTEM,
            f"No more stakeholder update reminders: round {rounds} of {_MAX_UPDATE_ROUNDS} was the last "
            f"(stakeholder updates are reminded for {_MAX_UPDATE_ROUNDS} rounds at most)",
            details={"duty": "updates", "rounds": rounds},
        )


def _overdue_unless_posted(c: Change, ctx: Context, config: FirebellConfig, **updates_fields: Any) -> None:
    """No update in the last interval: remind the incident manager; overdue again, escalate to the team manager.
    (An update in time: posting it set overdue_rounds back to 0.)"""
    updates = updates_of(c)
    if updates.last_update_at and updates.last_update_at >= c.now - sla.scaled(updates.every_minutes, ctx.time_scale):
        return
    overdue = updates.overdue_rounds + 1
    c.set_part("updates", overdue_rounds=overdue, reminders_sent=updates.reminders_sent + 1, **updates_fields)
    team = config.directory.team(c.incident.team)
    manager = c.incident.incident_manager or team.incident_managers[0]
    if overdue == 1:
        c.log(TimelineKind.UPDATE_OVERDUE, SYSTEM, f"Stakeholder update overdue: {manager} reminded")
        reach(c, ctx, config, [manager], urgent=False, why="stakeholder update overdue")
        return
    escalate_to = [p for p in (manager, team.manager) if p]
    c.log(
        TimelineKind.UPDATE_OVERDUE,
        SYSTEM,
        f"Stakeholder update overdue {overdue} times in a row: escalated to {', '.join(escalate_to)}",
    )
    reach(c, ctx, config, escalate_to, urgent=True, why=f"stakeholder update overdue ×{overdue}")


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
    execution = start_review_reminder(c, ctx, config, incident.reopened_count)
    c.set(review=Review(owner=owner, due_at=due, execution_arn=execution))
    c.log(
        TimelineKind.REVIEW,
        SYSTEM,
        f"{incident.priority}: post-incident review required, owner {owner}, due {due:%Y-%m-%d %H:%M} UTC",
    )


class Duties:
    NEEDS = Needs(
        effects=frozenset({EffectKind.ANSWER, EffectKind.STOP, EffectKind.EMAIL, EffectKind.SMS, EffectKind.CHAT}),
        answers=frozenset({machines.REMINDER, machines.ESCALATION}),
        stops=frozenset({machines.REMINDER}),
        signs_ack_links=True,
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def reminder_due(self, due: ReminderDue) -> Outcome:
        config = self._ctx.config()
        return self._incidents.change(due.incident_id, lambda c: self._remind(c, due, config))

    def _remind(self, c: Change, due: ReminderDue, config: FirebellConfig) -> None:
        # Round 1 comes as the run starts: nothing is due yet (a review's owner is told with the resolution,
        # Resolution.confirming), and nothing is saved: completing the review or resolving stops the run.
        past_cap = due.max_rounds is not None and due.round > due.max_rounds  # (its end was said in the last round)
        if due.duty.startswith("action-"):
            remind_action(c, self._ctx, config, due)
            return
        if due.duty.startswith("follow-"):
            follow_up_due(c, self._ctx, config, due)
            return
        if due.duty == "review":
            review = c.incident.review
            if review is None or review.completed_at or past_cap:
                c.answer(due.task_token, TaskOutcome.DONE)
                return
            sent = review.reminders_sent
            if due.round > 1:
                if review.task_token == due.task_token:
                    return  # redelivered
                sent += 1
                c.set_part("review", task_token=due.task_token, reminders_sent=sent)
                reach(
                    c,
                    self._ctx,
                    config,
                    [review.owner],
                    urgent=False,
                    why=f"post-incident review reminder #{due.round - 1}",
                )
            self._last_round(
                c,
                due,
                f"{sent} reminder(s) sent and the review is not done; rules.yaml process.review_reminder_max_rounds",
            )
            return
        # A reminder run of the updates from before they became SLA moments (until the timers are re-armed).
        updates = c.incident.updates
        if updates is None or updates.execution_arn is None or not is_open(c.incident.status) or past_cap:
            c.answer(due.task_token, TaskOutcome.DONE)
            return
        if due.round == 1 or updates.task_token == due.task_token:
            return
        _overdue_unless_posted(c, self._ctx, config, task_token=due.task_token)
        self._last_round(c, due, f"stakeholder updates are reminded for {due.max_rounds} rounds at most")

    @staticmethod
    def _last_round(c: Change, due: ReminderDue, why: str) -> None:
        kind = TimelineKind.REVIEW if due.duty == "review" else TimelineKind.UPDATE_OVERDUE
        what = "post-incident review" if due.duty == "review" else "stakeholder update"
        _end_at_last_round(
            c,
            due,
            kind,
            f"No more {what} reminders: round {due.round} of {due.max_rounds} was the last ({why})",
            {"duty": due.duty, "rounds": due.round},
        )

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
                raise InvalidTransition(
                    incident.reference, incident.status, "complete the review of", "it has no post-incident review"
                )
            if incident.review.completed_at:
                raise InvalidTransition(
                    incident.reference, incident.status, "complete the review of", "the review is already done"
                )
            c.set_part("review", completed_at=c.now, completed_by=by, summary=summary)
            c.log(TimelineKind.REVIEW, by, f"Post-incident review done: {summary}")
            c.stop(incident.review.execution_arn, "review done")  # (its first round keeps no token to answer)

        return self._incidents.change(incident_id_or_reference, decide)


# --- post-incident action items (usecases/reviews.py adds them) -------------------------------------------------

# An action is reminded from the day before it is due, then daily for the review reminders' number of rounds.
_LEAD = timedelta(days=1)


def replace_action(c: Change, item: ActionItem) -> None:
    review = c.incident.review
    if review is None:
        raise InvalidTransition(c.incident.reference, c.incident.status, "update an action", "it has no review")
    c.set_part("review", actions=[item if a.number == item.number else a for a in review.actions])


def lead(ctx: Context) -> timedelta:
    return sla.scaled(_LEAD.total_seconds() / 60, ctx.time_scale)


def remind_action(c: Change, ctx: Context, config: FirebellConfig, due: ReminderDue) -> None:
    """A round of an action item's reminder run: silent until the day before it is due, then the owner is reminded
    each round; the run ends once the item is done, or at its last round (said on the timeline)."""
    number = int(due.duty.removeprefix("action-"))
    review = c.incident.review
    item = next((a for a in review.actions if a.number == number), None) if review else None
    if item is None or item.done_at or (due.max_rounds is not None and due.round > due.max_rounds):
        c.answer(due.task_token, TaskOutcome.DONE)
        return
    if due.round == 1 or c.now < item.due_at - lead(ctx):
        return
    if item.task_token == due.task_token:
        return  # redelivered
    late = "overdue" if c.now >= item.due_at else "due"
    replace_action(c, item.model_copy(update={"reminders_sent": item.reminders_sent + 1, "task_token": due.task_token}))
    reach(
        c,
        ctx,
        config,
        [item.owner],
        urgent=False,
        why=f"post-incident action #{number} {late} {item.due_at:%Y-%m-%d}",
        note=item.text,
    )
    _end_at_last_round(
        c,
        due,
        TimelineKind.REVIEW,
        f"No more reminders for action #{number}: round {due.round} of {due.max_rounds} was the last",
        {"action": number, "rounds": due.round},
    )


def _end_at_last_round(c: Change, due: ReminderDue, kind: TimelineKind, line: str, details: dict[str, Any]) -> None:
    """The run's last round: it ends here, and the timeline says why nobody will be reminded again."""
    if due.max_rounds is None or due.round < due.max_rounds:
        return
    c.log(kind, SYSTEM, line, details=details)
    c.answer(due.task_token, TaskOutcome.DONE)
