"""On-call schedules: rotations stepped in local wall time (DST-correct), layers, overrides, shifts and iCalendar."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from firebell.domain.schedules import (
    Layer,
    Override,
    Rotation,
    RotationType,
    Schedule,
    Shift,
    Vacancy,
    on_call,
    shifts,
    to_icalendar,
    vacancy,
)

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def at(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def hours(shift: Shift) -> float:
    """The real length of a shift (subtracting in UTC: same-zone subtraction gives the wall-clock difference)."""
    return (shift.end.astimezone(UTC) - shift.start.astimezone(UTC)) / timedelta(hours=1)


def layer(
    name: str = "primary",
    members: tuple[str, ...] = ("alice", "bob", "carol"),
    type: str = "daily",
    start: date = date(2026, 1, 5),
    handoff: time = time(9, 0),
    length_hours: int | None = None,
) -> Layer:
    return Layer(
        name=name,
        members=list(members),
        rotation=Rotation(type=type, start=start, handoff=handoff, length_hours=length_hours),
    )


def schedule(*layers: Layer, time_zone: str = "Europe/London", overrides: tuple[Override, ...] = ()) -> Schedule:
    return Schedule(
        id="platform",
        name="Platform primary",
        time_zone=time_zone,
        layers=list(layers) or [layer()],
        overrides=list(overrides),
    )


def assert_contiguous(found: list[Shift]) -> None:
    for before, after in itertools.pairwise(found):
        assert before.end == after.start, f"gap or overlap between {before} and {after}"
        assert not (before.person == after.person and before.source == after.source), "unmerged neighbours"
    for shift in found:
        assert shift.start.astimezone(UTC) < shift.end.astimezone(UTC)


# --- rotations -----------------------------------------------------------------------------------


def test_weekly_rotation_takes_turns_in_list_order_and_wraps():
    """Given a weekly rotation from Monday 2026-01-05 09:00, when asked week by week, then members take turns."""
    sched = schedule(layer(type="weekly"))
    assert on_call(sched, at(LONDON, 2026, 1, 5, 9)) == "alice"
    assert on_call(sched, at(LONDON, 2026, 1, 9, 23, 30)) == "alice"
    assert on_call(sched, at(LONDON, 2026, 1, 12, 8, 59, 59)) == "alice"
    assert on_call(sched, at(LONDON, 2026, 1, 12, 9)) == "bob"
    assert on_call(sched, at(LONDON, 2026, 1, 19, 9)) == "carol"
    assert on_call(sched, at(LONDON, 2026, 1, 26, 9)) == "alice"  # wrapped round
    # 52 weeks later: 52 % 3 == 1 → bob's turn
    assert on_call(sched, at(LONDON, 2027, 1, 4, 12)) == "bob"


def test_daily_handoff_is_exact_at_the_boundary():
    """Given a daily rotation handing off at 09:00, then 08:59:59 is the old person and 09:00:00 the new."""
    sched = schedule(layer(type="daily"))
    assert on_call(sched, at(LONDON, 2026, 1, 6, 8, 59, 59)) == "alice"
    assert on_call(sched, at(LONDON, 2026, 1, 6, 8, 59, 59, 999999)) == "alice"
    assert on_call(sched, at(LONDON, 2026, 1, 6, 9, 0, 0)) == "bob"
    assert on_call(sched, at(LONDON, 2026, 1, 7, 9)) == "carol"


def test_any_aware_datetime_is_accepted_whatever_its_zone():
    """Given the London 09:00 handoff, when asked in UTC and in New York time for the same instants, then same answer."""
    sched = schedule(layer(type="daily", start=date(2026, 7, 1)))
    # 2026-07-02 09:00 BST == 08:00 UTC == 04:00 EDT
    assert on_call(sched, utc(2026, 7, 2, 7, 59, 59)) == "alice"
    assert on_call(sched, utc(2026, 7, 2, 8, 0)) == "bob"
    assert on_call(sched, at(NEW_YORK, 2026, 7, 2, 4, 0)) == "bob"


def test_custom_twelve_hour_rotation():
    """Given a 12 h custom rotation from 08:00 Berlin, then handoffs are at 08:00 and 20:00 local, alternating."""
    sched = schedule(
        layer(type="custom", length_hours=12, handoff=time(8), members=("day", "night")), time_zone="Europe/Berlin"
    )
    assert on_call(sched, at(BERLIN, 2026, 1, 5, 8)) == "day"
    assert on_call(sched, at(BERLIN, 2026, 1, 5, 19, 59, 59)) == "day"
    assert on_call(sched, at(BERLIN, 2026, 1, 5, 20)) == "night"
    assert on_call(sched, at(BERLIN, 2026, 1, 6, 7, 59)) == "night"
    assert on_call(sched, at(BERLIN, 2026, 1, 6, 8)) == "day"

    found = shifts(sched, at(BERLIN, 2026, 1, 5, 8), at(BERLIN, 2026, 1, 7, 8))
    assert [(s.person, s.start.hour, hours(s)) for s in found] == [
        ("day", 8, 12), ("night", 20, 12), ("day", 8, 12), ("night", 20, 12),
    ]  # fmt: skip


def test_custom_rotation_steps_in_local_wall_time_across_dst():
    """Given a 12 h rotation over Berlin's spring-forward (2026-03-29), then handoffs stay at 08:00/20:00 local
    and the night shift over the change is 11 h."""
    sched = schedule(
        layer(type="custom", length_hours=12, handoff=time(8), start=date(2026, 3, 1), members=("day", "night")),
        time_zone="Europe/Berlin",
    )
    found = shifts(sched, at(BERLIN, 2026, 3, 28, 8), at(BERLIN, 2026, 3, 30, 8))
    assert [(s.start.hour, s.end.hour) for s in found] == [(8, 20), (20, 8), (8, 20), (20, 8)]
    assert [hours(s) for s in found] == [12, 11, 12, 12]


def test_custom_rotation_not_a_multiple_of_a_day():
    """Given a 36 h rotation, then handoffs alternate between 09:00 and 21:00 local."""
    sched = schedule(layer(type="custom", length_hours=36, start=date(2026, 1, 5)))
    found = shifts(sched, at(LONDON, 2026, 1, 5, 9), at(LONDON, 2026, 1, 11, 9))
    assert [(s.person, s.start.day, s.start.hour) for s in found] == [
        ("alice", 5, 9), ("bob", 6, 21), ("carol", 8, 9), ("alice", 9, 21),
    ]  # fmt: skip


# --- daylight saving time ------------------------------------------------------------------------


def test_daily_rotation_across_london_spring_forward_hands_off_at_nine_local():
    """Given a daily London rotation, when the clocks go forward on 2027-03-28, then every handoff is 09:00 local
    and the shift spanning the change is 23 h long."""
    sched = schedule(layer(start=date(2027, 3, 20)))
    found = shifts(sched, at(LONDON, 2027, 3, 26, 9), at(LONDON, 2027, 3, 30, 9))
    assert [s.start.timetz().replace(tzinfo=None) for s in found] == [time(9)] * 4
    assert [s.start.date() for s in found] == [date(2027, 3, d) for d in (26, 27, 28, 29)]
    assert [hours(s) for s in found] == [24, 23, 24, 24]
    # 09:00 GMT before the change (09:00 UTC), 09:00 BST after it (08:00 UTC)
    assert found[1].start.astimezone(UTC) == utc(2027, 3, 27, 9)
    assert found[2].start.astimezone(UTC) == utc(2027, 3, 28, 8)
    assert on_call(sched, utc(2027, 3, 28, 7, 59, 59)) == found[1].person
    assert on_call(sched, utc(2027, 3, 28, 8)) == found[2].person


def test_daily_rotation_across_london_fall_back_hands_off_at_nine_local():
    """Given a daily London rotation, when the clocks go back on 2026-10-25, then the shift over the change is 25 h."""
    sched = schedule(layer(start=date(2026, 10, 1)))
    found = shifts(sched, at(LONDON, 2026, 10, 23, 9), at(LONDON, 2026, 10, 27, 9))
    assert [s.start.hour for s in found] == [9, 9, 9, 9]
    assert [hours(s) for s in found] == [24, 25, 24, 24]
    assert found[2].start.astimezone(UTC) == utc(2026, 10, 25, 9)  # 09:00 GMT
    assert on_call(sched, utc(2026, 10, 25, 8, 59, 59)) == found[1].person
    assert on_call(sched, utc(2026, 10, 25, 9)) == found[2].person


@pytest.mark.parametrize(
    ("change", "expected_hours"),
    [(date(2026, 3, 8), 23), (date(2026, 11, 1), 25)],
    ids=["spring-forward", "fall-back"],
)
def test_daily_rotation_across_new_york_dst(change, expected_hours):
    """Given a daily New York rotation, when DST starts or ends, then handoffs stay at 09:00 local and the
    shift over the change is 23 h / 25 h."""
    sched = schedule(layer(start=date(2026, 1, 1)), time_zone="America/New_York")
    day_before = datetime.combine(change - timedelta(days=1), time(9), NEW_YORK)
    found = shifts(sched, day_before, day_before + timedelta(days=3))  # wall-clock days
    assert [s.start.hour for s in found] == [9, 9, 9]
    assert [hours(s) for s in found] == [expected_hours, 24, 24]
    assert found[1].start.date() == change


def test_handoff_inside_the_spring_forward_gap_moves_forward():
    """Given a 02:30 handoff in New York, when 02:30 does not exist (2026-03-08), then the handoff is at 03:30 EDT."""
    sched = schedule(layer(start=date(2026, 3, 1), handoff=time(2, 30)), time_zone="America/New_York")
    found = shifts(sched, at(NEW_YORK, 2026, 3, 7, 2, 30), at(NEW_YORK, 2026, 3, 10, 2, 30))
    assert [s.start.astimezone(UTC) for s in found] == [
        utc(2026, 3, 7, 7, 30),  # 02:30 EST
        utc(2026, 3, 8, 7, 30),  # "02:30 EST" == 03:30 EDT, after the gap
        utc(2026, 3, 9, 6, 30),  # 02:30 EDT
    ]
    assert (found[1].start.hour, found[1].start.minute) == (3, 30)
    assert [hours(s) for s in found] == [24, 23, 24]


def test_ambiguous_handoff_uses_the_first_occurrence():
    """Given a 01:30 handoff in New York, when 01:30 happens twice (2026-11-01), then the first (EDT) one is used."""
    sched = schedule(layer(start=date(2026, 10, 1), handoff=time(1, 30)), time_zone="America/New_York")
    first, second = at(NEW_YORK, 2026, 11, 1, 1, 30, fold=0), at(NEW_YORK, 2026, 11, 1, 1, 30, fold=1)
    assert first.astimezone(UTC) == utc(2026, 11, 1, 5, 30)
    previous = on_call(sched, first.astimezone(UTC) - timedelta(seconds=1))
    assert on_call(sched, first) != previous
    assert on_call(sched, second) == on_call(sched, first)  # an hour later, still the same shift
    found = shifts(sched, at(NEW_YORK, 2026, 10, 31, 1, 30), at(NEW_YORK, 2026, 11, 2, 1, 30))
    assert [hours(s) for s in found] == [24, 25]


# --- errors --------------------------------------------------------------------------------------


def test_before_the_start_nobody_is_on_call():
    """Given a rotation starting 2026-01-05 09:00, when asked one second earlier, then nobody (None) and why."""
    sched = schedule(layer())
    assert on_call(sched, at(LONDON, 2026, 1, 5, 8, 59, 59)) is None
    assert vacancy(sched, at(LONDON, 2026, 1, 5, 8, 59, 59)) is Vacancy.NOT_STARTED
    assert vacancy(sched, at(LONDON, 2026, 1, 5, 9)) is None
    assert on_call(sched, at(LONDON, 2026, 1, 5, 9)) == "alice"


def test_naive_datetimes_are_refused():
    """Given a naive datetime, when on_call or shifts is asked, then ValueError: the zone would be a guess."""
    sched = schedule()
    with pytest.raises(ValueError, match="timezone-aware"):
        on_call(sched, datetime(2026, 2, 1, 12))
    with pytest.raises(ValueError, match="timezone-aware"):
        shifts(sched, datetime(2026, 2, 1), utc(2026, 2, 2))


def test_shifts_window_edges():
    """Given an empty window, then no shifts; given a reversed window, then ValueError."""
    sched = schedule()
    assert shifts(sched, utc(2026, 2, 1), utc(2026, 2, 1)) == []
    with pytest.raises(ValueError, match="before start"):
        shifts(sched, utc(2026, 2, 2), utc(2026, 2, 1))


def test_unknown_time_zone_is_rejected_clearly():
    """Given a time zone that is not an IANA name, when the schedule is validated, then the message says so."""
    for bad in ("Europe/Londn", "", "GMT+1 ", "../etc/passwd", "America"):
        with pytest.raises(ValidationError, match="unknown time zone"):
            schedule(time_zone=bad)
    assert schedule(time_zone="UTC").time_zone == "UTC"


def test_layer_names_are_distinct_and_not_override():
    """Given layers that share a name or are called "override", then validation fails (Shift.source would be ambiguous)."""
    with pytest.raises(ValidationError, match="distinct"):
        schedule(layer(name="primary"), layer(name="primary"))
    with pytest.raises(ValidationError, match="cannot be named"):
        schedule(layer(name="override"))


def test_handoff_must_be_local_time():
    """Given a handoff with a UTC offset, then validation fails: handoffs are wall-clock times in the schedule zone."""
    with pytest.raises(ValidationError, match="local wall-clock"):
        Rotation.model_validate({"type": "daily", "start": "2026-01-05", "handoff": "09:00:00+01:00"})
    rotation = Rotation.model_validate({"type": "weekly", "start": "2026-01-05", "handoff": "08:30"})
    assert rotation.handoff == time(8, 30)


# --- layers and overrides ------------------------------------------------------------------------


def test_top_layer_wins_once_it_has_started():
    """Given a base weekly layer and a daily layer on top that starts later, then the base answers until the top
    layer starts and the top layer answers from then on."""
    base = layer(name="base", type="weekly", members=("alice", "bob"), start=date(2026, 1, 5))
    top = layer(name="cover", members=("xavier", "yasmin"), start=date(2026, 1, 10))
    sched = schedule(base, top)
    assert on_call(sched, at(LONDON, 2026, 1, 10, 8, 59)) == "alice"
    assert on_call(sched, at(LONDON, 2026, 1, 10, 9)) == "xavier"
    assert on_call(sched, at(LONDON, 2026, 1, 21, 12)) == "yasmin"  # 11 days in: index 11 → yasmin

    found = shifts(sched, at(LONDON, 2026, 1, 9), at(LONDON, 2026, 1, 12, 9))
    assert [(s.person, s.source) for s in found] == [("alice", "base"), ("xavier", "cover"), ("yasmin", "cover")]
    assert found[1].start == at(LONDON, 2026, 1, 10, 9)
    assert_contiguous(found)


def test_override_beats_every_layer_and_its_end_is_exclusive():
    """Given an override for dave from 12:00 to 18:00, then dave is on call in [12:00, 18:00) whatever the layers say."""
    override = Override(person="dave", start=at(LONDON, 2026, 1, 6, 12), end=at(LONDON, 2026, 1, 6, 18))
    sched = schedule(layer(name="base"), layer(name="top", members=("zoe",)), overrides=(override,))
    assert on_call(sched, at(LONDON, 2026, 1, 6, 11, 59, 59)) == "zoe"
    assert on_call(sched, at(LONDON, 2026, 1, 6, 12)) == "dave"
    assert on_call(sched, at(LONDON, 2026, 1, 6, 17, 59, 59)) == "dave"
    assert on_call(sched, at(LONDON, 2026, 1, 6, 18)) == "zoe"


def test_overlapping_overrides_the_last_listed_wins():
    """Given two overlapping overrides, then the later-listed one wins where they overlap, each elsewhere."""
    first = Override(person="dave", start=utc(2026, 1, 6, 10), end=utc(2026, 1, 6, 20))
    second = Override(person="erin", start=utc(2026, 1, 6, 14), end=utc(2026, 1, 6, 16))
    sched = schedule(overrides=(first, second))
    assert on_call(sched, utc(2026, 1, 6, 13)) == "dave"
    assert on_call(sched, utc(2026, 1, 6, 15)) == "erin"
    assert on_call(sched, utc(2026, 1, 6, 17)) == "dave"
    flipped = schedule(overrides=(second, first))
    assert on_call(flipped, utc(2026, 1, 6, 15)) == "dave"

    found = shifts(sched, utc(2026, 1, 6, 9), utc(2026, 1, 6, 21))
    assert [(s.person, s.source, s.start.hour, s.end.hour) for s in found] == [
        ("bob", "primary", 9, 10),
        ("dave", "override", 10, 14),
        ("erin", "override", 14, 16),
        ("dave", "override", 16, 20),
        ("bob", "primary", 20, 21),
    ]


def test_an_override_covers_even_before_any_layer_starts():
    """Given an override before the rotation starts, then its person is on call and shifts lists only that stretch."""
    override = Override(person="dave", start=utc(2026, 1, 1), end=utc(2026, 1, 2))
    sched = schedule(overrides=(override,))
    assert on_call(sched, utc(2026, 1, 1, 12)) == "dave"
    assert on_call(sched, utc(2026, 1, 3)) is None
    found = shifts(sched, utc(2025, 12, 31), utc(2026, 1, 5, 10))
    assert [(s.person, s.source) for s in found] == [("dave", "override"), ("alice", "primary")]
    assert found[1].start == at(LONDON, 2026, 1, 5, 9)  # a gap where nobody is on call is left out


def test_week_of_shifts_with_an_override_in_the_middle():
    """Given a daily rotation and a Wednesday-afternoon override, when a week of shifts is listed, then the override
    splits carol's shift, everything is contiguous, clipped to the window and in the schedule's zone."""
    override = Override(person="dave", start=at(LONDON, 2026, 1, 7, 13), end=at(LONDON, 2026, 1, 7, 17))
    sched = schedule(layer(start=date(2026, 1, 5)), overrides=(override,))
    found = shifts(sched, at(LONDON, 2026, 1, 5), at(LONDON, 2026, 1, 12))
    assert found[0].start == at(LONDON, 2026, 1, 5, 9)  # nobody before the rotation starts
    assert found[-1].end == at(LONDON, 2026, 1, 12)  # clipped to the window
    assert all(s.start.tzinfo == LONDON and s.end.tzinfo == LONDON for s in found)
    assert [(s.person, s.source, s.start.day, s.start.hour) for s in found] == [
        ("alice", "primary", 5, 9),
        ("bob", "primary", 6, 9),
        ("carol", "primary", 7, 9),
        ("dave", "override", 7, 13),
        ("carol", "primary", 7, 17),
        ("alice", "primary", 8, 9),
        ("bob", "primary", 9, 9),
        ("carol", "primary", 10, 9),
        ("alice", "primary", 11, 9),
    ]
    assert_contiguous(found)
    for shift in found:
        assert on_call(sched, shift.start) == shift.person


def test_adjacent_pieces_of_the_same_person_and_source_merge():
    """Given a one-member layer and back-to-back overrides for the same person, then each is one shift."""
    overrides = (
        Override(person="dave", start=utc(2026, 1, 6, 10), end=utc(2026, 1, 6, 12)),
        Override(person="dave", start=utc(2026, 1, 6, 12), end=utc(2026, 1, 6, 14)),
        Override(person="alice", start=utc(2026, 1, 6, 14), end=utc(2026, 1, 6, 15)),
    )
    sched = schedule(layer(members=("alice",)), overrides=overrides)
    found = shifts(sched, utc(2026, 1, 5, 9), utc(2026, 1, 9))
    assert [(s.person, s.source, hours(s)) for s in found] == [
        ("alice", "primary", 25), ("dave", "override", 4), ("alice", "override", 1), ("alice", "primary", 57),
    ]  # fmt: skip


# --- iCalendar -----------------------------------------------------------------------------------


def unfold(text: str) -> list[str]:
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", ""), "bare LF"
    assert "\r" not in text.replace("\r\n", ""), "bare CR"
    physical = text[: -len("\r\n")].split("\r\n")
    for line in physical:
        assert len(line.encode("utf-8")) <= 75, f"line over 75 octets: {line!r}"
    return text[: -len("\r\n")].replace("\r\n ", "").split("\r\n")


def events(lines: list[str]) -> list[dict[str, str]]:
    found, current = [], None
    for line in lines:
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            found.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return found


def week_schedule() -> Schedule:
    override = Override(person="dave", start=at(LONDON, 2026, 1, 7, 13), end=at(LONDON, 2026, 1, 7, 17))
    return schedule(layer(start=date(2026, 1, 5)), overrides=(override,))


def test_icalendar_structure():
    """Given a week of shifts, when rendered, then it is a CRLF VCALENDAR with one VEVENT per shift in UTC."""
    sched = week_schedule()
    found = shifts(sched, at(LONDON, 2026, 1, 5), at(LONDON, 2026, 1, 12))
    lines = unfold(to_icalendar(sched, found))
    assert lines[:3] == ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//firebell//on-call//EN"]
    assert "X-WR-CALNAME:Platform primary" in lines
    assert lines[-1] == "END:VCALENDAR"
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") == len(found)
    first = events(lines)[0]
    assert first == {
        "UID": "platform-alice-20260105T090000Z@firebell",
        "DTSTAMP": "20260105T090000Z",
        "DTSTART": "20260105T090000Z",
        "DTEND": "20260106T090000Z",
        "SUMMARY": "On call: Platform primary (alice)",
        "DESCRIPTION": "Source: primary",
    }
    override = events(lines)[3]
    assert (override["DTSTART"], override["DTEND"], override["SUMMARY"]) == (
        "20260107T130000Z", "20260107T170000Z", "On call: Platform primary (dave)",
    )  # fmt: skip


def test_icalendar_times_are_utc_across_dst():
    """Given a shift starting at 09:00 BST, then DTSTART is 08:00Z."""
    sched = schedule(layer(start=date(2026, 7, 1)))
    found = shifts(sched, at(LONDON, 2026, 7, 1, 9), at(LONDON, 2026, 7, 2, 9))
    (event,) = events(unfold(to_icalendar(sched, found)))
    assert (event["DTSTART"], event["DTEND"]) == ("20260701T080000Z", "20260702T080000Z")


def test_icalendar_filters_by_person():
    """Given a person, then only their shifts are events and the calendar name says whose it is."""
    sched = week_schedule()
    found = shifts(sched, at(LONDON, 2026, 1, 5), at(LONDON, 2026, 1, 12))
    lines = unfold(to_icalendar(sched, found, person="carol"))
    assert "X-WR-CALNAME:Platform primary (carol)" in lines
    carol = events(lines)
    assert len(carol) == sum(1 for s in found if s.person == "carol") == 3
    assert {e["SUMMARY"] for e in carol} == {"On call: Platform primary (carol)"}
    assert events(unfold(to_icalendar(sched, found, person="nobody"))) == []


def test_icalendar_uids_are_stable_and_unique():
    """Given the same schedule rendered twice (and over a longer window), then UIDs and output are identical."""
    sched = week_schedule()
    week = shifts(sched, at(LONDON, 2026, 1, 5), at(LONDON, 2026, 1, 12))
    assert to_icalendar(sched, week) == to_icalendar(sched, list(week))
    uids = [e["UID"] for e in events(unfold(to_icalendar(sched, week)))]
    assert len(set(uids)) == len(uids)
    longer = shifts(sched, at(LONDON, 2026, 1, 5), at(LONDON, 2026, 1, 20))
    longer_uids = [e["UID"] for e in events(unfold(to_icalendar(sched, longer)))]
    assert longer_uids[: len(uids) - 1] == uids[:-1]  # the last week shift was clipped by the window


def test_icalendar_escapes_text_and_folds_long_lines():
    """Given a name with commas, semicolons, backslashes, a newline and non-ASCII text, then values are escaped
    and lines over 75 octets are folded without splitting a UTF-8 character."""
    sched = Schedule(
        id="db",
        name="Datenbank, Bereitschaft; Ä\\Ö\nZweite Zeile – " + "ü" * 60,
        time_zone="Europe/Berlin",
        layers=[layer(members=("jörg",))],
    )
    text = to_icalendar(sched, shifts(sched, utc(2026, 1, 5, 8), utc(2026, 1, 6, 8)))
    text.encode("utf-8")  # every physical line is valid UTF-8 (no split characters)
    physical = text.split("\r\n")
    assert any(line.startswith(" ") for line in physical), "the long lines are folded"
    assert all(len(line.encode("utf-8")) <= 75 for line in physical)
    lines = unfold(text)
    escaped = "Datenbank\\, Bereitschaft\\; Ä\\\\Ö\\nZweite Zeile – " + "ü" * 60
    assert f"X-WR-CALNAME:{escaped}" in lines
    (event,) = events(lines)
    assert event["SUMMARY"] == f"On call: {escaped} (jörg)"


def test_icalendar_refuses_naive_shift_times():
    """Given a hand-made shift with naive times, then ValueError rather than a guessed zone."""
    naive = Shift(person="alice", start=datetime(2026, 1, 5, 9), end=datetime(2026, 1, 6, 9), source="primary")
    with pytest.raises(ValueError, match="timezone-aware"):
        to_icalendar(schedule(), [naive])


def test_a_custom_turn_longer_than_a_year_is_refused() -> None:
    # Stepping to a turn of 10**12 hours overflowed datetime in on_call (a 5xx); a year is the longest turn taken
    Rotation(type=RotationType.CUSTOM, start=date(2026, 1, 1), length_hours=366 * 24)
    with pytest.raises(ValidationError, match="length_hours"):
        Rotation(type=RotationType.CUSTOM, start=date(2026, 1, 1), length_hours=366 * 24 + 1)
