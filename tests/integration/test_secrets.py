"""Secrets stay secret under moto: a demo routing key is refused by a function that is not the local runtime's,
keys live as hashes in config and admin changes, and a used ack-link nonce expires with DynamoDB's TTL."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from firebell import wiring
from firebell.data.store import ONCE_KEY_MARGIN
from firebell.domain import ack_links
from firebell.domain.routing_keys import new_routing_key, routing_key_sha256
from firebell.settings import LOCAL_RUNTIME_VARIABLE
from infra.local.http_api import proxy_event
from tests.integration.conftest import Pipeline
from tests.unit.test_integrations import ALERTMANAGER_FIRING, KEY, PAGERDUTY_TRIGGER


def as_deployed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The functions' environment as the stack gives it: without the local runtime's marker."""
    monkeypatch.delenv(LOCAL_RUNTIME_VARIABLE)
    wiring.reset()


def checkout_with_routing_keys(pipeline: Pipeline, entries: list[Any]) -> tuple[int, Any]:
    status, checkout = pipeline.api("GET", "/admin/services/checkout")
    assert status == 200, checkout
    return pipeline.api("PUT", "/admin/services/checkout", {**checkout["entry"], "routing_keys": entries})


def incidents(pipeline: Pipeline) -> list[dict[str, Any]]:
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200
    return page["items"]


def test_a_deployed_function_refuses_the_demo_key_and_takes_a_generated_one(
    pipeline: Pipeline,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given the api function as deployed (not the local runtime)
    as_deployed(monkeypatch)

    # When a monitoring tool sends the published demo key, on either route
    with caplog.at_level(logging.WARNING, logger=wiring.__name__):
        enqueued = pipeline.api("POST", "/v2/enqueue", PAGERDUTY_TRIGGER)
    webhook = pipeline.api("POST", f"/v1/alertmanager/{KEY}", ALERTMANAGER_FIRING)

    # Then loading the shipped config said once that its only keys are demo keys
    warned = [r for r in caplog.records if "every routing key" in r.getMessage()]
    assert len(warned) == 1 and "python -m firebell.keys new" in warned[0].getMessage()

    # Then both are forbidden, in the API's error format, saying why; nothing is opened
    for status, answer in (enqueued, webhook):
        assert status == 403, answer
        assert answer["error"] == "demo_routing_key" and "local runtime" in answer["message"]
    assert incidents(pipeline) == []

    # When an admin adds a key of their own (its hash only) to the service
    key = new_routing_key()
    status, answer = checkout_with_routing_keys(pipeline, [{"sha256": routing_key_sha256(key), "demo": False}])
    assert status == 200, answer

    # Then events with that key open incidents on checkout
    status, answer = pipeline.api("POST", "/v2/enqueue", {**PAGERDUTY_TRIGGER, "routing_key": key})
    assert status == 202, answer
    status, answer = pipeline.api("POST", f"/v1/alertmanager/{key}", ALERTMANAGER_FIRING)
    assert status == 200 and answer["service"] == "checkout", answer
    assert {i["service"] for i in incidents(pipeline)} == {"checkout"}

    # And the directory lists the key's hash, never the key
    status, directory = pipeline.api("GET", "/admin/directory")
    assert status == 200
    listed = json.dumps(directory)
    assert key not in listed and routing_key_sha256(key) in listed


def test_a_plain_key_in_an_admin_change_is_refused_without_being_echoed(pipeline: Pipeline) -> None:
    pasted = new_routing_key()
    status, answer = checkout_with_routing_keys(pipeline, [pasted])
    assert status == 422, answer
    (problem,) = answer["fields"]
    assert problem["field"].startswith("body.routing_keys") and "plain text" in problem["problem"]
    assert pasted not in json.dumps(answer)
    # And nothing changed: the demo key still opens incidents here, in the local runtime
    assert pipeline.api("POST", "/v2/enqueue", PAGERDUTY_TRIGGER)[0] == 202


def use_link(pipeline: Pipeline, token: str) -> tuple[int, str]:
    """POST /ack/<token>, as the link's page does: the answer is a page for a person (HTML), not JSON."""
    response = pipeline.invoke("api", proxy_event("POST", f"/ack/{token}", {}, b"", "198.51.100.7"))
    return response["statusCode"], response["body"]


def once_items(pipeline: Pipeline) -> list[dict[str, Any]]:
    table = pipeline.resources[("table", "incidents")]
    items = pipeline.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("ONCE#ACKLINK#")]


def signed_link(pipeline: Pipeline, incident_id: str, expires_at: datetime) -> str:
    secret = pipeline.client("secretsmanager").get_secret_value(SecretId=pipeline.resources[("secret", "ack-links")])[
        "SecretString"
    ]
    return ack_links.sign(incident_id, "alice", expires_at, secret.encode())


def test_a_used_ack_link_s_marker_expires_with_dynamodb_ttl(pipeline: Pipeline) -> None:
    # Given an open incident and a link to acknowledge it, valid for an hour
    status, incident = pipeline.api("POST", "/incidents", {"title": "Checkout is slow", "reporter": "alice"})
    assert status == 201, incident
    link_expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    token = signed_link(pipeline, incident["incident_id"], link_expires)

    # When it is used
    status, page = use_link(pipeline, token)
    assert status == 200, page

    # Then its nonce's marker carries the table's TTL attribute: kept past the link's expiry, then deleted
    (marker,) = once_items(pipeline)
    assert int(marker["expires"]["N"]) == int((link_expires + ONCE_KEY_MARGIN).timestamp())
    ttl = pipeline.client("dynamodb").describe_time_to_live(TableName=pipeline.resources[("table", "incidents")])
    assert ttl["TimeToLiveDescription"] == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires"}

    # And a second use is refused (the incident is acknowledged; the marker would refuse it anyway)
    assert use_link(pipeline, token)[0] == 410
    assert len(once_items(pipeline)) == 1


def test_an_expired_link_is_refused_by_its_own_expiry_without_any_marker(pipeline: Pipeline) -> None:
    # Given an open incident and a link whose lifetime is over (no marker for it exists: none was ever written)
    status, incident = pipeline.api("POST", "/incidents", {"title": "Checkout is slow", "reporter": "alice"})
    assert status == 201, incident
    token = signed_link(pipeline, incident["incident_id"], datetime.now(UTC) - timedelta(seconds=1))

    # When it is used, then it is refused as expired, and nothing is written
    status, page = use_link(pipeline, token)
    assert status == 410 and "expired" in page
    assert once_items(pipeline) == []
    assert incidents(pipeline)[0]["status"] == "triggered"
