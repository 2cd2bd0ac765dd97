"""Layer restrictions: daily and weekly windows in the schedule's zone mask a layer (its rotation keeps turning), worked
out by hand across the DST changes of 2026 (London 29 March and 25 October, New York 8 March)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from firebell.domain.restrictions import DailyRestriction, WeeklyRestriction, in_force, windows
from firebell.domain.schedules import Layer, Override, Schedule, Shift, Vacancy, on_call, shifts, vacancy

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")


def local(zone: ZoneInfo, *parts: int, fold: int = 0) -> datetime:
    return datetime(*parts, tzinfo=zone, fold=fold)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def real_hours(shift: Shift) -> float:
    return (shift.end.astimezone(UTC) - shift.start.astimezone(UTC)) / timedelta(hours=1)


def wall(shift: Shift) -> tuple[str, str, str]:
    return shift.person, shift.start.strftime("%a %d %H:%M"), shift.end.strftime("%a %d %H:%M")


def daily(start: str, end: str) -> dict[str, Any]:
    return {"type": "daily", "start": start, "end": end}


def weekly(start_day: str, start: str, end_day: str, end: str) -> dict[str, Any]:
    return {"type": "weekly", "start_day": start_day, "start": start, "end_day": end_day, "end": end}


def layer(*restrictions: dict[str, Any], members: tuple[str, ...] = ("alice", "bob"), **rotation: Any) -> Layer:
    spec = {"type": "daily", "start": date(2026, 1, 5), "handoff": time(9)} | rotation
    return Layer.model_validate(
        {"name": "restricted", "members": list(members), "rotation": spec, "restrictions": list(restrictions)}
    )


def schedule(*layers: Layer, zone: str = "Europe/London", overrides: tuple[Override, ...] = ()) -> Schedule:
    return Schedule(id="platform", name="Platform", time_zone=zone, layers=list(layers), overrides=list(overrides))


# --- London, spring forward: Sunday 29 March 2026, 01:00 GMT → 02:00 BST -------------------------------------------


def test_office_hours_are_local_hours_on_both_sides_of_the_spring_change():
    """Given a layer restricted to 09:00–17:00 daily, when the clocks go forward on 29 March, then the window is
    09:00–17:00 on the clock both days: 09:00 UTC on the 28th, 08:00 UTC on the 29th."""
    sched = schedule(layer(daily("09:00", "17:00"), members=("alice",)))
    assert on_call(sched, utc(2026, 3, 28, 8, 59)) is None
    assert on_call(sched, utc(2026, 3, 28, 9, 0)) == "alice"
    assert on_call(sched, utc(2026, 3, 28, 16, 59, 59)) == "alice"
    assert on_call(sched, utc(2026, 3, 28, 17, 0)) is None
    assert on_call(sched, utc(2026, 3, 29, 7, 59, 59)) is None
    assert on_call(sched, utc(2026, 3, 29, 8, 0)) == "alice"  # 09:00 BST
    assert on_call(sched, utc(2026, 3, 29, 16, 0)) is None  # 17:00 BST
    assert vacancy(sched, utc(2026, 3, 29, 16, 0)) is Vacancy.OUTSIDE_HOURS

    found = shifts(sched, local(LONDON, 2026, 3, 28), local(LONDON, 2026, 3, 30))
    assert [wall(s) for s in found] == [
        ("alice", "Sat 28 09:00", "Sat 28 17:00"),
        ("alice", "Sun 29 09:00", "Sun 29 17:00"),
    ]
    assert [real_hours(s) for s in found] == [8, 8]


def test_a_night_window_over_the_spring_change_is_an_hour_shorter():
    """Given a night layer 22:00–06:00 (crossing midnight), then the night of 28→29 March lasts 7 h: 22:00 GMT to
    06:00 BST, and 01:30 that night, a time the clock skips, is still inside it."""
    sched = schedule(layer(daily("22:00", "06:00"), members=("alice",)))
    found = shifts(sched, local(LONDON, 2026, 3, 28, 12), local(LONDON, 2026, 3, 29, 12))
    assert [wall(s) for s in found] == [("alice", "Sat 28 22:00", "Sun 29 06:00")]
    assert real_hours(found[0]) == 7
    assert on_call(sched, utc(2026, 3, 29, 1, 30)) == "alice"  # 02:30 BST
    assert on_call(sched, utc(2026, 3, 29, 5, 0)) is None  # 06:00 BST


def test_a_window_edge_in_the_spring_gap_moves_forward_by_the_gap():
    """Given a window 01:30–03:00 (01:30 does not exist on 29 March), then it opens at 01:30 read in GMT, i.e. 02:30
    BST, as a handoff at 01:30 would: 30 minutes that day, 90 the day before."""
    sched = schedule(layer(daily("01:30", "03:00"), members=("alice",)))
    found = shifts(sched, local(LONDON, 2026, 3, 28), local(LONDON, 2026, 3, 30))
    assert [wall(s) for s in found] == [
        ("alice", "Sat 28 01:30", "Sat 28 03:00"),
        ("alice", "Sun 29 02:30", "Sun 29 03:00"),
    ]
    assert [real_hours(s) for s in found] == [1.5, 0.5]


# --- London, fall back: Sunday 25 October 2026, 02:00 BST → 01:00 GMT ----------------------------------------------


def test_a_night_window_over_the_autumn_change_is_an_hour_longer():
    """Given a night layer 22:00–06:00, then the night of 24→25 October lasts 9 h, and both 01:30s are inside."""
    sched = schedule(layer(daily("22:00", "06:00"), members=("alice",)))
    found = shifts(sched, local(LONDON, 2026, 10, 24, 12), local(LONDON, 2026, 10, 25, 12))
    assert [wall(s) for s in found] == [("alice", "Sat 24 22:00", "Sun 25 06:00")]
    assert real_hours(found[0]) == 9
    assert on_call(sched, local(LONDON, 2026, 10, 25, 1, 30, fold=0)) == "alice"
    assert on_call(sched, local(LONDON, 2026, 10, 25, 1, 30, fold=1)) == "alice"


def test_an_ambiguous_window_edge_is_its_first_occurrence():
    """Given a window 01:30–03:00, then on 25 October it opens at the first 01:30 (BST, 00:30 UTC): 2.5 h long."""
    sched = schedule(layer(daily("01:30", "03:00"), members=("alice",)))
    (sunday,) = shifts(sched, local(LONDON, 2026, 10, 25), local(LONDON, 2026, 10, 25, 12))
    assert sunday.start.astimezone(UTC) == utc(2026, 10, 25, 0, 30)
    assert sunday.end.astimezone(UTC) == utc(2026, 10, 25, 3, 0)
    assert real_hours(sunday) == 2.5


def test_office_hours_after_the_autumn_change():
    """Given 09:00–17:00, then on Monday 26 October it is 09:00–17:00 GMT (UTC), the Friday before 08:00–16:00 UTC."""
    sched = schedule(layer(daily("09:00", "17:00"), members=("alice",)))
    assert on_call(sched, utc(2026, 10, 23, 8, 0)) == "alice"
    assert on_call(sched, utc(2026, 10, 23, 16, 0)) is None
    assert on_call(sched, utc(2026, 10, 26, 8, 30)) is None
    assert on_call(sched, utc(2026, 10, 26, 9, 0)) == "alice"
    assert on_call(sched, utc(2026, 10, 26, 16, 30)) == "alice"


# --- New York, spring forward: Sunday 8 March 2026, 02:00 EST → 03:00 EDT ------------------------------------------


def test_new_york_early_shift_starting_in_the_gap():
    """Given a window 02:30–08:00 in New York, then on 8 March it opens at 03:30 EDT (02:30 read in EST, 07:30 UTC)
    and closes at 08:00 EDT (12:00 UTC): 4.5 h; on the 7th it is 02:30–08:00 EST, 5.5 h."""
    sched = schedule(layer(daily("02:30", "08:00"), members=("alice",)), zone="America/New_York")
    assert on_call(sched, utc(2026, 3, 8, 7, 29)) is None  # 03:29 EDT
    assert on_call(sched, utc(2026, 3, 8, 7, 30)) == "alice"
    found = shifts(sched, local(NEW_YORK, 2026, 3, 7), local(NEW_YORK, 2026, 3, 9))
    assert [(s.start.astimezone(UTC), s.end.astimezone(UTC)) for s in found] == [
        (utc(2026, 3, 7, 7, 30), utc(2026, 3, 7, 13, 0)),
        (utc(2026, 3, 8, 7, 30), utc(2026, 3, 8, 12, 0)),
    ]


def test_new_york_business_week_over_the_change():
    """Given Mon 09:00 → Fri 17:00 weekly, then the week of 9 March opens at 13:00 UTC (EDT), the week before at
    14:00 UTC (EST); the weekend between is uncovered."""
    sched = schedule(layer(weekly("mon", "09:00", "fri", "17:00"), members=("alice",)), zone="America/New_York")
    assert on_call(sched, utc(2026, 3, 2, 14, 0)) == "alice"
    assert on_call(sched, utc(2026, 3, 6, 21, 59)) == "alice"  # Fri 16:59 EST
    assert on_call(sched, utc(2026, 3, 6, 22, 0)) is None
    assert on_call(sched, utc(2026, 3, 8, 12, 0)) is None  # Sunday
    assert on_call(sched, utc(2026, 3, 9, 12, 59)) is None
    assert on_call(sched, utc(2026, 3, 9, 13, 0)) == "alice"  # Mon 09:00 EDT


# --- windows' shapes -------------------------------------------------------------------------------------------------


def test_weekend_span_crosses_the_week_boundary_and_the_change():
    """Given Fri 18:00 → Mon 08:00 weekly in London, then it covers Sunday and the span over 29 March is 61 h."""
    sched = schedule(layer(weekly("fri", "18:00", "mon", "08:00"), members=("alice",)))
    assert on_call(sched, local(LONDON, 2026, 3, 27, 17, 59)) is None
    assert on_call(sched, local(LONDON, 2026, 3, 27, 18)) == "alice"
    assert on_call(sched, local(LONDON, 2026, 3, 29, 12)) == "alice"
    assert on_call(sched, local(LONDON, 2026, 3, 30, 7, 59)) == "alice"
    assert on_call(sched, local(LONDON, 2026, 3, 30, 8)) is None
    (weekend,) = shifts(sched, local(LONDON, 2026, 3, 26), local(LONDON, 2026, 3, 31))
    assert wall(weekend) == ("alice", "Fri 27 18:00", "Mon 30 08:00")
    assert real_hours(weekend) == 61


def test_same_day_and_time_is_the_whole_week_and_equal_daily_times_the_whole_day():
    """Given weekly Mon 09:00 → Mon 09:00 or daily 07:00 → 07:00, then the layer is never masked."""
    for restriction in (weekly("mon", "09:00", "mon", "09:00"), daily("07:00", "07:00")):
        sched = schedule(layer(restriction, members=("alice",)))
        found = shifts(sched, local(LONDON, 2026, 3, 20), local(LONDON, 2026, 4, 10))
        assert [(s.start, s.end) for s in found] == [(local(LONDON, 2026, 3, 20), local(LONDON, 2026, 4, 10))]


def test_several_windows_join_where_they_touch():
    """Given 09:00–12:00 and 12:00–17:00 and a weekly Tue 16:00 → Wed 10:00, then Monday's window is 09:00–17:00 and
    Tuesday's runs on to Wednesday 17:00 (windows ending before Monday or starting from Thursday are not asked)."""
    restrictions = [
        DailyRestriction.model_validate(daily("09:00", "12:00")),
        DailyRestriction.model_validate(daily("12:00", "17:00")),
        WeeklyRestriction.model_validate(weekly("tue", "16:00", "wed", "10:00")),
    ]
    found = windows(restrictions, LONDON, local(LONDON, 2026, 6, 1), local(LONDON, 2026, 6, 4))
    assert [
        (a.astimezone(LONDON).strftime("%a %H:%M"), b.astimezone(LONDON).strftime("%a %H:%M")) for a, b in found
    ] == [
        ("Mon 09:00", "Mon 17:00"),
        ("Tue 09:00", "Wed 17:00"),
    ]
    assert in_force([], LONDON, utc(2026, 6, 1)) is True


