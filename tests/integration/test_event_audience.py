"""Incident events reach the chat and webhooks queues only when one of their channels or subscriptions wants them
(domain/audience.py): the publisher says so in message attributes and SNS filters on them, with the subscriptions
the topology renders. An event published without the attributes (by code from before them) reaches both."""

from __future__ import annotations

import json

from firebell.adapters.aws import SnsEventPublisher
from firebell.domain.enums import EventType
from firebell.domain.models import IncidentEvent
from infra.local.render import REGION
from tests.integration.conftest import Pipeline, load_event

CHAT, WEBHOOKS = "chat", "webhooks"


def types_on(pipeline: Pipeline, queue: str, incident_id: str) -> list[str]:
    return [json.loads(r["body"])["type"] for r in pipeline.queued_about(queue, incident_id)]


def test_an_incident_no_channel_or_subscription_wants_sends_nothing_to_chat_or_webhooks(pipeline: Pipeline) -> None:
    # The shipped directory has no chat channel and no webhook subscription
    assert pipeline.invoke("intake", load_event("sqs/intake-alarm.json")) == {"batchItemFailures": []}

    (opened,) = pipeline.queued("classify")["Records"]  # (it was announced: classify is sent the opening)
    incident_id = json.loads(opened["body"])["incident_id"]
    assert types_on(pipeline, CHAT, incident_id) == [] and types_on(pipeline, WEBHOOKS, incident_id) == []


def test_each_queue_gets_what_its_consumer_wants_and_what_does_not_say(pipeline: Pipeline) -> None:
    publisher = SnsEventPublisher(pipeline.resources[("topic", "events")], REGION)

    def event(incident_id: str) -> IncidentEvent:
        return IncidentEvent.model_validate(
            {
                "type": EventType.RESOLVED,
                "incident_id": incident_id,
                "reference": "INC-9",
                "occurred_at": "2026-12-03T03:00:00Z",
            }
        )

    publisher.publish(event("chat-only"), {CHAT: True, WEBHOOKS: False})
    publisher.publish(event("hooks-only"), {CHAT: False, WEBHOOKS: True})
    publisher.publish(event("said-before"))  # as code from before the audience publishes

    # (each queue read once: a message read is hidden from the next read)
    on_chat, on_webhooks = (
        sorted(json.loads(r["body"])["incident_id"] for r in pipeline.queued(queue, expect=10)["Records"])
        for queue in (CHAT, WEBHOOKS)
    )
    assert on_chat == ["chat-only", "said-before"]
    assert on_webhooks == ["hooks-only", "said-before"]
