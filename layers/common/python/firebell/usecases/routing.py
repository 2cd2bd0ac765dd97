"""Working-hours routing as paging starts (domain/routing.py decides): which escalation policy an incident's paging
follows, said on its timeline. Used by usecases/escalation.py's start_escalation."""

from __future__ import annotations

from ..domain.directory import FirebellConfig
from ..domain.enums import EventType, TimelineKind
from ..domain.routing import Route, routed_line
from ..outbox import Change
from .base import SYSTEM


def route_now(c: Change, config: FirebellConfig) -> Route:
    """The team's routing rules at this moment, for the incident's priority; a rule's choice goes on the timeline."""
    incident = c.incident
    chosen = config.directory.route_for(incident.team, incident.service, incident.priority, c.now)
    if chosen.rule is not None:
        channels = [
            (channel.kind, channel.id)
            for channel in config.directory.chat_channels
            if channel.wants(EventType.OPENED, incident.team, incident.service)
        ]
        team = config.directory.team(incident.team).id
        c.log(
            TimelineKind.ROUTED,
            SYSTEM,
            routed_line(team, chosen.rule, chosen.policy, channels),
            details={"rule": chosen.rule, "escalation_policy": chosen.policy},
        )
    return chosen


def kept_policy(c: Change, config: FirebellConfig) -> str:
    """The policy paging follows when it is not routed afresh: the one chosen before; for an incident a routing rule
    sent to chat (nobody paged), the service's or team's own, and the timeline says so."""
    escalation = c.incident.escalation
    if escalation.policy is not None:
        return escalation.policy
    policy = config.directory.policy_for(c.incident.team, c.incident.service).id
    if escalation.routed_by is not None:
        c.log(
            TimelineKind.ROUTED,
            SYSTEM,
            f"Paging with {policy}, the default policy: the rule {escalation.routed_by!r} had paged nobody",
            details={"rule": None, "escalation_policy": policy},
        )
    return policy
