"""Escalation policies frozen into a plan (levels, rounds, ack timeout) and targets resolved to people when paged."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from firebell.domain.directory import Directory
from firebell.domain.enums import Source
from firebell.domain.escalation import escalation_plan, people_for, scaled_timeout
from firebell.domain.models import Incident
from firebell.domain.workflow_messages import PlanTarget

OPENED = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def incident(team: str | None = None, service: str | None = None) -> Incident:
    return Incident(
        incident_id="01HXAMPLE",
        reference="INC-1",
        title="x",
        source=Source.API,
        reporter="erin",
        team=team,
        service=service,
        opened_at=OPENED,
        last_seen_at=OPENED,
    )


def target(kind: str, ref: str) -> PlanTarget:
    return PlanTarget(kind=kind, ref=ref)


@pytest.fixture(scope="module")
def directory() -> Directory:
    """Two teams: payments with a manager and a repeating policy, a VIP service with its own policy, schedules."""
    return Directory.model_validate(
        {
            "notifications": {"sender": "firebell@example.com"},
            "people": [
                {"id": "alice", "name": "Alice", "email": "alice@example.com"},
                {"id": "bob", "name": "Bob", "email": "bob@example.com"},
                {"id": "carol", "name": "Carol", "email": "carol@example.com"},
                {"id": "frank", "name": "Frank", "email": "frank@example.com"},
            ],
            "schedules": [
                {
                    "id": "daily",
                    "name": "Daily",
                    "time_zone": "UTC",
                    "layers": [
                        {
                            "name": "l",
                            "rotation": {"type": "daily", "start": "2026-05-01", "handoff": "09:00"},
                            "members": ["alice", "bob"],
                        }
                    ],
                },
                {
                    "id": "future",
                    "name": "Starts in 2030",
                    "time_zone": "UTC",
                    "layers": [
                        {"name": "l", "rotation": {"type": "daily", "start": "2030-01-01"}, "members": ["carol"]}
                    ],
                },
            ],
            "escalation_policies": [
                {"id": "platform", "levels": [{"delay_minutes": 5, "targets": [{"person": "alice"}]}]},
                {
                    "id": "payments",
                    "repeat": 2,
                    "levels": [
                        {"delay_minutes": 2, "targets": [{"schedule": "daily"}]},
                        {"delay_minutes": 0.25, "targets": [{"team_manager": "payments"}, {"person": "bob"}]},
                    ],
                },
                {"id": "vip", "levels": [{"delay_minutes": 1, "targets": [{"person": "carol"}]}]},
            ],
            "teams": [
                {"id": "platform", "name": "Platform", "escalation_policy": "platform", "incident_managers": ["carol"]},
                {
                    "id": "payments",
                    "name": "Payments",
                    "escalation_policy": "payments",
                    "manager": "frank",
                    "incident_managers": ["carol", "alice"],
                },
            ],
            "services": [
                {"id": "checkout", "team": "payments"},
                {"id": "vip-checkout", "team": "payments", "escalation_policy": "vip"},
            ],
            "default_team": "platform",
        }
    )


# --- scaled_timeout -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "scale", "seconds"),
    [(5, 1.0, 300), (5, 0.01, 3), (0.25, 1.0, 15), (30, 2.0, 3600), (5, 0.001, 1), (1, 1e-9, 1), (10, 0.0042, 3)],
)
def test_scaled_timeout(minutes, scale, seconds):
    """Given minutes and a time scale, then the wait is a whole number of seconds, never under 1."""
    assert scaled_timeout(minutes, scale) == seconds


# --- escalation_plan ----------------------------------------------------------------------------


def test_shipped_plan(shipped_config):
    """Given the shipped platform policy, when planned at time_scale 1, then the on-call schedule for 300 s,
    then bob for 600 s, once, with a 30 min acknowledgement timeout and carol as incident manager."""
    plan = escalation_plan(incident(team="platform"), shipped_config.directory, shipped_config.rules, 1.0)

    assert [(lvl.level, [(t.kind, t.ref) for t in lvl.targets], lvl.timeout_seconds) for lvl in plan.levels] == [
        (1, [("schedule", "platform-primary")], 300),
        (2, [("person", "bob")], 600),
    ]
    assert (plan.rounds, plan.ack_timeout_seconds, plan.incident_managers) == (1, 1800, ["carol"])
    assert (plan.incident_id, plan.reference) == ("01HXAMPLE", "INC-1")


@pytest.mark.parametrize(
    ("scale", "timeouts", "ack"), [(0.01, [3, 6], 18), (0.1, [30, 60], 180), (2.0, [600, 1200], 3600)]
)
def test_plan_scales_delays_and_ack_timeout(shipped_config, scale, timeouts, ack):
    """Given a time_scale, then every level's delay and the acknowledgement timeout are multiplied by it."""
    plan = escalation_plan(incident(team="platform"), shipped_config.directory, shipped_config.rules, scale)
    assert [lvl.timeout_seconds for lvl in plan.levels] == timeouts
    assert plan.ack_timeout_seconds == ack


@pytest.mark.parametrize("scale", [0.0001, 1e-9])
def test_plan_never_waits_less_than_a_second(shipped_config, scale):
    plan = escalation_plan(incident(team="platform"), shipped_config.directory, shipped_config.rules, scale)
    assert [lvl.timeout_seconds for lvl in plan.levels] == [1, 1] and plan.ack_timeout_seconds == 1


