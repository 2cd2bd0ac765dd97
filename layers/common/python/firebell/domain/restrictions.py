"""Restriction windows: the hours a schedule layer (or a team's routing rule) is in force, as PagerDuty's and
Opsgenie's restrictions are. Pure: no I/O, no clock.

Two kinds, both wall-clock times in a time zone:
- daily  {start, end}: every day from start to end; end <= start crosses midnight, end == start is the whole day.
- weekly {start_day, start, end_day, end}: one span a week, start_day start → the next end_day end; the same day
  and time is the whole week.

Every window edge is a local wall time resolved like a schedule's handoffs (zoneinfo fold=0): a time in a
spring-forward gap moves forward by the gap, an ambiguous fall-back time is its first occurrence. So a window
09:00–17:00 is 09:00–17:00 local on the DST days too (8 h of wall clock; a window spanning the 01:00 change is an
hour shorter or longer in real time).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

Interval = tuple[datetime, datetime]  # [start, end) in UTC

_ONE_DAY = timedelta(days=1)
_ONE_WEEK = timedelta(days=7)
# A window is found from local dates around the asked span: a weekly one starts up to a week before an instant it
# covers, and a zone's offset moves an instant's local date by up to a day or so either way.
_LOOK_BACK = timedelta(days=9)
_LOOK_AHEAD = timedelta(days=2)


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class Weekday(StrEnum):
    MON = "mon"
    TUE = "tue"
    WED = "wed"
    THU = "thu"
    FRI = "fri"
    SAT = "sat"
    SUN = "sun"

    @property
    def number(self) -> int:
        """Monday 0 … Sunday 6, as date.weekday()."""
        return list(Weekday).index(self)


def _wall_time(value: object) -> object:
    """ "HH:MM" or "HH:MM:SS" only: YAML reads an unquoted 17:30 as the number 1050 (base 60), which pydantic would
    take for seconds after midnight, and an offset would make a wall time mean something else on DST days."""
    if isinstance(value, time):
        if value.tzinfo is not None:
            raise ValueError("a local wall-clock time in the time zone given; drop the UTC offset")
        return value
    if not isinstance(value, str):
        raise ValueError('a time of day as a quoted string, "HH:MM" or "HH:MM:SS" (YAML reads 17:30 as a number)')
    parts = value.split(":")
    if len(parts) not in (2, 3) or not all(len(p) == 2 and p.isascii() and p.isdigit() for p in parts):
        raise ValueError(f'{value[:40]!r} is not a time of day: use "HH:MM" or "HH:MM:SS", without an offset')
    hour, minute, second = (int(p) for p in [*parts, "00"][:3])
    if hour > 23 or minute > 59 or second > 59:
        raise ValueError(f"{value!r} is not a time of day (00:00 to 23:59:59)")
    return time(hour, minute, second)


WallTime = Annotated[time, BeforeValidator(_wall_time)]


class DailyRestriction(_Strict):
    type: Literal["daily"]
    start: WallTime
    end: WallTime

    def wall_spans(self, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """The window's (start, end) local wall times for the days that begin from `first` to `last`."""
        crosses_midnight = self.end <= self.start
        spans = []
        day = first
        while day <= last:
            end_day = day + _ONE_DAY if crosses_midnight else day
            spans.append((datetime.combine(day, self.start), datetime.combine(end_day, self.end)))
            day += _ONE_DAY
        return spans


class WeeklyRestriction(_Strict):
    type: Literal["weekly"]
    start_day: Weekday
    start: WallTime
    end_day: Weekday
    end: WallTime

    def wall_spans(self, first: date, last: date) -> list[tuple[datetime, datetime]]:
        """The window's (start, end) local wall times for the weeks whose span begins from `first` to `last`."""
        day = first + timedelta(days=(self.start_day.number - first.weekday()) % 7)
        spans = []
        while day <= last:
            begin = datetime.combine(day, self.start)
            end = datetime.combine(day + timedelta(days=(self.end_day.number - self.start_day.number) % 7), self.end)
            spans.append((begin, end if end > begin else end + _ONE_WEEK))
            day += _ONE_WEEK
        return spans


Restriction = Annotated[DailyRestriction | WeeklyRestriction, Field(discriminator="type")]
# More windows than any real week needs (PagerDuty's and Opsgenie's run to a handful): a bound on the work per question.
MAX_RESTRICTIONS = 100


def _resolve(wall: datetime, zone: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=zone, fold=0).astimezone(UTC)


def windows(
    restrictions: Sequence[DailyRestriction | WeeklyRestriction], zone: ZoneInfo, start: datetime, end: datetime
) -> list[Interval]:
    """The windows overlapping [start, end) (aware), in UTC, merged where they overlap or touch, in time order.

    Not clipped: a window keeps its real edges, so callers clip (and asking around one instant and around a long
    span gives the same windows)."""
    first = (start.astimezone(zone) - _LOOK_BACK).date()
    last = (end.astimezone(zone) + _LOOK_AHEAD).date()
    found: list[Interval] = []
    for restriction in restrictions:
        for wall_start, wall_end in restriction.wall_spans(first, last):
            begin, finish = _resolve(wall_start, zone), _resolve(wall_end, zone)
            if begin < finish and begin < end and finish > start:  # a span swallowed by a gap is empty
                found.append((begin, finish))
    found.sort()
    merged: list[Interval] = []
    for begin, finish in found:
        if merged and begin <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], finish))
        else:
            merged.append((begin, finish))
    return merged


def in_force(restrictions: Sequence[DailyRestriction | WeeklyRestriction], zone: ZoneInfo, at: datetime) -> bool:
    """Whether `at` (aware) falls inside one of the windows; no restrictions: always."""
    if not restrictions:
        return True
    return any(
        begin <= at < finish for begin, finish in windows(restrictions, zone, at, at + timedelta(microseconds=1))
    )


def mask(pieces: list[tuple[datetime, datetime, str]], allowed: list[Interval]) -> list[tuple[datetime, datetime, str]]:
    """The parts of time-ordered, disjoint pieces that lie inside the time-ordered, disjoint `allowed` windows."""
    out: list[tuple[datetime, datetime, str]] = []
    j = 0
    for begin, finish, who in pieces:
        while j < len(allowed) and allowed[j][1] <= begin:
            j += 1
        k = j
        while k < len(allowed) and allowed[k][0] < finish:
            lo, hi = max(begin, allowed[k][0]), min(finish, allowed[k][1])
            if lo < hi:
                out.append((lo, hi, who))
            k += 1
    return out
