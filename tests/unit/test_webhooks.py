"""Outgoing webhooks (domain/webhooks.py): deliveries a Standard Webhooks receiver accepts, and the retry rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from standardwebhooks import Webhook, WebhookVerificationError

from firebell.domain import webhooks
from firebell.domain.enums import EventType
from firebell.domain.webhooks import WebhookSubscription

KEY = b"the stack's webhook key, 32 bytes"
AT = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def test_a_delivery_verifies_with_the_standard_webhooks_library_and_by_the_spec_by_hand():
    secret = webhooks.subscription_secret(KEY, "ops-bridge")
    msg_id = webhooks.message_id(EventType.ACKNOWLEDGED, "01ABC", AT, "ops-bridge")
    payload = webhooks.body(EventType.ACKNOWLEDGED, AT, {"reference": "INC-7", "status": "acknowledged"})
    now = datetime.now(UTC)

    headers = webhooks.headers(secret, msg_id, now, payload)

    assert Webhook(secret).verify(payload, headers) == {
        "type": "incident.acknowledged",
        "timestamp": AT.isoformat(),
        "data": {"incident": {"reference": "INC-7", "status": "acknowledged"}},
    }
    # spec v1: base64(HMAC-SHA256(base64-decoded secret, "<id>.<timestamp>.<body>")), prefixed "v1,"
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(
        hmac.new(key, f"{msg_id}.{int(now.timestamp())}.{payload}".encode(), hashlib.sha256).digest()
    ).decode()
    assert headers["webhook-signature"] == f"v1,{expected}" and headers["webhook-timestamp"] == str(
        int(now.timestamp())
    )
    with pytest.raises(WebhookVerificationError):  # another subscription's secret does not verify it
        Webhook(webhooks.subscription_secret(KEY, "other")).verify(payload, headers)
    with pytest.raises(WebhookVerificationError):  # nor does a body changed on the way
        Webhook(secret).verify(payload.replace("INC-7", "INC-8"), headers)


def test_one_event_to_one_subscription_keeps_its_id_across_attempts():
    first = webhooks.message_id(EventType.OPENED, "01ABC", AT, "a")
    assert first == webhooks.message_id(EventType.OPENED, "01ABC", AT, "a") and first.startswith("msg_")
    assert (
        len(
            {
                first,
                webhooks.message_id(EventType.OPENED, "01ABC", AT, "b"),
                webhooks.message_id(EventType.RESOLVED, "01ABC", AT, "a"),
                webhooks.message_id(EventType.OPENED, "01ABC", AT + timedelta(seconds=1), "a"),
            }
        )
        == 4
    )


@pytest.mark.parametrize(
    "url",
    [
        "http://example.com/hook",
        "ftp://example.com/",
        "https://",
        "not a url",
        "http://10.0.0.1/x",
        "https://exa mple.com/x",
        "https://example.com:99999/x",
        "https://localhost\n/x",
        "https://user:pa55@hooks.example.com/x",
    ],
)
def test_a_subscription_needs_a_well_formed_https_url_without_credentials(url):
    with pytest.raises(ValidationError, match="url"):
        WebhookSubscription(id="x", url=url)


@pytest.mark.parametrize(
    ("url", "loopback_allowed"),
    [
        ("https://127.0.0.1/x", False),
        ("https://169.254.169.254/latest/meta-data", False),
        ("https://10.0.0.1/", False),
        ("https://[::1]/", False),
        ("https://192.168.1.5:8443/", True),
        ("https://localhost/", False),
    ],
)
def test_webhooks_never_reach_into_the_functions_own_network(url, loopback_allowed):
    from firebell.adapters.http import UrllibWebhookSender
    from firebell.domain.failures import is_permanent
    from firebell.domain.webhooks import UnsafeDestination

    with pytest.raises(UnsafeDestination) as refused:
        UrllibWebhookSender(loopback_allowed=loopback_allowed).post(url, "{}", {}, 1)
    assert is_permanent(refused.value)


def test_a_subscription_takes_the_events_teams_and_services_it_names():
    every = WebhookSubscription(id="all", url="https://hooks.example.com/firebell")
    narrow = WebhookSubscription(
        id="n", url="http://127.0.0.1:9000/", events=[EventType.RESOLVED], teams=["payments"], services=["checkout"]
    )
    assert every.wants(EventType.OPENED, None, None)
    assert narrow.wants(EventType.RESOLVED, "payments", "checkout")
    assert not narrow.wants(EventType.OPENED, "payments", "checkout") and not narrow.wants(
        EventType.RESOLVED, "platform", "checkout"
    )
    assert not narrow.wants(EventType.RESOLVED, "payments", None)
    assert not every.model_copy(update={"enabled": False}).wants(EventType.OPENED, None, None)


@pytest.mark.parametrize(
    ("status", "is_delivered", "is_gone"),
    [
        (200, True, False),
        (204, True, False),
        (299, True, False),
        (301, False, False),
        (400, False, False),
        (404, False, False),
        (429, False, False),
        (500, False, False),
        (None, False, False),
        (410, False, True),
    ],
)
def test_only_a_2xx_is_delivered_and_only_410_ends_the_attempts_early(status, is_delivered, is_gone):
    assert (webhooks.delivered(status), webhooks.gone(status)) == (is_delivered, is_gone)


def test_retries_follow_the_standard_webhooks_schedule():
    assert [webhooks.retry_delay(n) for n in range(1, webhooks.ATTEMPTS)] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert webhooks.ATTEMPTS == 8 and json.loads(webhooks.body(EventType.CLOSED, AT, {}))["type"] == "incident.closed"


# --- delivering an event (usecases/webhooks.py) ------------------------------------------------------------------


class Log:
    def __init__(self) -> None:
        self.marks: dict[str, datetime] = {}

    def delivered(self, message_id: str) -> bool:
        return message_id in self.marks

    def mark_delivered(self, message_id: str, keep_until: datetime) -> None:
        self.marks[message_id] = keep_until


class Endpoints:
    """Each URL answers the statuses given for it, in turn (the last one from then on); records what it was sent."""

    def __init__(self, answers: dict[str, list[int | None]]) -> None:
        self.answers = answers
        self.received: list[tuple[str, str, dict[str, str]]] = []

    def post(self, url: str, body: str, headers: dict[str, str], timeout_seconds: float) -> int | None:
        self.received.append((url, body, headers))
        queue = self.answers[url]
        return queue.pop(0) if len(queue) > 1 else queue[0]


def _deliveries(world, hooks: list[dict], answers: dict[str, list[int | None]]):
    from firebell.usecases.webhooks import WebhookDeliveries

    from .conftest import with_directory

    config = with_directory(world.config, lambda raw: raw.update(webhooks=hooks))
    endpoints = Endpoints(answers)
    return WebhookDeliveries(world.store, Log(), endpoints, lambda: config, lambda: KEY, world.clock), endpoints


def _event(world, kind: EventType):
    from firebell.domain.models import IncidentEvent
    from firebell.domain.requests import IncidentCreate

    incident = world.service.report(IncidentCreate(title="Checkout errors", reporter="erin"))  # (no service)
    return IncidentEvent(
        type=kind, incident_id=incident.incident_id, reference=incident.reference, occurred_at=incident.opened_at
    )


def test_an_event_goes_signed_to_each_subscription_that_wants_it_and_a_retry_only_to_those_missing_it(world):
    from firebell.domain.webhooks import WebhookUndelivered

    a, b = "https://a.example/hook", "https://b.example/hook"
    hooks = [
        {"id": "a", "url": a},
        {"id": "b", "url": b},
        {"id": "resolved-only", "url": "https://c.example/", "events": ["incident.resolved"]},
        {"id": "checkout", "url": "https://d.example/", "services": ["checkout"]},
    ]
    deliveries, endpoints = _deliveries(world, hooks, {a: [200], b: [503, None, 204]})
    event = _event(world, EventType.OPENED)

    with pytest.raises(WebhookUndelivered, match=r"webhook b: answered 503") as refused:
        deliveries.deliver(event)
    assert "https://" not in str(refused.value)  # (a URL may carry the receiver's token: reasons name the subscription)
    with pytest.raises(WebhookUndelivered, match="webhook b: no answer"):
        deliveries.deliver(event)  # the retry: only b again
    done = deliveries.deliver(event)

    assert (done.delivered, done.already, done.failed) == (["b"], ["a"], {})
    urls = [url for url, _, _ in endpoints.received]  # (a's and b's first posts at once, in either order)
    assert sorted(urls[:2]) == [a, b] and urls[2:] == [b, b]  # c wants resolutions only; d the checkout service's
    _url, body, headers = endpoints.received[-1]
    # (signed at the fake clock's time, which the library's 5-minute tolerance would refuse: compared instead)
    signed_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    assert headers["webhook-signature"] == Webhook(webhooks.subscription_secret(KEY, "b")).sign(
        headers["webhook-id"], signed_at, body
    )
    assert signed_at == world.clock() and json.loads(body)["data"]["incident"]["reference"] == event.reference
    assert len({h["webhook-id"] for u, _, h in endpoints.received if u == b}) == 1  # one id on every attempt
    assert '"task_token":"' not in body  # the incident as the API shows it: no secrets


def test_an_endpoint_that_says_it_is_gone_is_dead_lettered_at_once(world):
    from firebell.domain.failures import is_permanent
    from firebell.domain.webhooks import WebhookGone

    deliveries, _ = _deliveries(world, [{"id": "old", "url": "https://old.example/"}], {"https://old.example/": [410]})
    with pytest.raises(WebhookGone) as gone:
        deliveries.deliver(_event(world, EventType.OPENED))
    assert is_permanent(gone.value) and "answered 410" in str(gone.value)


def test_without_subscriptions_nothing_is_read(world):
    deliveries, endpoints = _deliveries(world, [], {})
    event = _event(world, EventType.OPENED)
    reads = world.store.calls["get"]
    assert deliveries.deliver(event).delivered == [] and world.store.calls["get"] == reads and endpoints.received == []


def test_a_subscription_into_the_functions_own_network_is_dead_lettered_at_once(world):
    from firebell.domain.webhooks import UnsafeDestination, WebhookGone

    class Guarded(Endpoints):
        def post(self, url, body, headers, timeout_seconds):
            raise UnsafeDestination("metadata.internal resolves to 169.254.169.254, not a public address")

    deliveries, _ = _deliveries(world, [{"id": "inside", "url": "https://metadata.internal/"}], {})
    deliveries._sender = Guarded({})
    with pytest.raises(WebhookGone, match=r"webhook inside: .*not a public address"):
        deliveries.deliver(_event(world, EventType.OPENED))
