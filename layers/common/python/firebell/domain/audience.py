"""Which optional consumers of the events topic have something to do with an incident event.

Every event used to reach the chat and webhooks functions, which then found, on most deployments, no channel and no
subscription that wanted it: two invocations and four SQS requests per event for nothing (bench/cost: ten
invocations of a P2 incident's twenty). The dispatcher that publishes an event right after its change now says, as
message attributes, whether any chat channel and any webhook subscription wants it, and each of the two
subscriptions lets through only what its consumer wants (SNS filters, infra/topology.py; issue 10: cost). An event
published without the attributes (by the outbox relay, or by code from before them) reaches both, as it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (the adapter that sets the attributes imports this module: not the directory's models)
    from .directory import Directory
    from .enums import EventType

CHAT = "chat"
WEBHOOKS = "webhooks"
WANTED, NOT_WANTED = "yes", "no"


def audience(directory: Directory, event_type: EventType, team: str | None, service: str | None) -> dict[str, bool]:
    """For each optional consumer, whether one of its channels or subscriptions (enabled) wants this event."""
    return {
        CHAT: any(channel.wants(event_type, team, service) for channel in directory.chat_channels),
        WEBHOOKS: any(subscription.wants(event_type, team, service) for subscription in directory.webhooks),
    }
