"""ITIL prioritisation: impact × urgency → P1–P5 (config/rules.yaml), rule validation and SLA due times."""

from __future__ import annotations

import copy
import itertools
from datetime import UTC, datetime, timedelta

import pytest
import yaml
from pydantic import ValidationError

from firebell.domain.enums import Impact, Priority, Urgency
from firebell.domain.priority import priority_for
from firebell.domain.rules import Rules, SlaTarget
from firebell.domain.sla import start_clock

from .conftest import CONFIG_DIR

H, M, L = "high", "medium", "low"

ITIL_MATRIX = [
    (H, H, "P1"), (H, M, "P2"), (H, L, "P3"),
    (M, H, "P2"), (M, M, "P3"), (M, L, "P4"),
    (L, H, "P3"), (L, M, "P4"), (L, L, "P5"),
]  # fmt: skip

SLA_MINUTES = {"P1": (15, 240), "P2": (30, 480), "P3": (120, 1440), "P4": (480, 4320), "P5": (1440, 10080)}


@pytest.fixture(scope="module")
def raw_rules() -> dict:
    return yaml.safe_load((CONFIG_DIR / "rules.yaml").read_text(encoding="utf-8"))


@pytest.mark.parametrize(("impact", "urgency", "expected"), ITIL_MATRIX, ids=[f"{i}x{u}" for i, u, _ in ITIL_MATRIX])
def test_priority_matrix_covers_all_nine_itil_cells(shipped_config, impact, urgency, expected):
    """Given the shipped rules, when impact × urgency is looked up, then it is the ITIL priority."""
    assert priority_for(Impact(impact), Urgency(urgency), shipped_config.rules) is Priority(expected)


def test_matrix_is_monotonic(shipped_config):
    """Given the shipped rules, raising impact or urgency by one step never lowers the priority."""
    rank = {p: n for n, p in enumerate(Priority)}  # P1 → 0, the most urgent
    steps = ["low", "medium", "high"]

    def p(impact: str, urgency: str) -> int:
        return rank[priority_for(Impact(impact), Urgency(urgency), shipped_config.rules)]

    for lower, higher in itertools.pairwise(steps):
        for other in steps:
            assert p(higher, other) <= p(lower, other), f"impact {lower}→{higher} at urgency {other}"
            assert p(other, higher) <= p(other, lower), f"urgency {lower}→{higher} at impact {other}"


# --- validation --------------------------------------------------------------------------------


def test_shipped_rules_validate(raw_rules):
    """Given config/rules.yaml, when validated, then every impact, urgency and priority is covered."""
    rules = Rules.model_validate(raw_rules)
    assert set(rules.priority_matrix) == set(Impact)
    assert all(set(row) == set(Urgency) for row in rules.priority_matrix.values())
    assert set(rules.sla_targets) == set(Priority)


@pytest.mark.parametrize(("impact", "urgency"), [(H, H), (M, L), (L, M)])
def test_rules_refuse_a_matrix_missing_a_cell(raw_rules, impact, urgency):
    """Given a matrix with one cell removed, when validated, then the error names the row and the missing urgency."""
    broken = copy.deepcopy(raw_rules)
    del broken["priority_matrix"][impact][urgency]
    with pytest.raises(ValidationError) as caught:
        Rules.model_validate(broken)
    assert f"priority_matrix.{impact} lacks urgencies ['{urgency}']" in str(caught.value)


def test_rules_refuse_a_matrix_missing_a_row(raw_rules):
    """Given a matrix without the `low` impact row, when validated, then it is refused naming that row."""
    broken = copy.deepcopy(raw_rules)
    del broken["priority_matrix"]["low"]
    with pytest.raises(ValidationError, match=r"priority_matrix\.low lacks urgencies \['high', 'medium', 'low'\]"):
        Rules.model_validate(broken)


def test_rules_refuse_an_unknown_priority_in_the_matrix(raw_rules):
    """Given a matrix cell `P0`, when validated, then it is refused at that cell."""
    broken = copy.deepcopy(raw_rules)
    broken["priority_matrix"]["high"]["high"] = "P0"
    with pytest.raises(ValidationError) as caught:
        Rules.model_validate(broken)
    assert caught.value.errors()[0]["loc"] == ("priority_matrix", "high", "high")


@pytest.mark.parametrize("priority", ["P1", "P5"])
def test_rules_refuse_missing_sla_priority(raw_rules, priority):
    """Given sla_targets without one priority, when validated, then the error names the priority."""
    broken = copy.deepcopy(raw_rules)
    del broken["sla_targets"][priority]
    with pytest.raises(ValidationError, match=rf"sla_targets lacks \['{priority}'\]"):
        Rules.model_validate(broken)


