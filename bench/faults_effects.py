"""The fault suite's effects beyond email and SMS (bench/faults_load.py): an outgoing webhook receiver, a Slack
channel and a Teams channel set up before the load, and the invariants each must hold after it."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from infra.local.slack_stand_in import SlackStandIn
from infra.local.webhook_receiver import WebhookReceiver

SLACK_CHANNEL = "C0INCIDENTS"
REF = re.compile(r"\bINC-\d+\b")
Put = Callable[[str, dict[str, Any]], tuple[int | None, Any]]  # (path under the API, body) → (status, answer)
INVARIANTS = (
    # outgoing webhooks (docs/webhooks.md): each incident's incident.opened reaches the subscribed receiver,
    # every attempt of it under one webhook-id (repeats of that id are allowed: receivers deduplicate on it)
    "webhooks_undelivered",
    "webhook_ids_conflicting",
    # chat (docs/chat.md): each incident is one Slack message that ends showing the incident's state, also
    # when Slack loses answers and rate-limits; each incident.opened reaches a Teams channel
    "slack_messages_missing",
    "slack_messages_duplicated",
    "slack_messages_stale",
    "teams_cards_missing",
)


def set_up(put: Put, receiver: WebhookReceiver, teams: WebhookReceiver) -> None:
    """Before any event (each function reads the directory on its first): incident.opened to the webhook `receiver`,
    a Slack channel (every event) and a Teams channel (incident.opened)."""
    for path, entry in (
        ("webhooks/faults", {"id": "faults", "url": receiver.url, "events": ["incident.opened"]}),
        ("chat_channels/faults-slack", {"id": "faults-slack", "kind": "slack", "channel": SLACK_CHANNEL}),
        (
            "chat_channels/faults-teams",
            {"id": "faults-teams", "kind": "teams", "url": teams.url, "events": ["incident.opened"]},
        ),
    ):
        status, answer = put(f"/admin/{path}", entry)
        if status not in (200, 201):
            raise RuntimeError(f"could not set up {path}: {status} {answer}")


def webhook_invariants(
    receiver: WebhookReceiver, incidents: list[dict[str, Any]]
) -> tuple[dict[str, int], dict[str, Any]]:
    ids: dict[str, set[str]] = defaultdict(set)
    deliveries = Counter()
    for headers, body, status in receiver.got:
        reference = json.loads(body)["data"]["incident"]["reference"]
        ids[reference].add(headers.get("webhook-id", ""))
        deliveries[reference] += status == 200
    undelivered = [i["reference"] for i in incidents if not deliveries[i["reference"]]]
    conflicting = [ref for ref, seen in ids.items() if len(seen) > 1]
    return (
        {"webhooks_undelivered": len(undelivered), "webhook_ids_conflicting": len(conflicting)},
        {
            "webhooks_received": len(receiver.got),
            "webhooks_repeated": sum(n - 1 for n in deliveries.values() if n > 1),
            "webhooks_undelivered": undelivered[:20],
            "webhook_ids_conflicting": conflicting[:20],
        },
    )


def chat_invariants(
    slack: SlackStandIn, teams: WebhookReceiver, incidents: list[dict[str, Any]]
) -> tuple[dict[str, int], dict[str, Any]]:
    messages: dict[str, list[Any]] = defaultdict(list)
    for message in slack.channel(SLACK_CHANNEL):
        messages[((message.metadata or {}).get("event_payload") or {}).get("incident_id")].append(message)
    missing = [i["reference"] for i in incidents if not messages[i["incident_id"]]]
    duplicated = [i["reference"] for i in incidents if len(messages[i["incident_id"]]) > 1]
    # The message's text ends with the state it shows: "(triggered)", "(acknowledged by bob)", "(resolved by …)".
    stale = [
        i["reference"]
        for i in incidents
        if len(messages[i["incident_id"]]) == 1
        and f"({i['status'].replace('_', ' ')}" not in messages[i["incident_id"]][0].text
    ]
    cards = Counter(ref for _, body, status in teams.got if status == 200 for ref in set(REF.findall(body)))
    no_card = [i["reference"] for i in incidents if not cards[i["reference"]]]
    return (
        {
            "slack_messages_missing": len(missing),
            "slack_messages_duplicated": len(duplicated),
            "slack_messages_stale": len(stale),
            "teams_cards_missing": len(no_card),
        },
        {
            "slack_messages": sum(len(m) for m in messages.values()),
            "slack_calls": dict(Counter(slack.calls)),
            "slack_messages_missing": missing[:20],
            "slack_messages_duplicated": duplicated[:20],
            "slack_messages_stale": stale[:20],
            "teams_cards": sum(cards.values()),
            "teams_cards_repeated": sum(n - 1 for n in cards.values() if n > 1),
            "teams_cards_missing": no_card[:20],
        },
    )


def slack_stand_in(seed: int, misbehaving: bool) -> SlackStandIn:
    """Slack; `misbehaving`: as it does, posts whose answer is lost after Slack took them, and rate limits."""
    slack = SlackStandIn(bot_token=f"xoxb-faults-{seed}", signing_secret=f"faults-{seed}")
    if not misbehaving:
        return slack
    slack.fail("chat.postMessage", "lost_answer", times=5)
    slack.fail("chat.update", "http_429", times=10)
    slack.fail("chat.postMessage", "ratelimited", times=5)
    return slack
