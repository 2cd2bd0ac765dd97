"""What the reports read of one incident: a compact record of its times, its SLA outcome, its escalations and
who it reached, worked out from the incident and its timeline (pure).

The change that closes an incident stores it (one item per incident, keyed by the month it opened, written in the
closing transaction), so a year's report reads about 20k small items instead of every incident and its timeline;
incidents not closed yet are worked out live from their timelines (data/facts_store.py, usecases/reports.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict

from .cost import drivers_of, estimate
from .enums import TimelineKind
from .models import Incident, SlaTimer, TimelineEntry

# Why a notification went out, for the ones that page, i.e. reach people urgently (usecases: escalation, lifecycle,
# sla_clocks, duties): the rest (SLA at risk, resolution notices, stakeholder updates, review reminders) reach
# people but are not pages.
_PAGING_REASONS = (
    "level ",
    "incident manager",
    "nobody acknowledged",
    "assigned by",
    "response SLA breached",
    "resolution SLA breached",
    "stakeholder update overdue ×",
)


class Notice(BaseModel):
    """One notification delivered to a person (a timeline `notification_sent` line)."""

    model_config = ConfigDict(extra="ignore", frozen=True)  # stored: what a later version adds is read past
    person: str
    at: datetime
    channel: Literal["email", "sms"]
    paging: bool
    # What reached them together: the change that decided it (one page is an email and an SMS of one change), or
    # the SMS digest that carried it (one SMS for several held pages, on each of their incidents).
    sent_with: str | None = None


class IncidentFacts(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)  # stored: what a later version adds is read past
    incident_id: str
    reference: str
    title: str
    description: str = ""  # its first 500 characters: what similar incidents are matched on, with the title
    opened_at: datetime
    source: str
    team: str | None = None
    service: str | None = None
    priority: str | None = None
    category: str | None = None
    alert: str | None = None  # what raised it (the alarm's name, the monitoring tool's dedup key): noisy-alert reports
    first_page_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_notes: str | None = None  # how it was resolved: what similar incidents show the next responder
    closed_at: datetime | None = None
    auto_resolved: bool = False
    reopened: int = 0
    flaps: int = 0  # resolved by its alert's recovery, then fired again within the confirmation window
    occurrences: int = 1
    response_due_at: datetime | None = None
    resolution_due_at: datetime | None = None
    response_breached: bool | None = None  # None: no SLA (never classified) or not decided yet
    resolution_breached: bool | None = None
    escalated_by_timeout: int = 0
    escalated_by_hand: int = 0
    reassigned: int = 0
    reached_incident_manager: bool = False
    notices: list[Notice] = []
    drill: bool = False
    # Its own AWS cost, estimated from what it did (domain/cost.py); None in facts stored before the estimate.
    aws_usd: float | None = None  # AWS's services, messaging left out
    messaging_usd: float | None = None  # emails and SMS


def facts_of(incident: Incident, timeline: list[TimelineEntry]) -> IncidentFacts:
    entries = sorted(timeline, key=lambda e: e.at)
    notices = [_notice(e) for e in entries if e.kind is TimelineKind.NOTIFICATION_SENT and e.details.get("person")]
    pages = [n for n in notices if n.paging]
    # A step after a run's first (a later level or round, or the incident manager when every level went
    # unanswered) went out because the one before timed out, unless someone escalated by hand just before it.
    by_hand = by_timeout = asked = 0
    for e in entries:
        if e.kind is TimelineKind.ESCALATED:
            by_hand += 1
            asked += 1
        elif (
            e.kind is TimelineKind.PAGED and (e.details.get("level"), e.details.get("round")) != (1, 1)
        ) or e.kind is TimelineKind.ESCALATION_EXHAUSTED:
            if asked:
                asked -= 1
            else:
                by_timeout += 1
    flaps, after_recovery = 0, False
    for e in entries:
        if e.kind is TimelineKind.RESOLVED:
            after_recovery = bool(e.details.get("automatic"))
        elif e.kind is TimelineKind.REOPENED:
            flaps += after_recovery
            after_recovery = False
    first_resolved = next((e for e in entries if e.kind is TimelineKind.RESOLVED), None)
    clock = incident.sla
    cost = estimate(drivers_of(entries, incident.source.value))
    return IncidentFacts(
        incident_id=incident.incident_id,
        reference=incident.reference,
        title=incident.title,
        description=incident.description[:500],
        opened_at=incident.opened_at,
        source=incident.source.value,
        team=incident.team,
        service=incident.service,
        priority=incident.priority.value if incident.priority else None,
        category=incident.category,
        alert=incident.alert,
        first_page_at=pages[0].at if pages else None,
        acknowledged_at=_first(entries, TimelineKind.ACKNOWLEDGED) or incident.acknowledged_at,
        acknowledged_by=next(
            (e.actor for e in entries if e.kind is TimelineKind.ACKNOWLEDGED), incident.acknowledged_by
        ),
        # The first resolution, whoever or whatever made it (MTTR's): a reopened incident's later one is not it.
        resolved_at=first_resolved.at if first_resolved else incident.resolved_at,
        resolved_by=first_resolved.actor if first_resolved else incident.resolved_by,
        resolution_notes=incident.resolution_notes[:1000] if incident.resolution_notes else None,
        closed_at=incident.closed_at,
        auto_resolved=bool(first_resolved.details.get("automatic")) if first_resolved else incident.auto_resolved,
        reopened=incident.reopened_count,
        flaps=flaps,
        occurrences=incident.occurrences,
        response_due_at=clock.response.due_at if clock else None,
        resolution_due_at=clock.resolution.due_at if clock else None,
        response_breached=_breached(clock.response) if clock else None,
        resolution_breached=_breached(clock.resolution) if clock else None,
        escalated_by_timeout=by_timeout,
        escalated_by_hand=by_hand,
        reassigned=sum(1 for e in entries if e.kind is TimelineKind.REASSIGNED),
        reached_incident_manager=any(e.kind is TimelineKind.ESCALATION_EXHAUSTED for e in entries),
        notices=notices,
        drill=incident.drill,
        aws_usd=cost.usd_ex_messaging,
        messaging_usd=cost.usd_messaging,
    )


def _notice(entry: TimelineEntry) -> Notice:
    why = str(entry.details.get("why", ""))
    channel = "sms" if entry.details.get("channel") == "sms" else "email"
    effect = str(entry.details.get("effect", ""))
    sent_with = (
        f"digest:{entry.details['digest']}" if entry.details.get("digest") else (effect.rsplit(":", 1)[0] or None)
    )
    return Notice(
        person=entry.details["person"],
        at=entry.at,
        channel=channel,
        paging=why.startswith(_PAGING_REASONS),
        sent_with=sent_with,
    )


def _first(entries: list[TimelineEntry], kind: TimelineKind) -> datetime | None:
    return next((e.at for e in entries if e.kind is kind), None)


def _breached(timer: SlaTimer) -> bool | None:
    """Breached: its breach moment came, or it was met late (a paused clock's due time moved with the pause).
    None while neither happened (still running)."""
    if timer.breached_at is not None:
        return True
    if timer.met_at is not None:
        return timer.met_at > timer.due_at
    return None