def test_the_rotation_keeps_turning_while_masked():
    """Given a daily rotation alice, bob handing off at 09:00, restricted to 12:00–13:00, then alice has Monday's
    hour and bob Tuesday's: the handoffs are those of the unrestricted rotation."""
    sched = schedule(layer(daily("12:00", "13:00")))
    found = shifts(sched, local(LONDON, 2026, 1, 5), local(LONDON, 2026, 1, 8))
    assert [wall(s) for s in found] == [
        ("alice", "Mon 05 12:00", "Mon 05 13:00"),
        ("bob", "Tue 06 12:00", "Tue 06 13:00"),
        ("alice", "Wed 07 12:00", "Wed 07 13:00"),
    ]


def test_a_lower_layer_shows_through_outside_the_top_layers_hours():
    """Given a 24/7 layer of carol under a business-hours layer, then carol is on call in the evening (the 19:02 of
    the clocks-change Sunday too) and the day's shifts alternate."""
    base = layer(members=("carol",)).model_copy(update={"name": "base", "restrictions": []})
    sched = schedule(base, layer(daily("09:00", "17:00"), members=("alice",)))
    assert on_call(sched, local(LONDON, 2026, 3, 29, 12)) == "alice"
    assert on_call(sched, local(LONDON, 2026, 3, 29, 19, 2)) == "carol"
    found = shifts(sched, local(LONDON, 2026, 3, 29, 0), local(LONDON, 2026, 3, 30, 0))
    assert [(s.person, s.source) for s in found] == [("carol", "base"), ("alice", "restricted"), ("carol", "base")]


