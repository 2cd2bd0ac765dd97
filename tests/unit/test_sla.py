"""SLA clocks: start (scaled), pause/resume (unmet moments shift, generation bumps), meet, status and the
state machine's input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from firebell.domain import sla
from firebell.domain.enums import Priority
from firebell.domain.models import SlaClock

OPENED = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def p1(shipped_config) -> SlaClock:
    """A P1 opened at 10:00: at risk 10:11:15, respond by 10:15; resolution at risk 13:00, due 14:00."""
    return sla.start_clock(Priority.P1, OPENED, shipped_config.rules)


# --- start ----------------------------------------------------------------------------------------


def test_start_clock_sets_at_risk_and_due_moments(p1):
    assert (p1.response.target_minutes, p1.response.at_risk_at, p1.response.due_at) == (
        15,
        OPENED + timedelta(minutes=11.25),
        OPENED + timedelta(minutes=15),
    )
    assert (p1.resolution.target_minutes, p1.resolution.at_risk_at, p1.resolution.due_at) == (
        240,
        OPENED + timedelta(hours=3),
        OPENED + timedelta(hours=4),
    )
    assert (p1.paused_since, p1.paused_seconds, p1.generation, p1.execution_arn) == (None, 0, 0, None)
    assert p1.response.met_at is p1.response.breached_at is p1.response.at_risk_notified_at is None


def test_start_clock_is_scaled(shipped_config):
    """Given time_scale 0.01, then a P2's 30 min response is due in 18 s and at risk at 13.5 s."""
    clock = sla.start_clock(Priority.P2, OPENED, shipped_config.rules, time_scale=0.01)
    assert clock.response.due_at == OPENED + timedelta(seconds=18)
    assert clock.response.at_risk_at == OPENED + timedelta(seconds=13.5)
    assert clock.resolution.due_at == OPENED + timedelta(seconds=288)


def test_scaled():
    assert sla.scaled(30, 1.0) == timedelta(minutes=30)
    assert sla.scaled(30, 0.5) == timedelta(minutes=15)


# --- pause / resume ---------------------------------------------------------------------------------


def test_pause_then_resume_shifts_every_unmet_moment(p1):
    """Given a P1 paused at 10:05 for 20 minutes, when resumed, then both clocks move 20 minutes later,
    20 minutes are counted as paused, and the clock is re-armed under a new generation."""
    paused = sla.pause(p1, OPENED + timedelta(minutes=5))
    assert paused.paused_since == OPENED + timedelta(minutes=5)

    resumed = sla.resume(paused, OPENED + timedelta(minutes=25))

    assert resumed.paused_since is None
    assert resumed.paused_seconds == 1200
    assert resumed.generation == 1
    assert resumed.response.due_at == p1.response.due_at + timedelta(minutes=20)
    assert resumed.response.at_risk_at == p1.response.at_risk_at + timedelta(minutes=20)
    assert resumed.resolution.due_at == p1.resolution.due_at + timedelta(minutes=20)


def test_resume_leaves_met_and_breached_timers_alone(p1):
    """Given response met and resolution breached, when paused and resumed, then neither moves."""
    met = sla.meet(p1, "response", OPENED + timedelta(minutes=3))
    both = met.model_copy(
        update={"resolution": met.resolution.model_copy(update={"breached_at": OPENED + timedelta(hours=4)})}
    )

    resumed = sla.resume(sla.pause(both, OPENED + timedelta(hours=5)), OPENED + timedelta(hours=6))

    assert resumed.response == both.response and resumed.resolution == both.resolution
    assert resumed.paused_seconds == 3600 and resumed.generation == 1


def test_pause_twice_keeps_the_first_pause(p1):
    once = sla.pause(p1, OPENED + timedelta(minutes=1))
    assert sla.pause(once, OPENED + timedelta(minutes=9)) == once


def test_resume_of_a_running_clock_changes_nothing(p1):
    assert sla.resume(p1, OPENED + timedelta(minutes=9)) == p1


def test_two_pauses_add_up(p1):
    """Given two pauses of 5 and 10 minutes, then 15 minutes are counted, due moments move 15, generation 2."""
    clock = sla.resume(sla.pause(p1, OPENED + timedelta(minutes=1)), OPENED + timedelta(minutes=6))
    clock = sla.resume(sla.pause(clock, OPENED + timedelta(minutes=7)), OPENED + timedelta(minutes=17))
    assert (clock.paused_seconds, clock.generation) == (900, 2)
    assert clock.response.due_at == p1.response.due_at + timedelta(minutes=15)


