"""Working-hours routing: a team's ordered `routing_rules` choose the escalation policy when paging starts (office
hours go to the team's chat channel, after hours page the on-call person). Pure: no I/O, no clock.

The first rule whose windows (domain/restrictions.py, in the rule's time zone) cover the moment, and whose
priorities (all when absent) include the incident's, decides: its `escalation_policy`, or nobody paged with
`page_nobody: true` (the team's chat channels and the console get the incident as they always do). No rule matching: the service's
own escalation_policy if it has one, else the team's. Rules come before a service's own policy: they are the
team's say about its hours, and a service that must always page can be left out of them by priority.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from .enums import Priority
from .repeats import refuse_repeats
from .restrictions import MAX_RESTRICTIONS, Restriction, in_force
from .time_zones import TimeZoneName


class _Strict(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid", frozen=True)


class RoutingRule(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=200)]
    time_zone: TimeZoneName  # IANA name: the windows are wall-clock times there
    restrictions: Annotated[list[Restriction], Field(min_length=1, max_length=MAX_RESTRICTIONS)]
    priorities: Annotated[list[Priority], Field(min_length=1)] | None = None  # absent: every priority
    # Exactly one of the two: a policy, or `page_nobody: true`. Paging nobody is said out loud rather than meant by
    # a missing policy, so a rule whose policy was forgotten is refused instead of silencing the team's pages.
    escalation_policy: Annotated[str, Field(min_length=1)] | None = None
    page_nobody: StrictBool = False  # a real true: "yes" or 1 from a hand-written request is refused

    @field_validator("priorities")
    @classmethod
    def _each_priority_once(cls, priorities: list[Priority] | None) -> list[Priority] | None:
        refuse_repeats(p.value for p in priorities or [])
        return priorities

    @model_validator(mode="after")
    def _one_outcome(self) -> RoutingRule:
        if (self.escalation_policy is None) == (not self.page_nobody):
            raise ValueError(
                "give exactly one of escalation_policy (the policy that pages) or page_nobody: true "
                "(nobody is paged; chat and the console have the incident)"
            )
        return self

    @property
    def policy(self) -> str | None:
        """The policy that pages, None for nobody."""
        return None if self.page_nobody else self.escalation_policy

    def matches(self, priority: Priority | None, at: datetime) -> bool:
        """Whether the rule routes an incident of `priority` whose paging starts at `at` (aware)."""
        if self.priorities is not None and priority not in self.priorities:
            return False
        return in_force(self.restrictions, ZoneInfo(self.time_zone), at)


def distinct_rule_names(rules: list[RoutingRule]) -> list[RoutingRule]:
    refuse_repeats((repr(rule.name) for rule in rules), "rule names must be distinct; repeated")
    return rules


@dataclass(frozen=True)
class Route:
    """Which policy pages an incident: `policy` None pages nobody; `rule` is the rule's name (None: no rule
    matched, or it was escalated by hand)."""

    policy: str | None
    rule: str | None = None


def route(
    rules: list[RoutingRule], priority: Priority | None, at: datetime, service_policy: str | None, team_policy: str
) -> Route:
    for rule in rules:
        if rule.matches(priority, at):
            return Route(policy=rule.policy, rule=rule.name)
    return Route(policy=service_policy or team_policy)


_CHAT_KINDS = {"slack": "Slack", "teams": "Teams", "google_chat": "Google Chat"}


def routed_line(team: str, rule: str, policy: str | None, channels: Sequence[tuple[str, str]]) -> str:
    """The timeline's words for a routing decision; `channels`: (kind, id) of the chat channels that get the
    incident."""
    if policy is not None:
        return f"Routed by {team}'s rule {rule!r}: paging with {policy}"
    named = [f"{_CHAT_KINDS.get(kind, kind)} {channel}" for kind, channel in channels]
    holders = ", ".join(named) + " and the console have it" if named else "the console has it (no chat channel)"
    return f"Routed by {team}'s rule {rule!r}: nobody paged; {holders}"
