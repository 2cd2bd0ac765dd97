"""Reaching people: the email and SMS of a change, as each person's notification rules say (domain/notification_rules.py,
docs/notification-rules.md), and the follow-ups of a page nobody acknowledged.

A page's follow-ups are a run of the reminder machine (its rounds `every_minutes` apart); the run's duty names the
person and the incident version that paged them (`follow-<version>-<person>`), so that only the follow-ups of a
person's latest page go on, and a round redelivered sends nothing twice.
"""

from __future__ import annotations

import hashlib

from .. import workflows as machines
from ..domain.directory import FirebellConfig, Person
from ..domain.enums import Status, TaskOutcome, TimelineKind
from ..domain.escalation import scaled_timeout
from ..domain.notification_rules import Channel, FollowUp, follow_up, follow_up_channels, page_channels, urgency_of
from ..domain.workflow_messages import ReminderDue
from ..outbox import Change, Guard
from .base import SYSTEM, Context
from .messages import compose, slack_text


def reach(
    c: Change,
    ctx: Context,
    config: FirebellConfig,
    person_ids: list[str],
    urgent: bool,
    why: str,
    note: str | None = None,
    guard: Guard | None = None,
) -> None:
    """Each person reached as this change's effects: a page (`urgent`) by their rules for the incident's urgency,
    anything else by email; each delivery lands on the timeline. A page with a `guard` (an escalation's) starts
    the person's follow-ups, if their rules have any."""
    directory = config.directory
    urgency = urgency_of(c.incident.priority)
    for pid in dict.fromkeys(person_ids):  # one message per person, however many routes lead to them
        person = directory.person(pid)
        if person is None:
            c.log(TimelineKind.NOTIFICATION_FAILED, SYSTEM, f"cannot reach {pid}: no longer in the directory ({why})")
            continue
        if not urgent:
            send(c, ctx, config, person, ["email"], why, note, guard)
            continue
        via, because = page_channels(person.notification_rules, urgency, c.now, person.time_zone)
        if not via:
            c.log(
                TimelineKind.PAGE_SKIPPED,
                SYSTEM,
                f"{pid} not paged: their notification rules say nothing for {because} ({why})",
                {"person": pid, "urgency": urgency},
            )
            continue
        if not reachable_by(person, via):
            c.log(
                TimelineKind.PAGE_SKIPPED,
                SYSTEM,
                f"{pid} not paged: their notification rules ask for {' and '.join(via)}, "
                f"and the directory has no {' or '.join(_CONTACT[v] for v in via)} for them ({why})",
                {"person": pid, "urgency": urgency},
            )
            continue
        send(c, ctx, config, person, via, why, note, guard)
        plan = follow_up(person.notification_rules, urgency)
        if guard is not None and plan is not None:
            _start_follow_ups(c, ctx, person, plan)


_CONTACT = {"email": "email", "sms": "phone", "slack": "slack_user_id"}  # the directory field each channel needs


def reachable_by(person: Person, via: list[Channel]) -> bool:
    return any(getattr(person, _CONTACT[channel]) for channel in via)


def send(
    c: Change,
    ctx: Context,
    config: FirebellConfig,
    person: Person,
    via: list[Channel],
    why: str,
    note: str | None,
    guard: Guard | None,
) -> None:
    directory = config.directory
    subject, body, text = compose(ctx, config, c.incident, person, why, note, c.now)
    if "email" in via and person.email:
        c.email(
            sender=directory.notifications.sender,
            to=person.email,
            person=person.id,
            subject=subject,
            body=body,
            why=why,
            guard=guard,
        )
    if "sms" in via and person.phone:
        digest = directory.notifications.sms_digest
        # The dispatcher counts each SMS page against this when it is due (after its guard): held past the limit.
        limit = (
            {
                "after": digest.after,
                "per_minutes": digest.per_minutes,
                "window_seconds": scaled_timeout(digest.per_minutes, ctx.time_scale),
            }
            if digest and c.incident.priority not in digest.send_at_once
            else None
        )
        c.sms(to=person.phone, person=person.id, text=text, why=why, guard=guard, limit=limit)
    if "slack" in via and person.slack_user_id:
        c.chat(to=person.slack_user_id, person=person.id, text=slack_text(text), why=why, guard=guard)


def _start_follow_ups(c: Change, ctx: Context, person: Person, plan: FollowUp) -> None:
    version = c.before.version + 1 if not c.new else 1  # (the version this change commits)
    name = f"{c.incident_id}-follow-{hashlib.sha256(person.id.encode()).hexdigest()[:10]}-{version}"
    c.start(
        machines.REMINDER,
        name,
        {
            "incident_id": c.incident_id,
            "duty": f"follow-{version}-{person.id}",
            "round": 1,
            "max_rounds": plan.times + 1,
            "interval_seconds": scaled_timeout(plan.every_minutes, ctx.time_scale),
        },
    )
    c.set_part("escalation", follow_ups={**c.incident.escalation.follow_ups, person.id: version})


def follow_up_due(c: Change, ctx: Context, config: FirebellConfig, due: ReminderDue) -> None:
    """A round of a page's follow-ups: the next step while the incident is still triggered and the page is the
    person's latest; else the run ends."""
    _, version, pid = due.duty.split("-", 2)
    incident = c.incident
    if due.round == 1:
        return  # (the run's start: the page itself went with the change that started it)
    person = config.directory.person(pid)
    plan = follow_up(person.notification_rules, urgency_of(incident.priority)) if person else None
    latest = incident.escalation.follow_ups.get(pid) == int(version)
    if (
        incident.status is not Status.TRIGGERED
        or not latest
        or person is None
        or plan is None
        or due.round > plan.times + 1
    ):
        c.answer(due.task_token, TaskOutcome.DONE)
        return
    mark = hashlib.sha256(due.task_token.encode()).hexdigest()[:16]
    if incident.escalation.follow_up_rounds.get(pid) == mark:
        return  # this round was sent (a redelivered message)
    c.set_part("escalation", follow_up_rounds={**incident.escalation.follow_up_rounds, pid: mark})
    step = due.round - 1
    via, because = follow_up_channels(
        person.notification_rules, plan, urgency_of(incident.priority), c.now, person.time_zone
    )
    if via:
        # (sent only while nobody has acknowledged, however late the dispatcher gets to it)
        send(
            c,
            ctx,
            config,
            person,
            via,
            f"follow-up {step} of {plan.times}: not acknowledged",
            None,
            Guard(statuses=(Status.TRIGGERED,)),
        )
    else:
        c.log(TimelineKind.PAGE_SKIPPED, SYSTEM, f"{pid} follow-up {step} not sent: {because}", {"person": pid})
    if step >= plan.times:
        c.answer(due.task_token, TaskOutcome.DONE)