def test_rules_refuse_response_longer_than_resolution(raw_rules):
    """Given a P2 SLA answering after it must be resolved, when validated, then it is refused at sla_targets.P2."""
    broken = copy.deepcopy(raw_rules)
    broken["sla_targets"]["P2"] = {"response_minutes": 600, "resolution_minutes": 480}
    with pytest.raises(ValidationError) as caught:
        Rules.model_validate(broken)
    (error,) = caught.value.errors()
    assert error["loc"] == ("sla_targets", "P2")
    assert "response_minutes must not exceed resolution_minutes" in error["msg"]


def test_response_equal_to_resolution_is_allowed():
    """Given response == resolution, when validated, then it is accepted (the limit is inclusive)."""
    assert SlaTarget(response_minutes=60, resolution_minutes=60).resolution_minutes == 60


@pytest.mark.parametrize("minutes", [0, -5])
def test_sla_minutes_must_be_positive(minutes):
    """Given a zero or negative SLA target, when validated, then it is refused."""
    with pytest.raises(ValidationError, match="greater than 0"):
        SlaTarget(response_minutes=minutes, resolution_minutes=60)


def test_shipped_process_rules(raw_rules):
    """Given the shipped rules.yaml, then the process timers are the documented ITIL-style ones."""
    process = Rules.model_validate(raw_rules).process
    assert (process.ack_timeout_minutes, process.confirmation_window_minutes, process.sla_at_risk_share) == (
        30,
        60,
        0.75,
    )
    assert process.stakeholder_update_minutes == {Priority.P1: 30, Priority.P2: 60}
    assert process.review_required == [Priority.P1, Priority.P2]
    assert process.incident_manager_priorities == [Priority.P1]


def test_process_rules_default_when_absent(raw_rules):
    """Given rules without a `process:` section, then the defaults apply (older rules files still load)."""
    rules = Rules.model_validate({k: v for k, v in raw_rules.items() if k != "process"})
    assert rules.process.ack_timeout_minutes == 30 and rules.process.ack_link_hours == 24


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("sla_at_risk_share", 1, "less than 1"),
        ("sla_at_risk_share", 0, "greater than 0"),
        ("ack_timeout_minutes", 0, "greater than 0"),
        ("confirmation_window_minutes", -1, "greater than 0"),
        ("review_required", ["P0"], "Input should be"),
        ("ack_timout_minutes", 5, "Extra inputs are not permitted"),
    ],
)
def test_process_rules_are_validated(raw_rules, field, value, problem):
    """Given a bad process setting, when validated, then it is refused at process.<field>."""
    broken = copy.deepcopy(raw_rules)
    broken.setdefault("process", {})[field] = value
    with pytest.raises(ValidationError) as caught:
        Rules.model_validate(broken)
    (error,) = caught.value.errors()
    assert error["loc"][:2] == ("process", field)
    assert problem in error["msg"]


def test_rules_refuse_unknown_fields(raw_rules):
    """Given a typo'd top-level key, when validated, then it is refused rather than silently ignored."""
    broken = {**raw_rules, "priority_matrx": {}}
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        Rules.model_validate(broken)


# --- SLA maths ----------------------------------------------------------------------------------


@pytest.mark.parametrize("priority", list(SLA_MINUTES))
def test_sla_due_times_are_opening_plus_targets(shipped_config, priority):
    """Given an incident opened at 23:50 UTC, when its SLA clock starts, then due = opened + targets."""
    opened = datetime(2024, 12, 31, 23, 50, tzinfo=UTC)
    response, resolution = SLA_MINUTES[priority]

    clock = start_clock(Priority(priority), opened, shipped_config.rules)

    assert (clock.response.target_minutes, clock.resolution.target_minutes) == (response, resolution)
    assert clock.response.due_at == opened + timedelta(minutes=response)
    assert clock.resolution.due_at == opened + timedelta(minutes=resolution)
    assert clock.response.due_at.tzinfo is not None


def test_p1_due_times_concretely(shipped_config):
    """Given a P1 opened at 10:00, then respond by 10:15 and resolve by 14:00 the same day."""
    clock = start_clock(Priority.P1, datetime(2024, 5, 1, 10, 0, tzinfo=UTC), shipped_config.rules)
    assert clock.response.due_at == datetime(2024, 5, 1, 10, 15, tzinfo=UTC)
    assert clock.resolution.due_at == datetime(2024, 5, 1, 14, 0, tzinfo=UTC)


def test_p5_resolution_crosses_a_week(shipped_config):
    """Given a P5 opened on 1 May, then it must be resolved by 8 May (10080 minutes = 7 days)."""
    clock = start_clock(Priority.P5, datetime(2024, 5, 1, 10, 0, tzinfo=UTC), shipped_config.rules)
    assert clock.resolution.due_at == datetime(2024, 5, 8, 10, 0, tzinfo=UTC)
