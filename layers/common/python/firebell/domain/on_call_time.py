"""How long each person is on call and in which time zone they live: questions the reports ask of the directory's
schedules (domain/schedules.py), apart from building the report itself. Pure: no I/O, no clock."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from .directory import Directory
from .schedules import shifts


def person_zone(directory: Directory, person: str) -> ZoneInfo:
    """The person's own time zone, else that of the first schedule they are on, else UTC."""
    who = directory.person(person)
    if who is not None and who.time_zone:
        return ZoneInfo(who.time_zone)
    for schedule in directory.schedules:
        if any(person in layer.members for layer in schedule.layers):
            return ZoneInfo(schedule.time_zone)
    return ZoneInfo("UTC")  # (a ZoneInfo: PersonLoad names its key)


def hours_on_call(directory: Directory, start: datetime, end: datetime) -> dict[str, float]:
    """Hours each person is on call for any schedule in [start, end) (two schedules at once count once)."""
    spans: dict[str, list[tuple[datetime, datetime]]] = defaultdict(list)
    for schedule in directory.schedules:
        for shift in shifts(schedule, start, end):
            # in UTC: Python subtracts two times of one zone as wall clocks (a DST week would come out 168 h, not 167)
            spans[shift.person].append((shift.start.astimezone(UTC), shift.end.astimezone(UTC)))
    hours = {}
    for person, pieces in spans.items():
        total, reach = timedelta(), None
        for begin, finish in sorted(pieces):
            begin = max(begin, reach) if reach else begin
            if finish > begin:
                total += finish - begin
            reach = max(reach, finish) if reach else finish
        hours[person] = round(total.total_seconds() / 3600, 2)
    return hours
