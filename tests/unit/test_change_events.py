"""PagerDuty semantics across services: Change Events (POST /v2/change/enqueue) go on the timeline of their service's
open incidents, once per event; acknowledge and resolve sent with another service's routing key change nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from firebell.domain.change_events import parse_change_event
from firebell.domain.directory import Directory, FirebellConfig
from firebell.domain.enums import Status, TimelineKind
from firebell.domain.errors import InvalidPayload
from firebell.domain.routing_keys import routing_key_sha256
from firebell.usecases.change_events import ChangeEvents
from functions.api.integrations import change_enqueue, enqueue
from tests.unit.conftest import World, build_world

CHECKOUT_KEY = "R0UT1NGKEYCHECKOUT0000000000DEMO"  # config/firebell.yaml
PAYMENTS_KEY = "R0UT1NGKEYPAYMENTS00000000000001"  # a second service, added below

# PagerDuty's documented example (developer.pagerduty.com, Events API v2 "Send a Change Event").
CHANGE: dict[str, Any] = {
    "routing_key": CHECKOUT_KEY,
    "payload": {
        "summary": "Build Success: Increase snapshot create timeout to 30 seconds",
        "timestamp": "2020-07-17T08:42:58.315+0000",
        "source": "acme-build-pipeline-tool-default-i-9999",
        "custom_details": {"build_state": "passed", "build_number": "2", "run_time": "1236s"},
    },
    "links": [{"href": "https://acme.pagerduty.dev/build/2", "text": "View more details in Acme!"}],
}


@pytest.fixture
def world(shipped_config: FirebellConfig) -> World:
    document = shipped_config.directory.model_dump(mode="json", exclude_none=True)
    document["services"].append(
        {"id": "payments", "team": "platform", "routing_keys": [{"sha256": routing_key_sha256(PAYMENTS_KEY)}]}
    )
    return build_world(shipped_config.model_copy(update={"directory": Directory.model_validate(document)}))


def send_change(world: World, document: Any) -> tuple[int, dict]:
    # As the local runtime loads config, so that the demo CHECKOUT_KEY is accepted (refused in AWS: test_secrets).
    local = world.config.accepting_demo_keys()
    return change_enqueue(json.dumps(document), lambda: local, lambda: ChangeEvents(world.service.incidents))


def send_event(
    world: World, key: str, action: str, dedup_key: str, summary: str = "Disk full on db-1"
) -> tuple[int, dict]:
    event: dict[str, Any] = {"routing_key": key, "event_action": action, "dedup_key": dedup_key}
    if action == "trigger":
        event["payload"] = {"summary": summary, "source": "db-1", "severity": "error"}
    local = world.config.accepting_demo_keys()
    return enqueue(json.dumps(event), lambda: local, lambda: world.service)


def incident_of(world: World, summary: str):
    [incident] = [i for i in world.store.all_incidents() if i.title == summary]
    return incident


def changes_on(world: World, incident_id: str) -> list:
    return [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.CHANGE_EVENT]


def test_a_change_event_goes_on_each_open_incident_of_its_service_only(world: World) -> None:
    # Given two open checkout incidents, a resolved one, and an open payments incident
    for dedup_key, summary in (("a", "Checkout A"), ("b", "Checkout B"), ("c", "Checkout C")):
        send_event(world, CHECKOUT_KEY, "trigger", dedup_key, summary)
    send_event(world, CHECKOUT_KEY, "resolve", "c")
    send_event(world, PAYMENTS_KEY, "trigger", "p", "Payments P")
    versions = {i.title: i.version for i in world.store.all_incidents()}

    # When the build pipeline sends PagerDuty's documented change event with checkout's key
    assert send_change(world, CHANGE) == (202, {"status": "success", "message": "Change event processed"})

    # Then each open checkout incident has it on its timeline, whole, in one write each
    for summary in ("Checkout A", "Checkout B"):
        incident = incident_of(world, summary)
        [entry] = changes_on(world, incident.incident_id)
        assert entry.actor == "acme-build-pipeline-tool-default-i-9999"
        assert entry.message == (
            "Change on checkout (from acme-build-pipeline-tool-default-i-9999): "
            "Build Success: Increase snapshot create timeout to 30 seconds"
        )
        assert entry.details["custom_details"] == CHANGE["payload"]["custom_details"]
        assert entry.details["links"] == CHANGE["links"]
        assert entry.details["timestamp"].startswith("2020-07-17T08:42:58.315")
        assert incident.version == versions[summary] + 1
        assert incident.status is Status.TRIGGERED  # a change pages nobody and changes no state
    # And neither the resolved checkout incident nor the payments one has it
    assert changes_on(world, incident_of(world, "Checkout C").incident_id) == []
    assert changes_on(world, incident_of(world, "Payments P").incident_id) == []
    assert incident_of(world, "Payments P").version == versions["Payments P"]


def test_a_change_event_sent_again_is_recorded_once_and_one_without_timestamp_each_time(world: World) -> None:
    send_event(world, CHECKOUT_KEY, "trigger", "a", "Checkout A")
    incident_id = incident_of(world, "Checkout A").incident_id

    # When a client retries the same change (same timestamp and content), it is on the timeline once
    assert send_change(world, CHANGE)[0] == 202
    assert send_change(world, CHANGE)[0] == 202
    assert len(changes_on(world, incident_id)) == 1
    # And a different change with the same summary is a new one
    later = {**CHANGE, "payload": {**CHANGE["payload"], "timestamp": "2020-07-17T09:00:00Z"}}
    assert send_change(world, later)[0] == 202
    assert len(changes_on(world, incident_id)) == 2

    # Without a timestamp a retry cannot be told from a second identical change (PagerDuty has no dedup key for
    # changes either): each is recorded
    bare = {"routing_key": CHECKOUT_KEY, "payload": {"summary": "Config pushed"}}
    send_change(world, bare)
    send_change(world, bare)
    assert [e.message for e in changes_on(world, incident_id)][-2:] == ["Change on checkout: Config pushed"] * 2


def test_a_change_event_without_open_incidents_is_accepted_and_changes_nothing(world: World) -> None:
    assert send_change(world, CHANGE)[0] == 202
    assert world.store.all_incidents() == []


@pytest.mark.parametrize(
    ("document", "error"),
    [
        (
            {**CHANGE, "routing_key": "UNKNOWNKEY0000000000000000000000"},
            "'routing_key' is not the integration key of any service",
        ),
        ({**CHANGE, "payload": {**CHANGE["payload"], "summary": " "}}, "'payload.summary' is missing or blank"),
        ({"routing_key": CHECKOUT_KEY}, "'payload' is missing or blank"),
        ({**CHANGE, "links": [{"href": "javascript:alert(1)"}]}, "'links.0.href' must be an http(s) URL"),
        ({**CHANGE, "payload": {**CHANGE["payload"], "timestamp": "yesterday"}}, "'payload.timestamp'"),
    ],
)
def test_invalid_change_events_are_refused_as_pagerduty_does_naming_the_field(
    world: World, document: dict, error: str
) -> None:
    send_event(world, CHECKOUT_KEY, "trigger", "a", "Checkout A")
    status, answer = send_change(world, document)
    assert (status, answer["status"], answer["message"]) == (400, "invalid event", "Event object is invalid")
    assert any(e.startswith(error) for e in answer["errors"]), answer["errors"]
    assert changes_on(world, incident_of(world, "Checkout A").incident_id) == []


def test_change_event_parser_refuses_oversized_details_and_ignores_unknown_fields() -> None:
    with pytest.raises(InvalidPayload) as refused:
        parse_change_event(
            json.dumps({**CHANGE, "payload": {**CHANGE["payload"], "custom_details": {"log": "x" * 70_000}}})
        )
    assert [p.field for p in refused.value.problems] == ["payload.custom_details"]
    event = parse_change_event(
        json.dumps({**CHANGE, "images": [{"src": "https://example.com/a.png"}], "event_action": "x"})
    )
    assert event.payload.summary == CHANGE["payload"]["summary"]


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_or_resolve_with_another_services_routing_key_changes_nothing(world: World, action: str) -> None:
    # Given an alert triggered through checkout's integration
    send_event(world, CHECKOUT_KEY, "trigger", "srv01/mysql", "Checkout DB down")
    before = incident_of(world, "Checkout DB down")
    timeline = world.store.timeline(before.incident_id)

    # When the same dedup_key is acknowledged or resolved through payments' key: 202, as PagerDuty answers ...
    assert send_event(world, PAYMENTS_KEY, action, "srv01/mysql") == (
        202,
        {"status": "success", "message": "Event processed", "dedup_key": "srv01/mysql"},
    )

    # ... and nothing changed: PagerDuty drops events whose routing key is not the trigger's
    after = incident_of(world, "Checkout DB down")
    assert (after.status, after.version) == (Status.TRIGGERED, before.version)
    assert world.store.timeline(before.incident_id) == timeline

    # While checkout's own key does act on it
    send_event(world, CHECKOUT_KEY, action, "srv01/mysql")
    expected = {"acknowledge": Status.ACKNOWLEDGED, "resolve": Status.RESOLVED}[action]
    assert incident_of(world, "Checkout DB down").status is expected
