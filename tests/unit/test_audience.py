"""Who is sent an incident event (domain/audience.py): published right after its change, the chat and webhooks
functions only get the events one of their channels or subscriptions wants; published by the relay, both get it."""

from __future__ import annotations

from typing import Any

from firebell.domain.audience import audience
from firebell.domain.directory import FirebellConfig
from firebell.domain.enums import EventType
from firebell.domain.models import IncidentEvent
from firebell.outbox import EffectKind

from .builders import alarm
from .conftest import build_world, with_directory

NOBODY = {"chat": False, "webhooks": False}


def subscribed(config: FirebellConfig, chat: list[dict[str, Any]], hooks: list[dict[str, Any]]) -> FirebellConfig:
    def change(directory: dict[str, Any]) -> None:
        directory["chat_channels"], directory["webhooks"] = chat, hooks

    return with_directory(config, change)


def test_without_channels_or_subscriptions_no_event_is_sent_to_chat_or_webhooks(shipped_config: FirebellConfig):
    world = build_world(subscribed(shipped_config, [], []))
    ref = world.service.handle_alarm(alarm("ALARM"), message_id="sns:1")[1]
    world.service.acknowledge(ref, by="alice")

    assert world.events.types() == ["incident.opened", "incident.classified", "incident.acknowledged"]
    assert world.events.audiences == [NOBODY] * 3


def test_each_consumer_is_sent_what_one_of_its_own_wants(shipped_config: FirebellConfig):
    config = subscribed(
        shipped_config,
        chat=[{"id": "ops-room", "kind": "slack", "channel": "C0123ABCD", "teams": ["platform"]}],
        hooks=[{"id": "itsm", "url": "https://itsm.example.com/hooks", "events": ["incident.acknowledged"]}],
    )
    world = build_world(config)
    incident = world.service.get(world.service.handle_alarm(alarm("ALARM"), message_id="sns:1")[1])
    assert incident.team == "platform"
    world.service.acknowledge(incident.reference, by="alice")

    assert world.events.audiences == [
        {"chat": True, "webhooks": False},  # opened
        {"chat": True, "webhooks": False},  # classified
        {"chat": True, "webhooks": True},  # acknowledged
    ]


def test_a_channel_or_subscription_of_another_team_or_service_or_disabled_wants_nothing(
    shipped_config: FirebellConfig,
):
    directory = subscribed(
        shipped_config,
        chat=[
            {"id": "platform-room", "kind": "slack", "channel": "C0123ABCD", "teams": ["platform"]},
            {"id": "all", "kind": "teams", "url": "https://example.webhook.office.com/x", "enabled": False},
        ],
        hooks=[{"id": "itsm", "url": "https://itsm.example.com/hooks", "services": ["checkout"]}],
    ).directory

    assert audience(directory, EventType.OPENED, "another-team", "api") == NOBODY
    assert audience(directory, EventType.OPENED, "platform", "checkout") == {"chat": True, "webhooks": True}


def test_an_event_the_relay_publishes_goes_to_every_consumer_and_is_stored_as_before(shipped_config: FirebellConfig):
    # Given an opening whose announcement failed right after the commit (it stays in the outbox)
    world = build_world(subscribed(shipped_config, [], []))
    world.events.fail_next(TimeoutError("SNS did not answer"))
    ref = world.service.handle_alarm(alarm("ALARM"), message_id="sns:1")[1]
    incident = world.service.get(ref)
    pending = next(e for e in world.store.pending_effects(incident.incident_id) if e.kind is EffectKind.PUBLISH)
    # (the stored event is what code from before this change reads too: a rolled-back deploy still publishes it)
    assert IncidentEvent.model_validate(pending.payload).type is EventType.OPENED
    published_before = len(world.events.published)

    # When the relay carries it out
    world.service.incidents.dispatch_pending(incident.incident_id)

    # Then it is published without an audience: SNS lets it through to both, each checks for itself
    assert world.events.types()[published_before:][:1] == ["incident.opened"]
    assert world.events.audiences[published_before] is None