def test_plan_rounds_are_repeat_plus_one(shipped_config, directory):
    """Given the payments policy with repeat 2, then the plan runs its levels 3 times; its targets are kept as
    given (schedule, then the team manager and bob) and the team's incident managers close it."""
    plan = escalation_plan(incident(team="payments", service="checkout"), directory, shipped_config.rules, 1.0)
    assert plan.rounds == 3
    assert [([(t.kind, t.ref) for t in lvl.targets], lvl.timeout_seconds) for lvl in plan.levels] == [
        ([("schedule", "daily")], 120),
        ([("team_manager", "payments"), ("person", "bob")], 15),
    ]
    assert plan.incident_managers == ["carol", "alice"]


def test_service_policy_overrides_the_team_policy(shipped_config, directory):
    """Given a service with its own policy (vip), then that policy is used, with its team's incident managers."""
    plan = escalation_plan(incident(team="payments", service="vip-checkout"), directory, shipped_config.rules, 1.0)
    assert [[t.ref for t in lvl.targets] for lvl in plan.levels] == [["carol"]]
    assert (plan.rounds, plan.incident_managers) == (1, ["carol", "alice"])


@pytest.mark.parametrize("team", [None, "disbanded"])
def test_plan_of_no_team_or_a_removed_team_uses_the_default_team(shipped_config, directory, team):
    """Given no team, or a team since removed from the config, then the default team's policy is used rather than failing."""
    plan = escalation_plan(incident(team=team), directory, shipped_config.rules, 1.0)
    assert [[t.ref for t in lvl.targets] for lvl in plan.levels] == [["alice"]]
    assert plan.incident_managers == ["carol"]


def test_plan_is_json_for_the_state_machine(shipped_config):
    """Given a plan, then its JSON form has what escalation.asl.json reads ($.levels, $.rounds, ...)."""
    payload = escalation_plan(
        incident(team="platform"), shipped_config.directory, shipped_config.rules, 1.0
    ).model_dump(mode="json")
    assert set(payload) >= {"incident_id", "levels", "rounds", "ack_timeout_seconds", "incident_managers"}
    assert payload["levels"][0] == {
        "level": 1,
        "targets": [{"kind": "schedule", "ref": "platform-primary"}],
        "timeout_seconds": 300,
    }


# --- people_for ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "person"),
    [
        (datetime(2026, 5, 1, 10, tzinfo=UTC), "alice"),
        (datetime(2026, 5, 2, 10, tzinfo=UTC), "bob"),
        (datetime(2026, 5, 2, 8, 59, tzinfo=UTC), "alice"),
    ],
)
def test_schedule_target_is_whoever_is_on_call(directory, at, person):
    """Given a daily schedule (alice, then bob, handing off at 09:00), then a schedule target is the person on call then."""
    assert people_for([target("schedule", "daily")], directory, at) == [person]


def test_team_manager_target(directory):
    """Given the payments manager as a target, then frank is paged."""
    assert people_for([target("team_manager", "payments")], directory, OPENED) == ["frank"]


def test_team_manager_target_of_a_team_without_manager_pages_nobody(directory):
    """Given platform (no manager) as a team_manager target in a frozen plan, then nobody is added for it."""
    assert people_for([target("team_manager", "platform"), target("person", "bob")], directory, OPENED) == ["bob"]


def test_unknown_schedule_is_skipped(directory):
    """Given a frozen plan naming a schedule removed from the config since, then the other targets are still paged."""
    assert people_for([target("schedule", "gone"), target("person", "carol")], directory, OPENED) == ["carol"]


def test_schedule_with_nobody_on_call_yet_is_skipped(directory):
    """Given a schedule that only starts in 2030, then it adds nobody today (the level's other targets carry it)."""
    assert people_for([target("schedule", "future"), target("person", "bob")], directory, OPENED) == ["bob"]


def test_people_are_deduplicated_in_order(directory):
    """Given alice named directly and as the on-call person, and bob twice, then each is paged once, first mention first."""
    targets = [target("person", "alice"), target("schedule", "daily"), target("person", "bob"), target("person", "bob")]
    assert people_for(targets, directory, OPENED) == ["alice", "bob"]


def test_person_target_is_kept_even_if_unknown(directory):
    """Given a person since removed from the config, then they are still listed: paging records that they cannot be reached."""
    assert people_for([target("person", "ghost")], directory, OPENED) == ["ghost"]


def test_shipped_schedule_hands_over_on_monday_morning_london_time(shipped_config):
    """Given platform-primary (weekly, Mondays 09:00 London), then alice is on call until 08:00 UTC (BST) and erin after."""
    level = [target("schedule", "platform-primary")]
    assert people_for(level, shipped_config.directory, datetime(2026, 5, 4, 7, 59, tzinfo=UTC)) == ["alice"]
    assert people_for(level, shipped_config.directory, datetime(2026, 5, 4, 8, 0, tzinfo=UTC)) == ["erin"]


def test_machine_input_lays_out_every_step_then_the_incident_manager(shipped_config):
    """Given a plan of two rounds, then the run's input lists each level of each round in order, then a step
    without a level (the incident manager), with each step's round and delay: the machine walks it by position."""
    plan = escalation_plan(incident(team="platform"), shipped_config.directory, shipped_config.rules, 1.0)
    plan = plan.model_copy(update={"rounds": 2})
    payload = plan.machine_input()
    levels = [level.level for level in plan.levels]
    assert [s and s["level"] for s in payload["step_levels"]] == levels + levels + [None]
    assert payload["step_rounds"] == [1] * len(levels) + [2] * len(levels) + [2]
    assert payload["step_timeouts"] == [lvl.timeout_seconds for lvl in plan.levels] * 2 + [plan.ack_timeout_seconds]
    assert payload["levels"] == plan.model_dump(mode="json")["levels"]
