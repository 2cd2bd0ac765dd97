"""Opening: a new incident as one change, whoever reports it (an alert, a person, a drill): its reference, its
alert's last fix or the recent incidents that look like it, its "opened" line, its classification and first page
(usecases/escalation.py) and its announcement."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from ..concurrency import run_at_once
from ..domain.enums import Source, TimelineKind
from ..domain.facts import IncidentFacts
from ..domain.models import Incident, PreviousFix
from ..domain.similarity import fixes_like
from ..outbox import Change
from ..ports import IncidentStore
from ..retrying import persevering
from .base import Context
from .escalation import Escalation

# the closed incidents a new one is compared with for its first page (the incident page looks back 180 days)
_RECENT_FACTS = 200


class Opening:
    def __init__(self, store: IncidentStore, ctx: Context, escalation: Escalation) -> None:
        self._store = store
        self._ctx = ctx
        self._escalation = escalation

    def _reads(self, now: datetime, dedup_key: str | None) -> tuple[str, IncidentFacts | None, list[IncidentFacts]]:
        """A new incident's reference, its alert's last fix and the recent incidents' facts, read at once: the
        first page waits for one round trip instead of four (issue 10). The config is loaded meanwhile too (once
        per container and TTL: classifying reads it). The facts are read even when the alert's own fix will make
        them unneeded: one bounded query, which costs less than the wait."""
        # Each tried again in place over a throttle or a timeout: one of them failing would fail the whole opening,
        # which the client or the queue then makes again from the start. (A reference drawn by a try whose answer
        # was lost is skipped: references stay unique, with a gap.)
        answers = run_at_once(
            [
                lambda: persevering(self._store.next_reference),
                lambda: persevering(lambda: self._store.last_fix(dedup_key)) if dedup_key else None,
                lambda: persevering(lambda: self._store.recent_facts(now, _RECENT_FACTS)),
                self._ctx.config,
            ]
        )
        for answer in answers:
            if isinstance(answer, Exception):
                raise answer
        reference, last, recent, _ = answers
        return cast(str, reference), cast("IncidentFacts | None", last), cast("list[IncidentFacts]", recent)

    def new(self, incident_id: str, opened_by: str | None = None, **fields: Any) -> Change:
        """A new incident with its reference, its "opened" line (by `opened_by`, else its reporter), its
        classification and first page, and its announcement, as one change."""
        now = self._ctx.clock()
        dedup_key = fields.get("dedup_key")
        reference, last, recent = self._reads(now, dedup_key)
        if last is not None and last.resolution_notes:
            fields["previously"] = PreviousFix(
                reference=last.reference,
                resolved_at=last.resolved_at,
                resolved_by=last.resolved_by,
                resolution_notes=last.resolution_notes,
            )
        incident = Incident(incident_id=incident_id, reference=reference, opened_at=now, last_seen_at=now, **fields)
        if incident.previously is None:  # no fix of its own alert: recent incidents that look like it
            incident.similar = fixes_like(
                f"{incident.title} {incident.description}", incident.alert, incident.service, recent
            )
        change = Change(incident, now, new=True)
        origin = (
            f"alarm {incident.alarm.name}"
            if incident.alarm
            else {
                Source.PAGERDUTY: "a PagerDuty Events v2 event",
                Source.ALERTMANAGER: "an Alertmanager alert",
                Source.EMAIL: f"an email by {incident.reporter}",
            }.get(incident.source, f"report by {incident.reporter}")
        )
        change.log(
            TimelineKind.OPENED,
            opened_by or incident.reporter,
            f"{incident.reference} opened from {origin}: {incident.title}",
        )
        self._escalation.classify_opening(change)
        return change
