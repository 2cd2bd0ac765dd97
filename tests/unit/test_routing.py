"""Working-hours routing: a team's ordered routing rules pick the escalation policy when paging starts (the pure
decision, the directory's refusals, and the paging use cases: office hours to chat, after hours to the on-call
person, a by-hand escalation of a chat-routed incident)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from firebell import workflows as machines
from firebell.domain.directory import FirebellConfig
from firebell.domain.enums import Priority, TimelineKind
from firebell.domain.requests import IncidentCreate
from firebell.domain.routing import Route, RoutingRule, route

from .builders import alarm
from .conftest import World, build_world, with_directory

OFFICE = [
    {"type": "weekly", "start_day": "mon", "start": "09:00", "end_day": "mon", "end": "17:30"},
    {"type": "weekly", "start_day": "tue", "start": "09:00", "end_day": "tue", "end": "17:30"},
]
CHAT_RULE = {
    "name": "office hours go to chat",
    "time_zone": "Europe/London",
    "restrictions": OFFICE,
    "priorities": ["P3", "P4", "P5"],
    "page_nobody": True,
}
DAYTIME_RULE = {
    "name": "daytime P1/P2",
    "time_zone": "Europe/London",
    "restrictions": [{"type": "daily", "start": "08:00", "end": "20:00"}],
    "escalation_policy": "platform-daytime",
}
DAYTIME_POLICY = {"id": "platform-daytime", "levels": [{"delay_minutes": 5, "targets": [{"person": "bob"}]}]}

MONDAY_10 = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)  # Monday 10:00 BST, the day after the clocks went forward
MONDAY_1745 = datetime(2026, 3, 30, 16, 45, tzinfo=UTC)  # 17:45 BST: after office hours, before 20:00
MONDAY_2130 = datetime(2026, 3, 30, 20, 30, tzinfo=UTC)  # 21:30 BST
WEDNESDAY_10 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def rules() -> list[RoutingRule]:
    return [RoutingRule.model_validate(CHAT_RULE), RoutingRule.model_validate(DAYTIME_RULE)]


# --- the decision ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("priority", "at", "expected"),
    [
        (Priority.P4, MONDAY_10, Route(None, "office hours go to chat")),
        (Priority.P2, MONDAY_10, Route("platform-daytime", "daytime P1/P2")),  # the chat rule is P3–P5 only
        (Priority.P4, MONDAY_1745, Route("platform-daytime", "daytime P1/P2")),  # office closed; daytime still
        (Priority.P4, WEDNESDAY_10, Route("platform-daytime", "daytime P1/P2")),  # no office hours on Wednesdays
        (Priority.P1, MONDAY_2130, Route("platform-default")),  # no rule: the team's policy
        (None, MONDAY_10, Route("platform-daytime", "daytime P1/P2")),  # unclassified: only rules for any priority
    ],
)
def test_the_first_matching_rule_decides(priority, at, expected):
    assert route(rules(), priority, at, None, "platform-default") == expected


def test_office_hours_are_london_hours_across_the_change():
    """Given office hours Mon 09:00–17:30 London, then on Monday 23 March (GMT) they open at 09:00 UTC and on
    Monday 30 March (BST) at 08:00 UTC."""
    chat = RoutingRule.model_validate(CHAT_RULE)
    assert not chat.matches(Priority.P4, datetime(2026, 3, 23, 8, 30, tzinfo=UTC))
    assert chat.matches(Priority.P4, datetime(2026, 3, 23, 9, 0, tzinfo=UTC))
    assert chat.matches(Priority.P4, datetime(2026, 3, 30, 8, 0, tzinfo=UTC))
    assert not chat.matches(Priority.P4, datetime(2026, 3, 30, 16, 30, tzinfo=UTC))  # 17:30 BST


def test_rules_come_before_the_services_own_policy_which_comes_before_the_teams():
    assert route(rules(), Priority.P4, MONDAY_10, "checkout-policy", "team-policy").rule == "office hours go to chat"
    assert route(rules(), Priority.P1, MONDAY_2130, "checkout-policy", "team-policy") == Route("checkout-policy")
    assert route([], Priority.P1, MONDAY_2130, None, "team-policy") == Route("team-policy")


# --- the directory's refusals ----------------------------------------------------------------------------------------


def team_with(shipped_config: FirebellConfig, *routing_rules: dict[str, Any]) -> FirebellConfig:
    def change(directory: dict[str, Any]) -> None:
        directory["escalation_policies"].append(DAYTIME_POLICY)
        directory["teams"][0]["routing_rules"] = list(routing_rules)

    return with_directory(shipped_config, change)


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({**DAYTIME_RULE, "escalation_policy": "nope"}, "teams[0].routing_rules[0].escalation_policy: unknown policy"),
        ({**DAYTIME_RULE, "time_zone": "Europe/Londres"}, "unknown time zone 'Europe/Londres'"),
        ({**DAYTIME_RULE, "restrictions": []}, "restrictions"),
        ({**DAYTIME_RULE, "priorities": ["P9"]}, "priorities"),
        ({**DAYTIME_RULE, "priorities": []}, "priorities"),
        ({**DAYTIME_RULE, "start": "09:00"}, "start"),
        # a forgotten policy is refused, not read as "page nobody"; and a rule cannot say both
        ({k: v for k, v in DAYTIME_RULE.items() if k != "escalation_policy"}, "give exactly one of escalation_policy"),
        ({**DAYTIME_RULE, "page_nobody": True}, "give exactly one of escalation_policy"),
        ({**CHAT_RULE, "page_nobody": False}, "give exactly one of escalation_policy"),
        # silencing a team's pages is said with a real true, not a string or a number read as one
        ({**CHAT_RULE, "page_nobody": "yes"}, "page_nobody"),
        ({**CHAT_RULE, "page_nobody": 1}, "page_nobody"),
    ],
)
def test_a_rule_that_cannot_be_read_is_refused_naming_the_field(shipped_config, rule, complaint):
    with pytest.raises(ValidationError) as refused:
        team_with(shipped_config, rule)
    assert complaint in str(refused.value) and "routing_rules" in str(refused.value), str(refused.value)


def test_duplicate_rule_names_are_refused(shipped_config):
    with pytest.raises(ValidationError, match=r"(?s)routing_rules.*repeated: 'daytime P1/P2'"):
        team_with(shipped_config, DAYTIME_RULE, {**DAYTIME_RULE, "priorities": ["P1"]})


# --- paging ----------------------------------------------------------------------------------------------------------


@pytest.fixture
def routed(shipped_config) -> World:
    return build_world(team_with(shipped_config, CHAT_RULE, DAYTIME_RULE))


def lines(world: World, incident_id: str, kind: TimelineKind) -> list[str]:
    return [e.message for e in world.store.timeline(incident_id) if e.kind is kind]


def report_minor(world: World) -> str:
    incident = world.service.report(
        IncidentCreate(title="Build cache is slow", reporter="erin", service="checkout", impact="low", urgency="low")
    )
    assert world.service.get(incident.incident_id).priority is Priority.P5
    return incident.incident_id


def test_a_p5_in_office_hours_goes_to_chat_and_pages_nobody(routed):
    """Given platform's rules, when a P5 (low × low) is reported on Monday at 10:00 London, then nobody is paged, no escalation
    run starts, the timeline says which rule routed it and who has it; a redelivered classification changes
    nothing."""
    routed.clock.set(MONDAY_10)
    incident_id = report_minor(routed)

    assert routed.messenger.recipients() == []
    assert routed.workflows.started(machines.ESCALATION) == []
    assert lines(routed, incident_id, TimelineKind.ROUTED) == [
        "Routed by platform's rule 'office hours go to chat': nobody paged; the console has it (no chat channel)"
    ]
    escalation = routed.service.get(incident_id).escalation
    assert (escalation.policy, escalation.routed_by, escalation.routed_at) == (
        None,
        "office hours go to chat",
        MONDAY_10,
    )
    before = routed.service.get(incident_id)
    routed.service.classify(incident_id)
    assert routed.service.get(incident_id) == before and routed.workflows.started(machines.ESCALATION) == []


def test_escalating_a_chat_routed_incident_by_hand_pages_with_the_teams_default_policy(routed):
    """Given a P5 routed to chat, when erin escalates it, then a run of platform-default starts (its level 1, the
    on-call schedule, is paged when the run asks) and the timeline says why that policy."""
    routed.clock.set(MONDAY_10)
    incident_id = report_minor(routed)

    routed.service.escalate(incident_id, by="erin", reason="it got worse")

    (run,) = routed.workflows.started(machines.ESCALATION)
    assert [lvl["targets"] for lvl in run.payload["levels"]] == [
        [{"kind": "schedule", "ref": "platform-primary"}],
        [{"kind": "person", "ref": "bob"}],
    ]
    assert lines(routed, incident_id, TimelineKind.ROUTED)[-1] == (
        "Paging with platform-default, the default policy: the rule 'office hours go to chat' had paged nobody"
    )
    assert routed.service.get(incident_id).escalation.policy == "platform-default"


def test_a_p2_alarm_in_the_daytime_pages_the_daytime_policy(routed):
    """Given the same rules, when the checkout alarm (P2) comes on Monday at 10:00, then the daytime rule picks
    platform-daytime: bob is paged at once, and the run is of that policy."""
    routed.clock.set(MONDAY_10)
    _, incident_id = routed.service.handle_alarm(alarm("ALARM"))
    assert routed.messenger.recipients() == ["bob@example.com", "+15550100002"]
    assert lines(routed, incident_id, TimelineKind.ROUTED) == [
        "Routed by platform's rule 'daytime P1/P2': paging with platform-daytime"
    ]
    (run,) = routed.workflows.started(machines.ESCALATION)
    assert [lvl["targets"] for lvl in run.payload["levels"]] == [[{"kind": "person", "ref": "bob"}]]


def test_after_hours_no_rule_matches_and_the_on_call_person_is_paged(routed):
    """Given the same rules, when a P5 (low × low) is reported at 21:30, then no rule matches: platform-default pages whoever is
    on call (alice, the week of 30 March), and there is no routing line."""
    routed.clock.set(MONDAY_2130)
    incident_id = report_minor(routed)
    assert routed.messenger.recipients() == ["alice@example.com", "+15550100001"]
    assert lines(routed, incident_id, TimelineKind.ROUTED) == []
    assert routed.service.get(incident_id).escalation.policy == "platform-default"


def test_a_chat_channel_of_the_team_is_named(shipped_config):
    def change(directory: dict[str, Any]) -> None:
        directory["teams"][0]["routing_rules"] = [CHAT_RULE]
        directory["chat_channels"] = [{"id": "ops", "kind": "slack", "channel": "C0OPS1234", "teams": ["platform"]}]

    world = build_world(with_directory(shipped_config, change))
    world.clock.set(MONDAY_10)
    incident_id = report_minor(world)
    assert lines(world, incident_id, TimelineKind.ROUTED) == [
        "Routed by platform's rule 'office hours go to chat': nobody paged; Slack ops and the console have it"
    ]
