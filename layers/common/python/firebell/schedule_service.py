"""On-call questions answered from the directory: who is on call, and the iCalendar feed of shifts."""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .domain.directory import FirebellConfig
from .domain.errors import FieldProblem, InvalidRequest, PersonNotFound, UnknownSchedule
from .domain.schedules import Schedule, Shift, on_call, shifts, to_icalendar, vacancy
from .ports import Clock

# How far beyond the asked window shifts are read so that those crossing its edges come out whole (a shift longer
# than this is still cut here: rotations are daily or weekly, and an override rarely lasts a month).
WHOLE_SHIFT_MARGIN = timedelta(days=35)


def _bad_at(problem: str) -> InvalidRequest:
    """The `at` query parameter refused as any bad query value is (422 validation_failed naming query.at, the
    message as functions/api/app.py words pydantic's refusals)."""
    return InvalidRequest("invalid request: query.at", [FieldProblem("query.at", problem)])


class ScheduleService:
    def __init__(self, config: Callable[[], FirebellConfig], clock: Clock) -> None:
        self._config = config
        self._clock = clock

    def _schedule(self, schedule_id: str) -> Schedule:
        schedule = self._config().directory.schedule(schedule_id)
        if schedule is None:
            raise UnknownSchedule(schedule_id)
        return schedule

    def on_call(self, schedule_id: str, at: datetime | None) -> dict[str, Any]:
        schedule = self._schedule(schedule_id)
        when = at or self._clock()
        if when.tzinfo is None:
            raise _bad_at("give a UTC offset, e.g. 2026-11-22T09:00:00Z")
        return {"schedule": schedule.id, "at": when.isoformat(), **self._who(schedule, when)}

    def on_call_everywhere(self, at: datetime | None) -> dict[str, Any]:
        """Who is on call on every schedule at one instant (a schedule nobody covers then says so)."""
        when = at or self._clock()
        if when.tzinfo is None:
            raise _bad_at("give a UTC offset, e.g. 2026-11-22T09:00:00Z")
        directory = self._config().directory
        answers = []
        for schedule in directory.schedules:
            answers.append({"schedule": schedule.id, "name": schedule.name, **self._who(schedule, when)})
        return {"at": when.isoformat(), "schedules": answers}

    def _who(self, schedule: Schedule, when: datetime) -> dict[str, Any]:
        """`person` (null when nobody is on call: a truthful answer, not an error) and, then, `vacancy`: why not."""
        try:
            person_id = on_call(schedule, when)
        except OverflowError:  # (days around a time at the very ends of datetime's range, e.g. 9999-12-31)
            raise _bad_at(f"{when.isoformat()} is too far off to answer for") from None
        if person_id is None:
            return {"person": None, "vacancy": str(vacancy(schedule, when))}
        person = self._config().directory.person(person_id)
        return {"person": {"id": person_id, "name": person.name if person else None}}

    def calendar(self, schedule_id: str, person: str | None, days: int) -> str:
        schedule = self._schedule(schedule_id)
        return to_icalendar(schedule, self._upcoming(schedule, days), person)

    def upcoming_shifts(self, person: str, days: int) -> list[dict[str, Any]]:
        """A person's shifts on every schedule from today on, in time order (what `firebell oncall mine` shows)."""
        if self._config().directory.person(person) is None:
            raise PersonNotFound(person)  # (an empty list would read as "no shifts", hiding a mistyped id)
        found = []
        for schedule in self._config().directory.schedules:
            found += [
                {"schedule": schedule.id, "start": s.start.isoformat(), "end": s.end.isoformat(), "source": s.source}
                for s in self._upcoming(schedule, days)
                if s.person == person and s.end > self._clock()
            ]
        return sorted(found, key=lambda shift: datetime.fromisoformat(shift["start"]))

    def upcoming_by_schedule(self, days: int) -> list[tuple[Schedule, list[Shift]]]:
        """Every schedule with its shifts from today on (a person's feed picks theirs)."""
        return [(schedule, self._upcoming(schedule, days)) for schedule in self._config().directory.schedules]

    def _upcoming(self, schedule: Schedule, days: int) -> list[Shift]:
        """The shifts that overlap the next `days` from local midnight, each whole: a shift that began yesterday
        keeps its start (and its calendar UID) from one day's fetch to the next, and the last one its end."""
        zone = ZoneInfo(schedule.time_zone)
        start = self._clock().astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + timedelta(days=days)
        found = shifts(schedule, start - WHOLE_SHIFT_MARGIN, end + WHOLE_SHIFT_MARGIN)
        return [shift for shift in found if shift.end > start and shift.start < end]
