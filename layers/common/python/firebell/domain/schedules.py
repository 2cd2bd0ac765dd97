"""On-call schedules: rotations in a time zone (DST-correct), several layers, temporary overrides.

The models are the config format (config/firebell.yaml `schedules:`); the functions answer
"who is on call at T" and list shifts for the iCalendar feed. Pure: no I/O, no clock.

Handoffs are stepped in local wall-clock time: a daily rotation hands off at its `handoff` time
every local day, so the shift spanning a DST change is 23 h or 25 h long. A wall time that does
not exist (spring-forward gap) is resolved by zoneinfo with fold=0, i.e. moved forward by the gap
(02:30 in New York's gap is 03:30 EDT); an ambiguous one (fall-back) is its first occurrence.
A layer's `restrictions` (domain/restrictions.py) mask it: its member is on call only inside one of the windows, and
the rotation keeps turning outside them (as in PagerDuty and Opsgenie), so a lower layer, or nobody, shows through.
Internally everything is compared in UTC; returned shifts are in the schedule's zone (note that
subtracting two datetimes that share a ZoneInfo gives the wall-clock difference, so convert to UTC
for real durations).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from .repeats import refuse_repeats
from .restrictions import MAX_RESTRICTIONS, Restriction, in_force, mask, windows
from .time_zones import TimeZoneName

OVERRIDE_SOURCE = "override"  # Shift.source of a piece that comes from an override


class _Strict(BaseModel):
    # defer_build: a model's validator is built on its first use, so a function builds only the models it uses (cold start).
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class RotationType(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    CUSTOM = "custom"


class Rotation(_Strict):
    """Shifts of one rotation length, handing off at `handoff` local time; the first shift starts on `start`."""

    type: RotationType
    start: date
    handoff: time = time(9, 0)
    # Only for custom rotations; at most a (leap) year, so that stepping through handoffs stays within datetime's range.
    length_hours: Annotated[int | None, Field(gt=0, le=366 * 24)] = None

    @field_validator("handoff")
    @classmethod
    def _handoff_is_local(cls, value: time) -> time:
        if value.tzinfo is not None:
            raise ValueError("handoff is a local wall-clock time in the schedule's time_zone; drop the UTC offset")
        return value

    @model_validator(mode="after")
    def _length_only_for_custom(self) -> Rotation:
        if self.type is RotationType.CUSTOM and self.length_hours is None:
            raise ValueError("length_hours is required for a custom rotation")
        if self.type is not RotationType.CUSTOM and self.length_hours is not None:
            raise ValueError("length_hours is only for custom rotations")
        return self


class Layer(_Strict):
    name: Annotated[str, Field(min_length=1)]
    rotation: Rotation
    members: Annotated[list[str], Field(min_length=1)]
    # The hours the layer is in force, in the schedule's time zone; none: always.
    restrictions: Annotated[list[Restriction], Field(max_length=MAX_RESTRICTIONS)] = []


class Override(_Strict):
    person: str
    start: AwareDatetime
    end: AwareDatetime

    @model_validator(mode="after")
    def _ordered(self) -> Override:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Schedule(_Strict):
    id: Annotated[str, Field(min_length=1, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    name: str
    time_zone: TimeZoneName  # IANA name, e.g. Europe/London
    # Later layers sit on top: at any moment the highest layer with someone on call wins.
    layers: Annotated[list[Layer], Field(min_length=1)]
    overrides: list[Override] = []

    @field_validator("layers")
    @classmethod
    def _distinct_layer_names(cls, layers: list[Layer]) -> list[Layer]:
        names = [layer.name for layer in layers]
        if OVERRIDE_SOURCE in names:
            raise ValueError(f"a layer cannot be named {OVERRIDE_SOURCE!r}: that name marks override shifts")
        refuse_repeats(names, "layer names must be distinct; repeated")
        return layers


class Shift(_Strict):
    person: str
    start: datetime
    end: datetime
    source: str  # the layer's name, or "override"


_UTC_FORMAT = "%Y%m%dT%H%M%SZ"
# Python limits UTC offsets to under 24 h either way, so two offsets of one zone differ by under 48 h:
# a handoff whose local wall time is 48 h or more away from an instant's wall time is certainly on
# the same side of it. This bounds every search below.
_MAX_OFFSET_SPREAD = timedelta(hours=48)


def _zone(schedule: Schedule) -> ZoneInfo:
    return ZoneInfo(schedule.time_zone)  # validated on the model; ZoneInfo caches instances


def _require_aware(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware (got naive {value.isoformat()})")
    return value.astimezone(UTC)


class _Rotation:
    """A layer's rotation as arithmetic: handoff k is at local wall time `origin + k * step`.

    `start(k)` resolves that wall time in the zone (fold=0: a time in a spring-forward gap maps
    forward by the gap, an ambiguous fall-back time is its first occurrence) and returns UTC.
    Member k % n holds the shift from start(k) until the next handoff that happens after it.
    """

    def __init__(self, layer: Layer, zone: ZoneInfo) -> None:
        rotation = layer.rotation
        self.zone = zone
        self.members = layer.members
        self.origin = datetime.combine(rotation.start, rotation.handoff)  # naive local wall time
        self.step = timedelta(hours=_step_hours(rotation))
        # every handoff this many steps later is certainly later in real time too
        self.horizon = -(-_MAX_OFFSET_SPREAD // self.step) + 1
        self._cache: dict[int, datetime] = {}

    def start(self, k: int) -> datetime:
        cached = self._cache.get(k)
        if cached is None:
            wall = self.origin + k * self.step
            cached = self._cache[k] = wall.replace(tzinfo=self.zone, fold=0).astimezone(UTC)
        return cached

    def index_at(self, at_utc: datetime) -> int | None:
        """The latest handoff k (by number) that has happened at `at_utc`; None before the rotation starts.

        Handoff times are non-decreasing in k except right after a spring-forward gap longer than the
        step (a gap time maps forward past the next handoff); taking the largest k keeps the answer
        monotone in time, and such a swallowed shift simply has no length.
        """
        wall = at_utc.astimezone(self.zone).replace(tzinfo=None)
        k = (wall + _MAX_OFFSET_SPREAD - self.origin) // self.step  # handoffs past this are later than at
        while k >= 0:
            if self.start(k) <= at_utc:
                return k
            k -= 1  # terminates: once origin + k*step <= wall - 48 h, start(k) < at_utc
        return None

    def segments(self, window_start: datetime, window_end: datetime) -> list[tuple[datetime, datetime, str]]:
        """(start, end, person) for this layer's shifts overlapping [window_start, window_end), clipped."""
        first = self.index_at(window_start)
        first = 0 if first is None else first
        wall_end = window_end.astimezone(self.zone).replace(tzinfo=None)
        # handoffs numbered beyond `last` are certainly at or after window_end
        last = max(first, (wall_end + _MAX_OFFSET_SPREAD - self.origin) // self.step)
        starts = [self.start(k) for k in range(first, last + self.horizon + 2)]
        # a shift ends at the earliest later handoff (normally simply the next one)
        ends: list[datetime] = [starts[-1]] * len(starts)
        running = starts[-1]
        for i in range(len(starts) - 2, -1, -1):
            running = min(running, starts[i + 1])
            ends[i] = running
        out: list[tuple[datetime, datetime, str]] = []
        for i in range(last - first + 1):
            begin, end = max(starts[i], window_start), min(ends[i], window_end)
            if begin < end:
                out.append((begin, end, self.members[(first + i) % len(self.members)]))
        return out


def _step_hours(rotation: Rotation) -> int:
    if rotation.type is RotationType.DAILY:
        return 24
    if rotation.type is RotationType.WEEKLY:
        return 24 * 7
    assert rotation.length_hours is not None  # the model validator guarantees it
    return rotation.length_hours


class Vacancy(StrEnum):
    """Why nobody is on call at an instant (words that finish "nobody on call on <schedule> at <time> (…)")."""

    NOT_STARTED = "before its rotations start"
    OUTSIDE_HOURS = "outside its hours"


def on_call(schedule: Schedule, at: datetime) -> str | None:
    """The person on call at `at` (an aware datetime), or None when nobody is (`vacancy` says why).

    The last listed override covering `at` wins; otherwise the top layer that has started and whose restrictions
    cover `at`. Raises ValueError for a naive `at`.
    """
    at_utc = _require_aware(at, "at")
    for override in reversed(schedule.overrides):  # the last listed override wins
        if override.start.astimezone(UTC) <= at_utc < override.end.astimezone(UTC):
            return override.person
    zone = _zone(schedule)
    for layer in reversed(schedule.layers):  # the top layer that has someone wins
        k = _Rotation(layer, zone).index_at(at_utc)
        if k is not None and in_force(layer.restrictions, zone, at_utc):
            return layer.members[k % len(layer.members)]
    return None


def vacancy(schedule: Schedule, at: datetime) -> Vacancy | None:
    """Why nobody is on call at `at`; None if someone is."""
    if on_call(schedule, at) is not None:
        return None
    zone, at_utc = _zone(schedule), _require_aware(at, "at")
    started = any(_Rotation(layer, zone).index_at(at_utc) is not None for layer in schedule.layers)
    return Vacancy.OUTSIDE_HOURS if started else Vacancy.NOT_STARTED


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The final schedule between start and end (overrides and layers applied), in time order.

    Pieces are clipped to [start, end), adjacent pieces with the same person and source are merged,
    and stretches where nobody is on call (before every layer starts, or outside every layer's restrictions)
    are left out, so the result is contiguous wherever someone is on call. Times are aware, in the schedule's time zone.
    """
    window_start, window_end = _require_aware(start, "start"), _require_aware(end, "end")
    if window_end < window_start:
        raise ValueError(f"end ({end.isoformat()}) is before start ({start.isoformat()})")
    if window_end == window_start:
        return []
    zone = _zone(schedule)
    # sources from the lowest priority to the highest, each a time-ordered list of disjoint pieces
    sources: list[tuple[str, list[tuple[datetime, datetime, str]]]] = []
    for layer in schedule.layers:
        pieces = _Rotation(layer, zone).segments(window_start, window_end)
        if layer.restrictions:
            pieces = mask(pieces, windows(layer.restrictions, zone, window_start, window_end))
        sources.append((layer.name, pieces))
    for override in schedule.overrides:
        begin = max(override.start.astimezone(UTC), window_start)
        finish = min(override.end.astimezone(UTC), window_end)
        sources.append((OVERRIDE_SOURCE, [(begin, finish, override.person)] if begin < finish else []))

    cuts = sorted({t for _, pieces in sources for piece in pieces for t in piece[:2]})
    cursors = [0] * len(sources)
    result: list[Shift] = []
    for begin, finish in itertools.pairwise(cuts):
        winner: tuple[str, str] | None = None
        for i, (name, pieces) in enumerate(sources):
            while cursors[i] < len(pieces) and pieces[cursors[i]][1] <= begin:
                cursors[i] += 1
            if cursors[i] < len(pieces) and pieces[cursors[i]][0] <= begin:
                winner = (pieces[cursors[i]][2], name)  # later sources sit on top
        if winner is None:
            continue  # nobody on call here (before every layer's start, or outside their hours)
        person, source = winner
        last = result[-1] if result else None
        if last is not None and last.person == person and last.source == source and last.end == begin:
            result[-1] = last.model_copy(update={"end": finish})
        else:
            result.append(Shift(person=person, start=begin, end=finish, source=source))
    return [s.model_copy(update={"start": s.start.astimezone(zone), "end": s.end.astimezone(zone)}) for s in result]


def to_icalendar(schedule: Schedule, shifts_: list[Shift], person: str | None = None) -> str:
    """An RFC 5545 VCALENDAR of the shifts (of one person if given)."""
    calendar_name = schedule.name if person is None else f"{schedule.name} ({person})"
    return _vcalendar(calendar_name, [(schedule, s) for s in shifts_ if person is None or s.person == person])


def person_icalendar(person: str, name: str, upcoming: list[tuple[Schedule, list[Shift]]]) -> str:
    """One person's shifts on every schedule, as one VCALENDAR (their secret feed, calendar_feeds.py)."""
    mine = [(schedule, s) for schedule, shifts_ in upcoming for s in shifts_ if s.person == person]
    return _vcalendar(f"On call: {name}", sorted(mine, key=lambda pair: pair[1].start))


def _vcalendar(calendar_name: str, events: list[tuple[Schedule, Shift]]) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//firebell//on-call//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_ical_text(calendar_name)}",
    ]
    for schedule, shift in events:
        begin = _require_aware(shift.start, "shift start").strftime(_UTC_FORMAT)
        finish = _require_aware(shift.end, "shift end").strftime(_UTC_FORMAT)
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_ical_text(f'{schedule.id}-{shift.person}-{begin}@firebell')}",
            f"DTSTAMP:{begin}",  # deterministic: the feed is a pure function of the schedule
            f"DTSTART:{begin}",
            f"DTEND:{finish}",
            f"SUMMARY:{_ical_text(f'On call: {schedule.name} ({shift.person})')}",
            f"DESCRIPTION:{_ical_text(f'Source: {shift.source}')}",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _ical_text(value: str) -> str:
    """Escape a TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and newlines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def _fold(line: str, limit: int = 75) -> str:
    """Fold a content line to at most `limit` octets per physical line (RFC 5545 §3.1), never splitting a character."""
    pieces: list[str] = []
    current: list[str] = []
    size = 0
    budget = limit
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > budget:
            pieces.append("".join(current))
            current = []
            size = 0
            budget = limit - 1  # continuation lines start with one space
        current.append(char)
        size += width
    pieces.append("".join(current))
    return "\r\n ".join(pieces)
