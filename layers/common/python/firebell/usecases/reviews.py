"""Post-incident reviews beyond their summary: what the review found (root cause, contributing factors) and its action
items, each with an owner and a due date, reminded until done by a run of the reminder machine of its own (like the
review). The review as Markdown is domain/review_export.py."""

from __future__ import annotations

import math
from datetime import timedelta

from .. import workflows as machines
from ..domain.enums import TimelineKind
from ..domain.errors import FieldProblem, InvalidRequest, InvalidTransition, UnknownPerson
from ..domain.models import ActionItem, Review
from ..domain.requests import ActionItemCreate, ReviewDraft
from ..outbox import Change, EffectKind, Needs
from .base import Context, Incidents, Outcome
from .duties import lead, replace_action, review_interval, start_reminder
from .reaching import reach

MAX_DUE = timedelta(days=365)


def _review(c: Change, what: str) -> Review:
    review = c.incident.review
    if review is None:
        raise InvalidTransition(c.incident.reference, c.incident.status, what, "it has no post-incident review")
    return review


class Reviews:
    NEEDS = Needs(
        effects=frozenset({EffectKind.START, EffectKind.STOP, EffectKind.EMAIL}),
        starts=frozenset({machines.REMINDER}),
        stops=frozenset({machines.REMINDER}),
    )

    def __init__(self, incidents: Incidents, ctx: Context) -> None:
        self._incidents = incidents
        self._ctx = ctx

    def draft(self, incident_id_or_reference: str, by: str, draft: ReviewDraft) -> Outcome:
        def decide(c: Change) -> None:
            _review(c, "write the review of")
            found = draft.model_dump(exclude_none=True)
            if not found:
                return
            c.set_part("review", **found)
            c.log(
                TimelineKind.REVIEW,
                by,
                "Post-incident review: "
                + "; ".join(
                    f"root cause: {v}" if k == "root_cause" else f"contributing factors: {', '.join(v) or 'none'}"
                    for k, v in found.items()
                ),
            )

        return self._incidents.change(incident_id_or_reference, decide)

    def add_action(self, incident_id_or_reference: str, by: str, request: ActionItemCreate) -> Outcome:
        config = self._ctx.config()
        if config.directory.person(request.owner) is None:
            raise UnknownPerson(request.owner, field="body.owner")
        now = self._ctx.clock()
        if not now < request.due_at <= now + MAX_DUE:  # (a reminder run lasts at most a year: Step Functions' limit)
            raise InvalidRequest(
                problems=[FieldProblem("body.due_at", "must be in the future, at most 365 days from now")]
            )

        def decide(c: Change) -> None:
            review = _review(c, "add an action to the review of")
            number = len(review.actions) + 1
            interval = review_interval(self._ctx, config)
            silent = max(
                0, math.ceil((request.due_at - lead(self._ctx) - c.now).total_seconds() / interval)
            )  # rounds before it is due
            execution = start_reminder(
                c,
                self._ctx,
                f"{c.incident_id}-action-{number}",
                f"action-{number}",
                interval,
                1 + silent + config.rules.process.review_reminder_max_rounds,
            )
            item = ActionItem(
                number=number,
                text=request.text,
                owner=request.owner,
                due_at=request.due_at,
                created_by=by,
                execution_arn=execution,
            )
            c.set_part("review", actions=[*review.actions, item])
            c.log(
                TimelineKind.REVIEW,
                by,
                f"Action #{number} for {request.owner}, due {request.due_at:%Y-%m-%d %H:%M} UTC: {request.text}",
                details={"action": number, "owner": request.owner},
            )
            reach(
                c,
                self._ctx,
                config,
                [request.owner],
                urgent=False,
                why=f"post-incident action #{number} is yours",
                note=request.text,
            )

        return self._incidents.change(incident_id_or_reference, decide)

    def action_done(self, incident_id_or_reference: str, by: str, number: int) -> Outcome:
        def decide(c: Change) -> None:
            review = _review(c, "complete an action of")
            item = next((a for a in review.actions if a.number == number), None)
            if item is None:
                raise InvalidTransition(
                    c.incident.reference,
                    c.incident.status,
                    f"complete action #{number} of",
                    "its review has no such action",
                )
            if item.done_at:
                return  # done already (a retry, or two people at once): nothing more
            replace_action(c, item.model_copy(update={"done_at": c.now, "done_by": by}))
            c.stop(item.execution_arn, "action done")
            c.log(TimelineKind.REVIEW, by, f"Action #{number} done by {by}: {item.text}", details={"action": number})

        return self._incidents.change(incident_id_or_reference, decide)