def test_an_override_wins_inside_and_outside_the_windows():
    """Given 09:00–17:00 and an override for dave from 16:00 to 19:00, then dave is on call all three hours, and
    after 19:00 nobody is."""
    override = Override(person="dave", start=local(LONDON, 2026, 3, 30, 16), end=local(LONDON, 2026, 3, 30, 19))
    sched = schedule(layer(daily("09:00", "17:00"), members=("alice",)), overrides=(override,))
    assert on_call(sched, local(LONDON, 2026, 3, 30, 16, 30)) == "dave"
    assert on_call(sched, local(LONDON, 2026, 3, 30, 18, 30)) == "dave"
    assert on_call(sched, local(LONDON, 2026, 3, 30, 19)) is None
    found = shifts(sched, local(LONDON, 2026, 3, 30, 8), local(LONDON, 2026, 3, 30, 20))
    assert [(*wall(s), s.source) for s in found] == [
        ("alice", "Mon 30 09:00", "Mon 30 16:00", "restricted"),
        ("dave", "Mon 30 16:00", "Mon 30 19:00", "override"),
    ]


# --- the config's refusals -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("restriction", "complaint"),
    [
        (daily("09:00+01:00", "17:00"), "HH:MM"),
        (daily("9:00", "17:00"), "HH:MM"),
        (daily("24:00", "17:00"), "not a time of day"),
        (daily("\u0660\u0669:00", "17:00"), "HH:MM"),  # Arabic-Indic digits are digits to str.isdigit
        (daily("09:00:00.5", "17:00"), "HH:MM"),
        ({"type": "daily", "start": 1050, "end": "17:00"}, "quoted string"),  # YAML's reading of an unquoted 17:30
        (weekly("monday", "09:00", "fri", "17:00"), "start_day"),
        ({"type": "hourly", "start": "09:00", "end": "10:00"}, "type"),
        ({"type": "weekly", "start": "09:00", "end": "10:00"}, "start_day"),
    ],
)
def test_restrictions_that_are_refused_name_the_field(restriction: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError) as refused:
        layer(restriction)
    assert complaint in str(refused.value) and "restrictions" in str(refused.value)


def test_a_layer_has_at_most_100_windows():
    with pytest.raises(ValidationError, match="at most 100"):
        layer(*[daily("09:00", "17:00")] * 101)


def test_seconds_are_allowed():
    (restriction,) = layer(daily("09:00:30", "17:00")).restrictions
    assert restriction.start == time(9, 0, 30)
