"""The key test of the importers: at many instants across 2026's DST changes (London 25 October, New York 8 March),
who is on call by the SOURCE's own rules (tests/cli/source_semantics.py, from the vendors' docs) is who firebell's
on_call names on the imported config. Opsgenie's union of rotations is compared as the set of firebell's schedules
made from them (one per rotation)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from firebell.cli import main as cli
from firebell.domain.directory import Directory
from firebell.domain.schedules import on_call

from .source_semantics import opsgenie_on_call, pagerduty_on_call

FIXTURES = Path(__file__).parents[1] / "fixtures" / "import"
AS_OF = "2026-01-10T00:00:00+00:00"


def instants() -> list[datetime]:
    """Every 20 minutes over the days around both changes, and every 7 hours over the year after the import."""
    found: list[datetime] = []
    for first in (datetime(2026, 10, 22, tzinfo=UTC), datetime(2026, 3, 5, tzinfo=UTC)):
        found += [first + timedelta(minutes=20 * i) for i in range(6 * 24 * 3)]
    start = datetime(2026, 1, 10, 1, 7, tzinfo=UTC)
    found += [start + timedelta(hours=7 * i) for i in range(1200)]
    return found


def imported(vendor: str, tmp_path: Path) -> tuple[Directory, dict[str, str]]:
    out = tmp_path / "firebell.yaml"
    argv = ["import", vendor, "--from-dir", str(FIXTURES / vendor), "--out", str(out), "--sender", "fb@example.com"]
    argv += ["--as-of", AS_OF, "--override-days", "365"]
    stdout, stderr = io.StringIO(), io.StringIO()
    assert cli.main(argv, stdout, stderr) == 0, stderr.getvalue()
    directory = Directory.model_validate(yaml.safe_load(out.read_text()))
    ids = json.loads((tmp_path / "firebell.import-ids.json").read_text())[vendor]
    return directory, ids


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def test_pagerduty_on_call_matches_the_source_across_dst(tmp_path: Path) -> None:
    directory, ids = imported("pagerduty", tmp_path)
    compared = 0
    for schedule_id in ("PSCHED1", "PSCHED2", "PSCHED3"):  # PSCHED4's zone is not IANA: reported, not imported
        source = load(FIXTURES / "pagerduty" / "schedules" / f"{schedule_id}.json")["schedule"]
        overrides = load(FIXTURES / "pagerduty" / "schedules" / schedule_id / "overrides.json")["overrides"]
        schedule = directory.schedule(ids[f"schedules:{schedule_id}"])
        assert schedule is not None
        for at in instants():
            expected = pagerduty_on_call(source, overrides, at)
            assert on_call(schedule, at) == (ids[f"people:{expected}"] if expected else None), (schedule_id, at)
            compared += 1
    assert compared == 3 * len(instants())


def test_opsgenie_union_of_rotations_matches_the_source_across_dst(tmp_path: Path) -> None:
    directory, ids = imported("opsgenie", tmp_path)
    schedules = {s["id"]: s for s in load(FIXTURES / "opsgenie" / "schedules.json")["data"]}
    people_seen: set[str] = set()
    for schedule_id in ("s-ops", "s-web"):  # s-legacy's turn has a gap firebell cannot hold: reported instead
        source = schedules[schedule_id]
        overrides = load(FIXTURES / "opsgenie" / "schedules" / schedule_id / "overrides.json")["data"]
        made = [directory.schedule(ids[f"schedules:{r['id']}"]) for r in source["rotations"]]
        for at in instants():
            expected = {ids[f"people:{u}"] for u in opsgenie_on_call(source, overrides, at)}
            firebell = {person for s in made if s is not None and (person := on_call(s, at)) is not None}
            assert firebell == expected, (schedule_id, at)
            people_seen |= expected
    assert len(people_seen) >= 5  # the comparison saw the rotations turn, not one person throughout


def test_the_comparison_can_fail(tmp_path: Path) -> None:
    """Were the importer to keep PagerDuty's API order (top layer first) the evaluator would disagree."""
    directory, ids = imported("pagerduty", tmp_path)
    source = load(FIXTURES / "pagerduty" / "schedules" / "PSCHED1.json")["schedule"]
    schedule = directory.schedule(ids["schedules:PSCHED1"])
    assert schedule is not None
    flipped = schedule.model_copy(update={"layers": list(reversed(schedule.layers))})
    at = datetime(2026, 10, 21, 10, 0, tzinfo=UTC)  # a Wednesday in office hours: the top layer's carol or frank
    assert on_call(flipped, at) != ids[f"people:{pagerduty_on_call(source, [], at)}"]


@pytest.mark.parametrize(
    ("vendor", "schedule_id", "why"),
    [
        ("pagerduty", "PSCHED4", "not an IANA time zone name"),
        ("opsgenie", "r-legacy", "nobody (a gap in the turn)"),
    ],
)
def test_what_is_not_compared_is_reported(vendor: str, schedule_id: str, why: str, tmp_path: Path) -> None:
    imported(vendor, tmp_path)
    report = (tmp_path / f"firebell.{vendor}-import.md").read_text()
    assert any(schedule_id in line and why in line for line in report.splitlines())


def test_opsgenie_routing_rules_route_as_the_source(tmp_path: Path) -> None:
    """Team routing by hours and priority (a rule to a schedule in New York office hours; low priorities overnight
    in London to nobody), across both DST changes, against firebell's domain/routing.py."""
    from firebell.domain.enums import Priority
    from firebell.domain.routing import route

    from .source_semantics import opsgenie_route

    directory, ids = imported("opsgenie", tmp_path)
    seen: set[tuple[str, str | None]] = set()
    for team_id in ("t-ops", "t-web"):
        rules = load(FIXTURES / "opsgenie" / "teams" / team_id / "routing-rules.json")["data"]
        team = directory.team(ids[f"teams:{team_id}"])
        for at in instants()[::3]:
            for priority in Priority:
                kind, target = opsgenie_route(rules, priority.value, at)
                if kind == "escalation":
                    expected: str | None = ids[f"escalation_policies:{target}"]
                elif kind == "schedule":
                    expected = ids[f"escalation_policies:routing:{team_id}:{target}"]
                else:
                    expected = None
                got = route(list(team.routing_rules), priority, at, None, team.escalation_policy).policy
                assert got == expected, (team_id, priority, at, kind, target)
                seen.add((kind, target))
    assert seen == {("escalation", "e-ops"), ("none", None), ("schedule", "s-web"), ("escalation", "e-web")}
