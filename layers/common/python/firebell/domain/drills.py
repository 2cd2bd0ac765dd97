"""The drill report (pure): who was paged when, and how long each responder took to acknowledge, from the drill's
facts (domain/facts.py), live while it runs and as its closing change stored them once it ended."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from .facts import IncidentFacts


class Responder(BaseModel):
    person: str
    first_paged_at: datetime
    seconds_to_first_page: float  # from the drill's start
    acknowledged: bool
    seconds_to_acknowledge: float | None  # from their first page; None if someone else acknowledged, or nobody yet


class DrillReport(BaseModel):
    reference: str
    title: str
    started_at: datetime
    ended_at: datetime | None
    priority: str | None
    team: str | None
    acknowledged_by: str | None
    seconds_to_acknowledge: float | None  # from the start
    escalations_by_timeout: int
    reached_incident_manager: bool
    responders: list[Responder]


def drill_report(facts: IncidentFacts) -> DrillReport:
    first: dict[str, datetime] = {}
    for notice in sorted(facts.notices, key=lambda n: n.at):
        if notice.paging:
            first.setdefault(notice.person, notice.at)
    ack = facts.acknowledged_at
    responders = [
        Responder(
            person=person,
            first_paged_at=at,
            seconds_to_first_page=(at - facts.opened_at).total_seconds(),
            acknowledged=facts.acknowledged_by == person,
            seconds_to_acknowledge=(ack - at).total_seconds() if ack and facts.acknowledged_by == person else None,
        )
        for person, at in first.items()
    ]
    return DrillReport(
        reference=facts.reference,
        title=facts.title,
        started_at=facts.opened_at,
        ended_at=facts.closed_at,
        priority=facts.priority,
        team=facts.team,
        acknowledged_by=facts.acknowledged_by,
        seconds_to_acknowledge=(ack - facts.opened_at).total_seconds() if ack else None,
        escalations_by_timeout=facts.escalated_by_timeout,
        reached_incident_manager=facts.reached_incident_manager,
        responders=responders,
    )
