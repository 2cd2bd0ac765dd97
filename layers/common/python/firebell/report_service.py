"""Reports for a period (domain/reports.py): closed incidents' facts from the store (one query per month), those
not closed yet worked out live from their timelines (few: the open states' index). Similar incidents
(domain/similarity.py) are ranked among the last SIMILAR_WINDOW's closed ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

from .domain.directory import FirebellConfig
from .domain.enums import Status
from .domain.errors import FieldProblem, InvalidRequest
from .domain.facts import IncidentFacts, facts_of
from .domain.models import Incident
from .domain.reports import Report, ReportFilter, build_report, incidents_csv
from .domain.similarity import Similar, rank
from .ports import Clock, IncidentFilter, IncidentStore

SIMILAR_WINDOW = timedelta(days=180)  # how far back similar incidents are looked for (six month partitions)
MAX_PERIOD = timedelta(days=400)  # a year's report, with room for a fiscal year's edges
# Incidents happen in these years (and times at the ends of datetime's range cannot be moved to UTC).
EARLIEST, LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC)
_NOT_CLOSED = (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.ON_HOLD, Status.RESOLVED)


class ReportService:
    def __init__(self, store: IncidentStore, config: Callable[[], FirebellConfig], clock: Clock) -> None:
        self._store = store
        self._config = config
        self._clock = clock

    def report(self, period: ReportFilter) -> Report:
        return build_report(self.facts(period), period, self._config().directory, self._clock())

    def csv(self, period: ReportFilter) -> str:
        return incidents_csv(self.facts(period), period)

    def similar(self, incident: Incident, limit: int = 5) -> list[Similar]:
        """Resolved and closed incidents most like this one, with how each was resolved (the incident page, the API).
        Resolved ones not closed yet (in their confirmation window: the freshest lesson) come from their index."""
        since, until = incident.opened_at - SIMILAR_WINDOW, self._clock()
        candidates = self._store.facts_between(since, until)  # (the same span whether they are closed yet or not)
        candidates += [facts_of(i, []) for i in self._all(Status.RESOLVED) if since <= i.opened_at < until]
        return rank(
            f"{incident.title} {incident.description}",
            incident.alert,
            incident.service,
            candidates,
            limit,
            exclude=incident.incident_id,
        )

    def facts(self, period: ReportFilter) -> list[IncidentFacts]:
        _check(period)
        closed = self._store.facts_between(period.start, period.end)
        known = {f.incident_id for f in closed}
        live = []
        for status in _NOT_CLOSED:
            for incident in self._all(status):
                if period.start <= incident.opened_at < period.end and incident.incident_id not in known:
                    live.append(facts_of(incident, self._store.timeline(incident.incident_id)))
                    known.add(incident.incident_id)
        return closed + live

    def backfill(self) -> list[str]:
        """Facts for the closed incidents that have none (closed before the reports kept them, or restored without
        them), worked out from each one and its timeline as its closing change would have, and stored where none is
        yet. Returns their references. Each month's stored facts are read once, so incidents that have theirs cost
        no timeline read; running it again adds nothing."""
        added: list[str] = []
        known: set[str] = set()
        months: set[tuple[int, int]] = set()
        for incident in self._all(Status.CLOSED):
            month = (incident.opened_at.astimezone(UTC).year, incident.opened_at.astimezone(UTC).month)
            if month not in months:
                months.add(month)
                start = datetime(*month, 1, tzinfo=UTC)
                end = datetime(month[0] + month[1] // 12, month[1] % 12 + 1, 1, tzinfo=UTC)
                known.update(f.incident_id for f in self._store.facts_between(start, end))
            if incident.incident_id in known:
                continue
            if self._store.add_facts(facts_of(incident, self._store.timeline(incident.incident_id))):
                added.append(incident.reference)
        return added

    def _all(self, status: Status) -> Iterator[Incident]:
        cursor = None
        while True:
            page = self._store.list(IncidentFilter(status=status), 100, cursor)
            yield from page.items
            cursor = page.cursor
            if cursor is None:
                return


def _check(period: ReportFilter) -> None:
    problems = []
    outside = [
        name
        for name, at in (("query.from", period.start), ("query.to", period.end))
        if at.tzinfo is not None and not EARLIEST <= at <= LATEST
    ]
    if period.start.tzinfo is None or period.end.tzinfo is None:
        problems.append(
            FieldProblem(
                "query.from" if period.start.tzinfo is None else "query.to",
                "give a UTC offset, e.g. 2026-01-01T00:00:00Z",
            )
        )
    elif outside:
        problems.append(FieldProblem(outside[0], f"must be between {EARLIEST:%Y} and {LATEST:%Y}"))
    elif period.end <= period.start:
        problems.append(FieldProblem("query.to", "must be after `from`"))
    elif period.end - period.start > MAX_PERIOD:
        problems.append(
            FieldProblem(
                "query.to",
                f"a report covers at most {MAX_PERIOD.days} days: `to` is "
                f"{(period.end - period.start).days} days after `from`",
            )
        )
    if problems:
        raise InvalidRequest(problems=problems)
