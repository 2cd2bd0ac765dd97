"""Properties of on-call schedules over random schedules in every IANA zone, their layers restricted to random daily
and weekly windows or not: on_call agrees with shifts, and shifts tile their window without gaps or overlaps wherever
someone is on call."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from firebell.domain.restrictions import DailyRestriction, Weekday, WeeklyRestriction
from firebell.domain.schedules import Layer, Override, Rotation, Schedule, Shift, on_call, shifts

ZONES = sorted(available_timezones())
# zones with the changes people get wrong: ordinary DST both hemispheres, half-hour zones and DST,
# a 30-minute DST shift, a skipped day (Apia, 2011-12-30) and no DST at all
INTERESTING_ZONES = [
    "Europe/London", "America/New_York", "Australia/Sydney", "Asia/Kolkata", "Australia/Adelaide",
    "Australia/Lord_Howe", "Pacific/Apia", "America/St_Johns", "UTC", "Asia/Tokyo",
]  # fmt: skip

people = st.sampled_from(["alice", "bob", "carol", "dave", "erin", "frank"])


@st.composite
def rotations(draw: st.DrawFn) -> Rotation:
    kind = draw(st.sampled_from(["daily", "weekly", "custom"]))
    return Rotation(
        type=kind,
        start=draw(st.dates(min_value=date(1995, 1, 1), max_value=date(2035, 12, 31))),
        handoff=time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45]))),
        length_hours=draw(st.integers(1, 24 * 10)) if kind == "custom" else None,
    )


# wall times on the hour and half hour meet the DST changes (mostly at 00:00–03:00) often; seconds now and then
wall_times = st.one_of(
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 30])),
    st.builds(time, st.integers(0, 23), st.integers(0, 59), st.integers(0, 59)),
)


@st.composite
def restrictions(draw: st.DrawFn) -> list[DailyRestriction | WeeklyRestriction]:
    found: list[DailyRestriction | WeeklyRestriction] = []
    for _ in range(draw(st.integers(0, 3))):
        if draw(st.booleans()):
            found.append(DailyRestriction(type="daily", start=draw(wall_times), end=draw(wall_times)))
        else:
            found.append(
                WeeklyRestriction(
                    type="weekly",
                    start_day=draw(st.sampled_from(list(Weekday))),
                    start=draw(wall_times),
                    end_day=draw(st.sampled_from(list(Weekday))),
                    end=draw(wall_times),
                )
            )
    return found


@st.composite
def schedules(draw: st.DrawFn) -> Schedule:
    zone = draw(st.one_of(st.sampled_from(INTERESTING_ZONES), st.sampled_from(ZONES)))
    count = draw(st.integers(1, 3))
    layers = [
        Layer(
            name=f"layer-{n}",
            rotation=draw(rotations()),
            members=draw(st.lists(people, min_size=1, max_size=4)),
            restrictions=draw(restrictions()),
        )
        for n in range(count)
    ]
    anchor = datetime.combine(layers[0].rotation.start, time(0), UTC)
    overrides = []
    for _ in range(draw(st.integers(0, 3))):
        start = anchor + timedelta(minutes=draw(st.integers(-60 * 24 * 30, 60 * 24 * 365)))
        length = timedelta(minutes=draw(st.integers(1, 60 * 24 * 5)))
        overrides.append(Override(person=draw(people), start=start, end=start + length))
    return Schedule(id="prop", name="Property", time_zone=zone, layers=layers, overrides=overrides)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def check_tiling(schedule: Schedule, found: list[Shift], window_start: datetime, window_end: datetime) -> None:
    """Shifts lie in the window, are in order, non-empty, do not overlap, touch wherever someone is on call
    (a hole, at either end or between shifts, means nobody is), and neighbours that touch differ in person or
    source (they were merged otherwise)."""
    zone = ZoneInfo(schedule.time_zone)
    for shift in found:
        assert shift.start.tzinfo == zone and shift.end.tzinfo == zone
        assert utc(window_start) <= utc(shift.start) < utc(shift.end) <= utc(window_end)
    for before, after in itertools.pairwise(found):
        assert utc(before.end) <= utc(after.start), "overlap"
        if utc(before.end) < utc(after.start):
            assert on_call(schedule, before.end) is None  # a hole is only allowed where nobody is on call
        else:
            assert (before.person, before.source) != (after.person, after.source), "unmerged neighbours"
    # and nobody is on call in the holes at either end of the window
    first_start = utc(found[0].start) if found else utc(window_end)
    if utc(window_start) < first_start:
        assert on_call(schedule, window_start) is None
    if found and utc(found[-1].end) < utc(window_end):
        assert on_call(schedule, found[-1].end) is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    schedule=schedules(),
    offset_minutes=st.integers(-60 * 24 * 30, 60 * 24 * 365),
    offset_micros=st.integers(0, 59_999_999),
    before=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10)),
    after=st.timedeltas(min_value=timedelta(microseconds=1), max_value=timedelta(days=10)),
)
def test_on_call_matches_the_shift_containing_the_instant(schedule, offset_minutes, offset_micros, before, after):
    """Given a random schedule and an instant within a year of its start, when on_call and shifts (over a window
    around the instant) are asked, then on_call is the person of the shift containing the instant (or None
    exactly when no shift contains it), and the shifts tile the window."""
    anchor = datetime.combine(schedule.layers[0].rotation.start, time(0), UTC)
    instant = anchor + timedelta(minutes=offset_minutes, microseconds=offset_micros)
    window_start, window_end = instant - before, instant + after
    found = shifts(schedule, window_start, window_end)
    check_tiling(schedule, found, window_start, window_end)

    containing = [s for s in found if utc(s.start) <= instant < utc(s.end)]
    assert len(containing) <= 1
    if containing:
        assert on_call(schedule, instant) == containing[0].person
        assert on_call(schedule, instant.astimezone(ZoneInfo(schedule.time_zone))) == containing[0].person
    else:
        assert on_call(schedule, instant) is None

    for shift in found:  # both ends of every shift agree with on_call too
        assert on_call(schedule, shift.start) == shift.person
        assert on_call(schedule, utc(shift.end) - timedelta(microseconds=1)) == shift.person


@settings(max_examples=100, deadline=None)
@given(schedule=schedules(), split=st.integers(1, 60 * 24 * 20 - 1))
def test_shifts_of_two_adjacent_windows_join_into_the_shifts_of_both(schedule, split):
    """Given a window cut in two, when shifts are listed for each half, then joining the halves (and merging the
    piece cut at the seam) gives exactly the shifts of the whole window."""
    window_start = datetime.combine(schedule.layers[0].rotation.start, time(0), UTC) - timedelta(days=5)
    window_end = window_start + timedelta(days=20)
    seam = window_start + timedelta(minutes=split)
    whole = shifts(schedule, window_start, window_end)
    joined = shifts(schedule, window_start, seam) + shifts(schedule, seam, window_end)
    merged: list[Shift] = []
    for shift in joined:
        last = merged[-1] if merged else None
        if last and (last.person, last.source) == (shift.person, shift.source) and utc(last.end) == utc(shift.start):
            merged[-1] = last.model_copy(update={"end": shift.end})
        else:
            merged.append(shift)
    assert [(s.person, s.source, utc(s.start), utc(s.end)) for s in merged] == [
        (s.person, s.source, utc(s.start), utc(s.end)) for s in whole
    ]


def test_a_skipped_day_swallows_its_handoffs():
    """Given an hourly rotation in Pacific/Apia, when 2011-12-30 is skipped (the zone jumped from -10 to +14), then
    the handoffs of the missing day never happen, shifts stay contiguous and on_call agrees with them."""
    rotation = Rotation(type="custom", length_hours=1, start=date(2011, 12, 29), handoff=time(0))
    schedule = Schedule(
        id="apia",
        name="Apia",
        time_zone="Pacific/Apia",
        layers=[Layer(name="hourly", rotation=rotation, members=[f"p{n:02d}" for n in range(72)])],
    )
    zone = ZoneInfo("Pacific/Apia")
    window_start, window_end = datetime(2011, 12, 29, 20, tzinfo=zone), datetime(2011, 12, 31, 4, tzinfo=zone)
    assert utc(window_end) - utc(window_start) == timedelta(hours=8)  # the 24 h of 30 December never happened
    found = shifts(schedule, window_start, window_end)
    check_tiling(schedule, found, window_start, window_end)
    # 29 Dec 20:00..23:00 are members 20..23; 31 Dec 00:00..03:00 are members 48..51 (30 Dec's 24 are skipped)
    assert [s.person for s in found] == ["p20", "p21", "p22", "p23", "p48", "p49", "p50", "p51"]
    assert all(utc(s.end) - utc(s.start) == timedelta(hours=1) for s in found)
    for shift in found:
        assert on_call(schedule, shift.start) == shift.person
