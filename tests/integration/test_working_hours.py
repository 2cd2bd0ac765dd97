"""Working hours through the pipeline on moto: the admin API takes (and refuses) routing rules and schedule
restrictions; an incident opened in office hours goes to chat and pages nobody until someone escalates it; one opened
after hours pages the on-call person; a schedule with nobody on call makes the escalation state machine go on to the
next level at once. The functions' clock is frozen (wiring.utc_now) at a wall time in London today."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from firebell import wiring
from tests.integration.conftest import Pipeline

LONDON = ZoneInfo("Europe/London")
CHAT_RULE = {
    "name": "office hours go to chat",
    "time_zone": "Europe/London",
    "restrictions": [{"type": "daily", "start": "09:00", "end": "17:30"}],
    "priorities": ["P3", "P4", "P5"],
    "page_nobody": True,
}


def london_today(hour: int, minute: int = 0) -> datetime:
    return datetime.now(LONDON).replace(hour=hour, minute=minute, second=0, microsecond=0)


def freeze(monkeypatch: pytest.MonkeyPatch, at: datetime) -> None:
    monkeypatch.setattr(wiring, "utc_now", lambda: at)


def team_with_rules(pipeline: Pipeline, *rules: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    _, team = pipeline.api("GET", "/admin/teams/platform")
    return pipeline.api("PUT", "/admin/teams/platform", {**team["entry"], "routing_rules": list(rules)})


def report_minor(pipeline: Pipeline) -> str:
    status, incident = pipeline.api(
        "POST",
        "/incidents",
        {"title": "Build cache is slow", "reporter": "me", "service": "checkout", "impact": "low", "urgency": "low"},
    )
    assert status == 201, incident
    return str(incident["reference"])


def timeline(pipeline: Pipeline, reference: str, kind: str) -> list[str]:
    _, answer = pipeline.api("GET", f"/incidents/{reference}/timeline")
    return [e["message"] for e in answer["items"] if e["kind"] == kind]


def emailed(pipeline: Pipeline, address: str) -> bool:
    return any(address in m["to"] for m in pipeline.outbox())


def play_queues_until(pipeline: Pipeline, done: Any, seconds: float = 60) -> None:
    """The event source mappings of classify and notify, until `done()` holds (a test deadline, not a timing)."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "not reached"
        for queue in ("classify", "notify"):
            event = pipeline.queued(queue, wait_seconds=0.3)
            if event["Records"]:
                assert pipeline.invoke(queue, event) == {"batchItemFailures": []}


def test_in_office_hours_a_minor_incident_goes_to_chat_and_an_escalation_pages_the_default_policy(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given platform routes P3–P5 to chat from 09:00 to 17:30 London, and it is 10:00 there
    status, answer = team_with_rules(pipeline, CHAT_RULE)
    assert status == 200, answer
    freeze(monkeypatch, london_today(10))
    _, on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")
    person = on_call["person"]["id"]

    # When a low × low incident (P5) is reported and classify has had its message
    reference = report_minor(pipeline)
    play_queues_until(pipeline, lambda: pipeline.queued("classify", wait_seconds=0.2)["Records"] == [], seconds=10)

    # Then nobody is paged and the timeline says which rule routed it
    assert timeline(pipeline, reference, "routed") == [
        "Routed by platform's rule 'office hours go to chat': nobody paged; the console has it (no chat channel)"
    ]
    assert not emailed(pipeline, f"{person}@example.com")
    _, incident = pipeline.api("GET", f"/incidents/{reference}")
    assert incident["status"] == "triggered"

    # When a responder escalates it, then the team's default policy pages whoever is on call
    status, _ = pipeline.api("POST", f"/incidents/{reference}/escalate", {"reason": "it got worse"})
    assert status == 200
    play_queues_until(pipeline, lambda: emailed(pipeline, f"{person}@example.com"))
    assert timeline(pipeline, reference, "routed")[-1] == (
        "Paging with platform-default, the default policy: the rule 'office hours go to chat' had paged nobody"
    )


def test_after_hours_the_same_incident_pages_the_on_call_person(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    team_with_rules(pipeline, CHAT_RULE)
    freeze(monkeypatch, london_today(21, 30))
    _, on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")

    reference = report_minor(pipeline)

    play_queues_until(pipeline, lambda: emailed(pipeline, f"{on_call['person']['id']}@example.com"))
    assert timeline(pipeline, reference, "routed") == []


def test_a_schedule_with_nobody_on_call_moves_the_state_machine_to_the_next_level_at_once(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given platform-primary (level 1) on call 09:00–17:00 London only, and it is 19:02 there
    _, schedule = pipeline.api("GET", "/admin/schedules/platform-primary")
    entry = schedule["entry"]
    entry["layers"][0]["restrictions"] = [{"type": "daily", "start": "09:00", "end": "17:00"}]
    assert pipeline.api("PUT", "/admin/schedules/platform-primary", entry)[0] == 200
    opened_at = london_today(19, 2)
    freeze(monkeypatch, opened_at)

    # When an incident is reported (level 1's delay is 5 real minutes: time_scale 1)
    reference = report_minor(pipeline)

    # Then level 2 (bob) is paged through the escalation state machine without waiting them out
    play_queues_until(pipeline, lambda: emailed(pipeline, "bob@example.com"))
    skipped = "Level 1 pages nobody: nobody on call on platform-primary at 19:02 Europe/London (outside its hours)"
    assert timeline(pipeline, reference, "page_skipped") == [f"{skipped}; level 2 next"]
    assert not emailed(pipeline, "alice@example.com") and not emailed(pipeline, "erin@example.com")


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        (
            {**{k: v for k, v in CHAT_RULE.items() if k != "page_nobody"}, "escalation_policy": "no-such-policy"},
            "routing_rules[0].escalation_policy",
        ),
        ({**CHAT_RULE, "escalation_policy": "platform-default"}, "routing_rules[0]"),  # both: which one is meant?
        ({**CHAT_RULE, "time_zone": "Mars/Olympus"}, "routing_rules[0].time_zone"),
        ({**CHAT_RULE, "restrictions": []}, "routing_rules[0].restrictions"),
        (
            {**CHAT_RULE, "restrictions": [{"type": "daily", "start": "9am", "end": "17:30"}]},
            "routing_rules[0].restrictions[0]",
        ),
    ],
)
def test_the_admin_api_refuses_a_rule_naming_the_field(pipeline: Pipeline, rule: dict[str, Any], field: str) -> None:
    status, answer = team_with_rules(pipeline, rule)
    assert status == 422, answer
    assert any(field in problem["field"] for problem in answer["fields"]), answer
    assert pipeline.api("GET", "/admin/directory")[1]["revision"] == 0  # nothing stored


def test_the_admin_api_refuses_rules_of_one_name(pipeline: Pipeline) -> None:
    status, answer = team_with_rules(pipeline, CHAT_RULE, {**CHAT_RULE, "priorities": ["P1"]})
    assert status == 422 and "routing_rules" in str(answer) and "repeated" in str(answer), answer
