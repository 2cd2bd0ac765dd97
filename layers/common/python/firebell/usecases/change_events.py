"""Change events: a deploy or a config change on a service, put on the timeline of each of its open incidents
(PagerDuty's "recent changes" on an incident). A change opens nothing, pages nobody and restarts no timer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from ..domain.change_events import ChangeEvent
from ..domain.enums import Status, TimelineKind
from ..domain.errors import OnceKeyUsed
from ..domain.models import Incident
from ..outbox import Change, Needs, UseOnce
from ..ports import IncidentFilter
from .base import Incidents

OPEN = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.ON_HOLD)
# One write per incident in the request: an alarm storm's hundreds of open incidents get the change on the newest.
MAX_INCIDENTS = 100
_PAGE = 100
# How long a change with its own timestamp is recognised when a client sends it again.
_REMEMBER = timedelta(days=1)


@dataclass
class Recorded:
    on: list[str] = field(default_factory=list)  # references of the incidents it was put on now
    already: list[str] = field(default_factory=list)  # ... that had it from an earlier delivery of the same event
    skipped: int = 0  # open incidents beyond MAX_INCIDENTS


def record_change(c: Change, event: ChangeEvent, identity: str | None) -> None:
    if c.incident.status not in OPEN:
        return  # resolved since it was listed: a change after the fact is no longer its context
    if identity:
        c.once.append(UseOnce(key=f"CHANGE#{c.incident_id}#{identity}", expires_at=c.now + _REMEMBER))
    payload = event.payload
    source = f" (from {payload.source})" if payload.source else ""
    c.log(
        TimelineKind.CHANGE_EVENT,
        payload.source or "pagerduty-change-events",
        f"Change on {c.incident.service}{source}: {payload.summary}",
        event.details(),
    )


class ChangeEvents:
    NEEDS = Needs()  # timeline entries only: no effect, so no grant

    def __init__(self, incidents: Incidents) -> None:
        self._incidents = incidents

    def record(self, event: ChangeEvent, service: str) -> Recorded:
        """One transaction per open incident of `service`; a redelivered event (same timestamp and content) is not
        recorded twice on any of them."""
        recorded = Recorded()
        identity = event.identity()
        targets = self.open_incidents(service)
        recorded.skipped = max(0, len(targets) - MAX_INCIDENTS)
        for incident in targets[:MAX_INCIDENTS]:
            try:
                outcome = self._incidents.change(incident.incident_id, lambda c: record_change(c, event, identity))
            except OnceKeyUsed:
                recorded.already.append(incident.reference)
                continue
            if outcome.changed:
                recorded.on.append(incident.reference)
        return recorded

    def open_incidents(self, service: str) -> list[Incident]:
        """The service's open incidents, newest first."""
        found: list[Incident] = []
        for status in OPEN:
            cursor = None
            while True:
                page = self._incidents.list(IncidentFilter(status=status), _PAGE, cursor)
                found += [incident for incident in page.items if incident.service == service]
                cursor = page.cursor
                if not cursor:
                    break
        return sorted(found, key=lambda incident: incident.opened_at, reverse=True)
