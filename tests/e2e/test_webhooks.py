"""Outgoing webhooks on the local runtime: an admin subscribes a URL, reads its secret, and the receiver (a plain
HTTP server, infra/local/webhook_receiver.py) verifies every delivery with the Standard Webhooks reference library;
a receiver that fails gets the event again, with the same webhook-id, once it answers."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from standardwebhooks import Webhook

from infra.local.demo import http, wait_for
from infra.local.webhook_receiver import WebhookReceiver
from tests.e2e.conftest import RunningPipeline


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    made = WebhookReceiver()
    yield made
    made.close()


@pytest.fixture(autouse=True)
def unsubscribed(local_pipeline: RunningPipeline) -> Iterator[None]:
    """Each test's subscriptions removed after it: a later test's delivery is not held up by an earlier receiver
    gone (once a later subscription is in effect, so are these removals: the directory is read whole)."""
    yield
    for hook in ("rx-all", "rx-flaky", "rx-gone"):
        http("DELETE", f"{local_pipeline.api_url}/admin/webhooks/{hook}", as_="carol")


def test_an_admin_subscribes_a_url_and_its_receiver_verifies_every_event_of_an_incident(
    local_pipeline: RunningPipeline, receiver: WebhookReceiver
) -> None:
    api = local_pipeline.api_url
    status, entry = http("PUT", f"{api}/admin/webhooks/rx-all", {"id": "rx-all", "url": receiver.url}, as_="carol")
    assert status == 201, entry
    status, answer = http("GET", f"{api}/admin/webhooks/rx-all/secret", as_="carol")
    assert status == 200 and answer["secret"].startswith("whsec_")
    assert http("GET", f"{api}/admin/webhooks/rx-all/secret", as_="alice")[0] == 403
    verify = Webhook(answer["secret"]).verify

    status, incident = http(
        "POST", f"{api}/incidents", {"title": "Webhook test: checkout slow", "service": "checkout"}, as_="erin"
    )
    reference = incident["reference"]
    assert http("POST", f"{api}/incidents/{reference}/acknowledge", as_="alice")[0] == 200

    wait_for(
        "opened and acknowledged delivered",
        lambda: (
            {json.loads(b)["type"] for _, b, _ in receiver.about(reference)}
            >= {"incident.opened", "incident.acknowledged"}
        ),
        30,
    )
    for headers, body, _ in receiver.about(reference):
        assert verify(body, headers)["data"]["incident"]["reference"] == reference
    ids = [h["webhook-id"] for h, _, _ in receiver.about(reference)]
    assert len(ids) == len(set(ids))


def test_a_failing_receiver_gets_the_event_again_with_the_same_id(local_pipeline: RunningPipeline) -> None:
    api = local_pipeline.api_url

    def refuse_the_first_about_the_retried_one(body: dict, receiver: WebhookReceiver) -> int:
        incident = body["data"]["incident"]
        return (
            503 if incident["title"] == "Webhook test: retried" and not receiver.about(incident["reference"]) else 200
        )

    receiver = WebhookReceiver(refuse_the_first_about_the_retried_one)
    try:
        assert (
            http("PUT", f"{api}/admin/webhooks/rx-flaky", {"id": "rx-flaky", "url": receiver.url}, as_="carol")[0]
            == 201
        )

        # A subscription reaches the webhooks function within its directory cache's life (15 s): incidents are opened
        # until one of their events reaches the receiver.
        def reached() -> bool:
            if not receiver.got:
                http(
                    "POST",
                    f"{api}/incidents",
                    {"title": "Webhook test: subscribed yet?", "service": "checkout"},
                    as_="erin",
                )
            return bool(receiver.got)

        wait_for("the subscription in effect", reached, 40, interval=2)
        _, incident = http(
            "POST", f"{api}/incidents", {"title": "Webhook test: retried", "service": "checkout"}, as_="erin"
        )

        def retried() -> list[str] | None:  # (the first retry waits 5 s, Standard Webhooks' schedule, unscaled)
            got = receiver.about(incident["reference"])
            first_id = got[0][0]["webhook-id"] if got else None
            return (
                [s for h, _, s in got if h["webhook-id"] == first_id]
                if got and got[0][2] == 503 and any(s == 200 and h["webhook-id"] == first_id for h, _, s in got)
                else None
            )

        assert wait_for("the refused delivery made again, with its id", retried, 45)[:2] == [503, 200]
    finally:
        receiver.close()


def test_an_event_dead_lettered_with_its_reason_is_delivered_once_replayed(local_pipeline: RunningPipeline) -> None:
    api = local_pipeline.api_url
    receiver = WebhookReceiver(
        lambda body, _: 410 if body["data"]["incident"]["title"] == "Webhook test: gone" else 200
    )
    try:
        assert (
            http("PUT", f"{api}/admin/webhooks/rx-gone", {"id": "rx-gone", "url": receiver.url}, as_="carol")[0] == 201
        )

        def reached() -> bool:  # (as above: the subscription takes effect within 15 s)
            if not receiver.got:
                http(
                    "POST",
                    f"{api}/incidents",
                    {"title": "Webhook test: subscribed yet?", "service": "checkout"},
                    as_="erin",
                )
            return bool(receiver.got)

        wait_for("the subscription in effect", reached, 40, interval=2)
        _, incident = http(
            "POST", f"{api}/incidents", {"title": "Webhook test: gone", "service": "checkout"}, as_="erin"
        )
        reference = incident["reference"]
        wait_for("refused with 410", lambda: any(s == 410 for _, _, s in receiver.about(reference)), 30)
        # 410 Gone: dead-lettered at once, with the reason (the local runtime's view of the DLQs)
        wait_for(
            "dead-lettered",
            lambda: any(
                reference in str(m.get("reason"))
                for m in http("GET", f"{api}/_local/dead-letters")[1]["queues"]["webhooks-dlq"]["messages"]
            ),
            30,
        )

        receiver.answer = lambda _body, _receiver: 200  # the receiver is back
        status, replayed = http("POST", f"{api}/admin/webhooks/dead-letters/replay", as_="carol")
        assert status == 200 and replayed["replayed"] >= 1 and any("answered 410" in r for r in replayed["reasons"]), (
            replayed
        )
        assert http("POST", f"{api}/admin/webhooks/dead-letters/replay", as_="alice")[0] == 403

        def refused_and_taken() -> bool:  # every refused event, under its own id, now taken
            got = receiver.about(reference)
            refused = {h["webhook-id"] for h, _, s in got if s == 410}
            return bool(refused) and refused <= {h["webhook-id"] for h, _, s in got if s == 200}

        wait_for("delivered once replayed", refused_and_taken, 30)
    finally:
        receiver.close()