# --- meet -----------------------------------------------------------------------------------------


def test_meet_records_the_first_moment_only(p1):
    at = OPENED + timedelta(minutes=4)
    met = sla.meet(p1, "response", at)
    assert met.response.met_at == at and met.resolution.met_at is None
    assert sla.meet(met, "response", at + timedelta(minutes=1)) == met


# --- status -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "state", "left"),
    [
        (0, "running", 900),
        (11, "running", 240),
        (11.25, "at_risk", 225),
        (14, "at_risk", 60),
        (15, "breached", 0),
        (20, "breached", -300),
    ],
)
def test_response_status_over_time(p1, minutes, state, left):
    """Given a running P1 response clock, then running until 75%, at risk until due, breached from due on."""
    view = p1.status(OPENED + timedelta(minutes=minutes)).response
    assert (view.state, view.seconds_left, view.due_at) == (state, left, p1.response.due_at)


def test_status_of_a_met_clock(p1):
    met = sla.meet(p1, "response", OPENED + timedelta(minutes=30))  # even late: met is met
    view = met.status(OPENED + timedelta(hours=1)).response
    assert (view.state, view.seconds_left) == ("met", None)


def test_status_of_a_paused_clock_stands_still(p1):
    """Given a clock paused at 10:05, then an hour later it is paused with the 10 minutes it had left."""
    paused = sla.pause(p1, OPENED + timedelta(minutes=5))
    view = paused.status(OPENED + timedelta(hours=1)).response
    assert (view.state, view.seconds_left) == ("paused", 600)


def test_status_of_a_clock_paused_after_its_breach_is_breached(p1):
    paused = sla.pause(p1, OPENED + timedelta(minutes=20))
    assert paused.status(OPENED + timedelta(hours=1)).response.state == "breached"


def test_status_breached_once_recorded_even_if_time_was_added(p1):
    """Given a breach recorded at 10:15, then it stays breached whatever the clock says after."""
    breached = p1.model_copy(
        update={"response": p1.response.model_copy(update={"breached_at": OPENED + timedelta(minutes=15)})}
    )
    assert breached.status(OPENED).response.state == "breached"


# --- state machine input ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 5, 1, 10, 11, 15, tzinfo=UTC), "2026-05-01T10:11:15Z"),
        (datetime(2026, 5, 1, 10, 0, 0, 123456, tzinfo=UTC), "2026-05-01T10:00:01Z"),
        (datetime(2026, 5, 1, 10, 0, 0, 1, tzinfo=UTC), "2026-05-01T10:00:01Z"),
        (datetime(2026, 5, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))), "2026-05-01T10:00:00Z"),
        (datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "2027-01-01T00:00:00Z"),
    ],
)
def test_state_machine_time(moment, text):
    """Given any aware moment, then Step Functions gets RFC 3339 UTC with an uppercase Z, rounded up to the
    second (Wait states are second-grained: a wake-up never comes before the moment it stands for)."""
    assert sla.state_machine_time(moment) == text


def test_state_machine_time_is_never_early():
    for micro in (0, 1, 499_999, 500_000, 999_999):
        moment = datetime(2026, 5, 1, 10, 0, 0, micro, tzinfo=UTC)
        assert datetime.fromisoformat(sla.state_machine_time(moment)) >= moment


def test_the_next_moment_is_the_earliest_still_to_come(p1):
    """Given both clocks running, then the response at-risk moment comes first; once it was told, the response
    breach; once the response target is met, the resolution's (its at-risk first); none when both are done."""
    assert sla.next_moment(p1) == ("response", "at_risk", p1.response.at_risk_at)
    told = p1.model_copy(
        update={"response": p1.response.model_copy(update={"at_risk_notified_at": p1.response.at_risk_at})}
    )
    assert sla.next_moment(told) == ("response", "breach", p1.response.due_at)
    met = sla.meet(told, "response", OPENED + timedelta(minutes=13))
    assert sla.next_moment(met) == ("resolution", "at_risk", p1.resolution.at_risk_at)
    assert sla.next_moment(sla.meet(met, "resolution", OPENED + timedelta(hours=1))) is None
    assert sla.wake_input("01HX", 4, "resolution", "at_risk", p1.resolution.at_risk_at) == {
        "incident_id": "01HX",
        "generation": 4,
        "clock": "resolution",
        "moment": "at_risk",
        "at": "2026-05-01T13:00:00Z",
    }
