"""Paging when a schedule has nobody on call (restricted out): the level's other targets are paged; a level that pages
nobody is skipped at once, as PagerDuty and Opsgenie skip an empty rule, with a timeline line saying why."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from firebell.domain.enums import TimelineKind
from firebell.domain.escalation import next_step
from firebell.domain.workflow_messages import PageRequest

from .builders import alarm, page_request
from .conftest import World, build_world, with_directory

OFFICE_HOURS = [{"type": "daily", "start": "09:00", "end": "17:00"}]
EVENING = datetime(2026, 5, 1, 18, 2, tzinfo=UTC)  # Friday 19:02 in London (BST)
AFTERNOON = datetime(2026, 5, 1, 13, 0, tzinfo=UTC)  # 14:00 in London


def office_hours_only(directory: dict[str, Any]) -> None:
    (primary,) = [s for s in directory["schedules"] if s["id"] == "platform-primary"]
    primary["layers"][0]["restrictions"] = OFFICE_HOURS


@pytest.fixture
def restricted(shipped_config) -> World:
    return build_world(with_directory(shipped_config, office_hours_only))


def skipped(world: World, incident_id: str) -> list[str]:
    return [e.message for e in world.store.timeline(incident_id) if e.kind is TimelineKind.PAGE_SKIPPED]


def first_request(world: World, incident_id: str, token: str = "token-1") -> PageRequest:
    execution = world.service.get(incident_id).escalation.execution_arn
    request = page_request(incident_id, 1, [("schedule", "platform-primary")], token=token)
    return request.model_copy(update={"execution": execution})


def test_after_hours_level_1_pages_nobody_and_level_2_comes_at_once(restricted):
    """Given platform-primary on call 09:00–17:00 London only, when a checkout alarm opens an incident at 19:02,
    then level 1 pages nobody and says why, the run's first request is answered `escalate` (no 5-minute wait), and
    level 2 (bob) is paged when its request comes."""
    restricted.clock.set(EVENING)
    _, incident_id = restricted.service.handle_alarm(alarm("ALARM"))

    assert restricted.messenger.recipients() == []
    why = "nobody on call on platform-primary at 19:02 Europe/London (outside its hours)"
    assert skipped(restricted, incident_id) == [f"Level 1 pages nobody: {why}; level 2 next"]
    assert restricted.service.get(incident_id).escalation.escalate_on_first_request is True

    restricted.service.page(first_request(restricted, incident_id))
    assert restricted.workflows.answers == [("token-1", "escalate")]
    level_2 = page_request(incident_id, 2, ["bob"], token="token-2")
    restricted.service.page(level_2.model_copy(update={"execution": first_request(restricted, incident_id).execution}))
    assert restricted.messenger.recipients() == ["bob@example.com", "+15550100002"]
    assert restricted.workflows.answers == [("token-1", "escalate")]  # bob's level waits for him


def test_in_office_hours_the_on_call_person_is_paged(restricted):
    """Given the same schedule, when the alarm comes at 14:00 London, then alice (on call that week) is paged."""
    restricted.clock.set(AFTERNOON)
    _, incident_id = restricted.service.handle_alarm(alarm("ALARM"))
    assert restricted.messenger.recipients() == ["alice@example.com", "+15550100001"]
    assert skipped(restricted, incident_id) == []


def test_the_levels_other_targets_are_still_paged(restricted):
    """Given a level of the restricted schedule and bob, when paged at 19:02, then bob is paged and the level waits
    its delay as usual (it paged someone)."""
    restricted.clock.set(EVENING)
    _, incident_id = restricted.service.handle_alarm(alarm("ALARM"))
    restricted.messenger.emails.clear()
    restricted.messenger.sms.clear()
    request = page_request(incident_id, 1, [("schedule", "platform-primary"), "bob"], token="token-9", round=2)
    execution = restricted.service.get(incident_id).escalation.execution_arn
    restricted.service.page(request.model_copy(update={"execution": execution}))
    assert restricted.messenger.recipients() == ["bob@example.com", "+15550100002"]
    assert ("token-9", "escalate") not in restricted.workflows.answers
    assert restricted.service.get(incident_id).escalation.task_token == "token-9"


@pytest.mark.parametrize(
    ("level", "round_", "levels", "rounds", "words"),
    [
        (1, 1, 2, 1, "level 2"),
        (1, 2, 2, 3, "level 2, round 2"),
        (2, 1, 2, 2, "level 1, round 2"),
        (2, 2, 2, 2, "the incident manager"),
        (1, 1, 0, 0, "the next step"),  # a run started before the plan's size was kept
    ],
)
def test_what_comes_next(level, round_, levels, rounds, words):
    assert next_step(level, round_, levels, rounds) == words
