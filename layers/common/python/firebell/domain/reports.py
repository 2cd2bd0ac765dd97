"""Reports over a period (pure): MTTA and MTTR, SLA compliance, escalations, noisy and recurring alerts, on-call
load per person. Computed from incident facts (domain/facts.py); drills are left out of every figure.

Definitions (each test works them out independently):
- MTTA: first acknowledgement − opening, over the incidents acknowledged; MTTR: first resolution − opening, over
  those resolved; time to first page: first page delivered − opening. Mean, p50 and p90 in seconds; a percentile
  is the nearest rank (the ⌈p·n⌉-th smallest), so every figure is one incident's own.
- SLA: a target is breached if its breach moment came or it was met after its due time (a hold moves the due time).
- On-call load, in the person's own time zone (PagerDuty's operational-review bands): business 08–18 Monday to
  Friday, sleep 22–08 every day, off hours the rest. Interruptions are SMS (email is not one); pages are the
  notifications that page (levels, incident manager, breaches).
- Recurring: an alert or a service with at least `recurring_threshold` incidents within 30 days: a problem candidate.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, field_validator

from .directory import Directory
from .facts import IncidentFacts, Notice
from .on_call_time import hours_on_call, person_zone

Band = Literal["business", "off_hours", "sleep"]
RECURRING_WINDOW = timedelta(days=30)


class ReportFilter(BaseModel):
    start: datetime
    end: datetime
    team: str | None = None
    service: str | None = None
    priority: str | None = None
    source: str | None = None
    bucket: Literal["week", "month"] = "week"
    recurring_threshold: int = 3

    @field_validator("team", "service", "priority", "source", mode="before")
    @classmethod
    def _blank_is_no_filter(cls, value: object) -> object:  # (`?team=` is no filter, as a form sends it)
        return None if isinstance(value, str) and not value.strip() else value

    @property
    def filtered(self) -> bool:
        return any((self.team, self.service, self.priority, self.source))

    def matches(self, facts: IncidentFacts, drills: bool = False) -> bool:
        """In the period and the filter; drills never, unless `drills` (to count those left out)."""
        return (
            self.start <= facts.opened_at < self.end
            and facts.drill is drills
            and all(
                wanted is None or wanted == have
                for wanted, have in (
                    (self.team, facts.team),
                    (self.service, facts.service),
                    (self.priority, facts.priority),
                    (self.source, facts.source),
                )
            )
        )


class Stats(BaseModel):
    count: int
    mean_seconds: float | None
    p50_seconds: float | None
    p90_seconds: float | None


class Breakdown(BaseModel):
    key: str
    incidents: int
    mtta: Stats
    mttr: Stats
    aws_usd: float | None  # the incidents' own AWS cost, estimated (domain/cost.py); None when none has an estimate


class Cost(BaseModel):
    """The incidents' own AWS cost, estimated from what each did (domain/cost.py): not the account's bill, which
    also has the fixed costs (schedules, idle pollers, logs) that no incident causes."""

    aws_usd: float | None
    messaging_usd: float | None
    aws_usd_per_incident: float | None
    estimated_incidents: int  # how many of them have an estimate (facts stored before it have none)


class SlaRow(BaseModel):
    priority: str
    incidents: int
    response_met: int
    response_breached: int
    resolution_met: int
    resolution_breached: int


class Breach(BaseModel):
    reference: str
    priority: str | None
    target: Literal["response", "resolution"]
    due_at: datetime | None


class Escalations(BaseModel):
    by_timeout: int
    by_hand: int
    reassignments: int
    reached_incident_manager: int


class AlertRow(BaseModel):
    alert: str
    incidents: int
    occurrences: int
    flaps: int


class Recurring(BaseModel):
    kind: Literal["alert", "service"]
    key: str
    incidents: int  # the most within any 30 days of the period
    references: list[str]


class PersonLoad(BaseModel):
    person: str
    time_zone: str
    pages: int  # one per page (its email and SMS together)
    interruptions: dict[Band, int]  # SMS received (a digest of several held pages is one)
    acknowledgements: int
    hours_on_call: float | None  # None when the report is filtered (shifts belong to no team or service)


class Report(BaseModel):
    filter: ReportFilter
    incidents: int
    drills_excluded: int
    mtta: Stats
    mttr: Stats
    time_to_first_page: Stats
    auto_resolved_share: float | None
    by_priority: list[Breakdown]
    by_team: list[Breakdown]
    by_service: list[Breakdown]
    by_period: list[Breakdown]
    sla: list[SlaRow]
    breaches: list[Breach]
    escalations: Escalations
    top_alerts_by_incidents: list[AlertRow]
    top_alerts_by_occurrences: list[AlertRow]
    flapping_alerts: list[AlertRow]
    problem_candidates: list[Recurring]
    on_call: list[PersonLoad]
    cost: Cost


def nearest_rank(values: list[float], p: float) -> float | None:
    ordered = sorted(values)
    return ordered[max(1, math.ceil(p * len(ordered))) - 1] if ordered else None


def stats(values: Iterable[float]) -> Stats:
    found = list(values)
    return Stats(
        count=len(found),
        mean_seconds=round(sum(found) / len(found), 3) if found else None,
        p50_seconds=nearest_rank(found, 0.5),
        p90_seconds=nearest_rank(found, 0.9),
    )


def _seconds(later: datetime | None, earlier: datetime) -> float | None:
    return (later - earlier).total_seconds() if later else None


def _since_opening(items: list[IncidentFacts], moment: str) -> Stats:
    """Stats of `moment` (acknowledged_at, resolved_at, first_page_at) − opening, over the incidents that had it."""
    return stats(s for f in items if (s := _seconds(getattr(f, moment), f.opened_at)) is not None)


def _mtta(items: list[IncidentFacts]) -> Stats:
    return _since_opening(items, "acknowledged_at")


def _mttr(items: list[IncidentFacts]) -> Stats:
    return _since_opening(items, "resolved_at")


def band(at: datetime, zone: ZoneInfo) -> Band:
    local = at.astimezone(zone)
    if local.hour >= 22 or local.hour < 8:
        return "sleep"
    return "business" if local.weekday() < 5 and local.hour < 18 else "off_hours"


def bucket_of(at: datetime, bucket: str) -> str:
    """ISO week (2026-W18) or month (2026-05) of a UTC time."""
    utc = at.astimezone(UTC)
    if bucket == "month":
        return f"{utc.year:04d}-{utc.month:02d}"
    year, week, _ = utc.isocalendar()
    return f"{year:04d}-W{week:02d}"


def _breakdown(items: list[IncidentFacts], key: Callable[[IncidentFacts], str | None]) -> list[Breakdown]:
    groups: dict[str, list[IncidentFacts]] = defaultdict(list)
    for f in items:
        groups[key(f) or "(none)"].append(f)
    return [
        Breakdown(key=k, incidents=len(g), mtta=_mtta(g), mttr=_mttr(g), aws_usd=_sum(f.aws_usd for f in g))
        for k, g in sorted(groups.items())
    ]


def _sum(amounts: Iterable[float | None]) -> float | None:
    known = [a for a in amounts if a is not None]
    return round(sum(known), 6) if known else None


def _cost(items: list[IncidentFacts]) -> Cost:
    estimated = [f for f in items if f.aws_usd is not None]
    aws = _sum(f.aws_usd for f in estimated)
    return Cost(
        aws_usd=aws,
        messaging_usd=_sum(f.messaging_usd for f in estimated),
        aws_usd_per_incident=round(aws / len(estimated), 8) if aws is not None else None,
        estimated_incidents=len(estimated),
    )


def _sla(items: list[IncidentFacts]) -> tuple[list[SlaRow], list[Breach]]:
    rows: dict[str, SlaRow] = {}
    breaches = []
    for f in items:
        if f.priority is None:
            continue
        row = rows.setdefault(
            f.priority,
            SlaRow(
                priority=f.priority,
                incidents=0,
                response_met=0,
                response_breached=0,
                resolution_met=0,
                resolution_breached=0,
            ),
        )
        row.incidents += 1
        for target in ("response", "resolution"):
            breached = getattr(f, f"{target}_breached")
            if breached is None:  # still running: counted in neither
                continue
            counted = f"{target}_{'breached' if breached else 'met'}"
            setattr(row, counted, getattr(row, counted) + 1)
            if breached:
                breaches.append(
                    Breach(
                        reference=f.reference, priority=f.priority, target=target, due_at=getattr(f, f"{target}_due_at")
                    )
                )
    return [rows[p] for p in sorted(rows)], breaches


def _alerts(items: list[IncidentFacts]) -> list[AlertRow]:
    rows: dict[str, AlertRow] = {}
    for f in items:
        if f.alert:
            row = rows.setdefault(f.alert, AlertRow(alert=f.alert, incidents=0, occurrences=0, flaps=0))
            row.incidents += 1
            row.occurrences += f.occurrences
            row.flaps += f.flaps
    return list(rows.values())


def _recurring(items: list[IncidentFacts], threshold: int) -> list[Recurring]:
    found = []
    in_order = sorted(items, key=lambda f: f.opened_at)
    keys: tuple[tuple[str, Callable[[IncidentFacts], str | None]], ...] = (
        ("alert", lambda f: f.alert),
        ("service", lambda f: f.service),
    )
    for kind, key in keys:
        groups: dict[str, list[IncidentFacts]] = defaultdict(list)
        for f in in_order:
            if value := key(f):
                groups[value].append(f)
        for name, group in sorted(groups.items()):
            # The most incidents in a 30-day window starting at one of them (two pointers: linear in the group).
            best, end = (0, 0), 0
            for start, first in enumerate(group):
                end = max(end, start)
                while end < len(group) and group[end].opened_at - first.opened_at < RECURRING_WINDOW:
                    end += 1
                if end - start > best[1] - best[0]:
                    best = (start, end)
            if best[1] - best[0] >= threshold:
                window = group[best[0] : best[1]]
                found.append(
                    Recurring(kind=kind, key=name, incidents=len(window), references=[f.reference for f in window])
                )
    return found


def _on_call(items: list[IncidentFacts], directory: Directory, period: ReportFilter, now: datetime) -> list[PersonLoad]:
    filtered = period.filtered
    hours = {} if filtered else hours_on_call(directory, period.start, min(period.end, max(now, period.start)))
    notices: dict[str, list[Notice]] = defaultdict(list)
    acknowledged: Counter[str] = Counter()
    for f in items:  # one pass: grouped by person
        for n in f.notices:
            notices[n.person].append(n)
        if f.acknowledged_by:
            acknowledged[f.acknowledged_by] += 1
    paged = {p for p, found in notices.items() if any(n.paging or n.channel == "sms" for n in found)}
    people = sorted(paged | {p for p in acknowledged if directory.person(p)} | {p for p, h in hours.items() if h})
    loads = []
    for person in people:
        zone = person_zone(directory, person)
        interruptions: dict[Band, int] = {"business": 0, "off_hours": 0, "sleep": 0}
        sms = {
            (n.sent_with if n.sent_with and n.sent_with.startswith("digest:") else (n.sent_with, n.at)): n
            for n in notices[person]
            if n.channel == "sms"
        }
        for n in sms.values():
            interruptions[band(n.at, zone)] += 1
        loads.append(
            PersonLoad(
                person=person,
                time_zone=zone.key,
                pages=len({n.sent_with or n.at for n in notices[person] if n.paging}),
                interruptions=interruptions,
                acknowledgements=acknowledged[person],
                hours_on_call=None if filtered else hours.get(person, 0.0),
            )
        )
    return loads


def build_report(
    facts: Iterable[IncidentFacts], period: ReportFilter, directory: Directory, now: datetime | None = None
) -> Report:
    """`now`: hours on call count up to it, not shifts still to come (default: the period's end)."""
    everything = [f for f in facts if period.start <= f.opened_at < period.end]
    items = sorted((f for f in everything if period.matches(f)), key=lambda f: f.opened_at)
    sla_rows, breaches = _sla(items)
    alerts = _alerts(items)
    resolved = [f for f in items if f.resolved_at]
    return Report(
        filter=period,
        incidents=len(items),
        drills_excluded=sum(1 for f in everything if period.matches(f, drills=True)),
        mtta=_mtta(items),
        mttr=_mttr(items),
        time_to_first_page=_since_opening(items, "first_page_at"),
        auto_resolved_share=round(sum(f.auto_resolved for f in resolved) / len(resolved), 4) if resolved else None,
        by_priority=_breakdown(items, lambda f: f.priority),
        by_team=_breakdown(items, lambda f: f.team),
        by_service=_breakdown(items, lambda f: f.service),
        by_period=_breakdown(items, lambda f: bucket_of(f.opened_at, period.bucket)),
        sla=sla_rows,
        breaches=breaches,
        escalations=Escalations(
            by_timeout=sum(f.escalated_by_timeout for f in items),
            by_hand=sum(f.escalated_by_hand for f in items),
            reassignments=sum(f.reassigned for f in items),
            reached_incident_manager=sum(1 for f in items if f.reached_incident_manager),
        ),
        top_alerts_by_incidents=sorted(alerts, key=lambda a: (-a.incidents, a.alert))[:10],
        top_alerts_by_occurrences=sorted(alerts, key=lambda a: (-a.occurrences, a.alert))[:10],
        flapping_alerts=sorted((a for a in alerts if a.flaps >= 2), key=lambda a: (-a.flaps, a.alert)),
        problem_candidates=_recurring(items, period.recurring_threshold),
        on_call=_on_call(items, directory, period, now or period.end),
        cost=_cost(items),
    )


CSV_COLUMNS = (
    "reference",
    "title",
    "opened_at",
    "source",
    "team",
    "service",
    "priority",
    "category",
    "alert",
    "first_page_at",
    "acknowledged_at",
    "acknowledged_by",
    "resolved_at",
    "resolved_by",
    "closed_at",
    "auto_resolved",
    "reopened",
    "flaps",
    "occurrences",
    "response_breached",
    "resolution_breached",
    "escalated_by_timeout",
    "escalated_by_hand",
    "reassigned",
    "reached_incident_manager",
    "seconds_to_acknowledge",
    "seconds_to_resolve",
    "aws_usd",
    "messaging_usd",
)


def incidents_csv(facts: Iterable[IncidentFacts], period: ReportFilter) -> str:
    """One row per incident of the report (drills left out), for a spreadsheet."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for f in sorted((f for f in facts if period.matches(f)), key=lambda f: f.opened_at):
        row = f.model_dump(mode="json")
        row["seconds_to_acknowledge"] = _seconds(f.acknowledged_at, f.opened_at)
        row["seconds_to_resolve"] = _seconds(f.resolved_at, f.opened_at)
        writer.writerow(["" if row[c] is None else _safe_cell(row[c]) for c in CSV_COLUMNS])
    return out.getvalue()


def _safe_cell(value: object) -> object:
    """A cell a spreadsheet will not run as a formula (titles and alert names come from outside: OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
