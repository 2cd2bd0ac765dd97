"""Monitoring tools on the wire under moto: PagerDuty Events API v2 (/v2/enqueue) and the Alertmanager webhook
(/v1/alertmanager/<routing key>) through the api function, into incidents."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import Pipeline
from tests.unit.test_change_events import CHANGE
from tests.unit.test_integrations import ALERTMANAGER_FIRING, KEY, PAGERDUTY_TRIGGER, json_values

ALERTMANAGER_URL = f"/v1/alertmanager/{KEY}"


def incidents(pipeline: Pipeline) -> list[dict]:
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200
    return page["items"]


def enqueue(pipeline: Pipeline, event: dict[str, Any]) -> dict[str, Any]:
    status, answer = pipeline.api("POST", "/v2/enqueue", event)
    assert status == 202, answer
    assert answer["status"] == "success" and answer["message"] == "Event processed"
    return answer


def resolved(webhook: dict[str, Any], ended: str = "2024-05-01T10:20:12.345Z") -> dict[str, Any]:
    document = copy.deepcopy(webhook)
    document["status"] = "resolved"
    for alert in document["alerts"]:
        alert.update(status="resolved", endsAt=ended)
    return document


# --- PagerDuty Events API v2 -----------------------------------------------------------------------------


def test_a_pagerduty_trigger_opens_an_incident_with_mapped_priority_and_custom_details(pipeline: Pipeline) -> None:
    # Given PagerDuty's documented example event (severity error) with the checkout service's routing key
    event = {**PAGERDUTY_TRIGGER, "payload": {**PAGERDUTY_TRIGGER["payload"], "severity": "error"}}

    # When it is sent to /v2/enqueue
    answer = enqueue(pipeline, event)

    # Then the answer is PagerDuty's, with the caller's dedup key
    assert answer == {"status": "success", "message": "Event processed", "dedup_key": "srv01/mysql"}
    # And an incident is open for the service, impact and urgency mapped from the severity, everything kept
    [incident] = incidents(pipeline)
    assert (incident["source"], incident["service"], incident["status"]) == (
        "pagerduty_events",
        "checkout",
        "triggered",
    )
    assert incident["title"] == "DISK at 99% on machine prod-datapipe03.example.com"
    assert (incident["impact"], incident["urgency"]) == ("high", "medium")
    assert incident["dedup_key"] == "pagerduty:checkout:srv01/mysql"
    details = incident["custom_details"]
    assert details["custom_details"] == {"free space": "1%", "ping time": "1500ms", "load avg": 0.75}
    assert (details["source"], details["component"], details["group"], details["class"]) == (
        "prod-datapipe03.example.com",
        "mysql",
        "prod-datapipe",
        "disk",
    )
    assert details["timestamp"] == "2015-07-17T08:42:58.315000+00:00"
    assert details["images"][0]["alt"] == "Example text"
    assert {"href": "https://example.com/", "text": "Link text"} in incident["links"]

    # And classification keeps the mapped impact and urgency: high × medium → P2, owned by checkout's team
    assert pipeline.deliver("classify", "classify") == {"batchItemFailures": []}
    _, classified = pipeline.api("GET", f"/incidents/{incident['reference']}")
    assert (classified["priority"], classified["team"]) == ("P2", "platform")


def test_the_same_dedup_key_counts_an_occurrence_then_acknowledge_and_resolve_act_on_it(pipeline: Pipeline) -> None:
    # Given an incident opened by a PagerDuty trigger
    enqueue(pipeline, PAGERDUTY_TRIGGER)

    # When the same dedup key triggers again
    assert enqueue(pipeline, PAGERDUTY_TRIGGER)["dedup_key"] == "srv01/mysql"

    # Then it is the same incident, seen twice
    [incident] = incidents(pipeline)
    assert (incident["reference"], incident["occurrences"]) == ("INC-1", 2)

    # When an acknowledge event arrives for the key (as PagerDuty clients send it: no payload)
    enqueue(pipeline, {"routing_key": KEY, "event_action": "acknowledge", "dedup_key": "srv01/mysql"})
    [incident] = incidents(pipeline)
    assert (incident["status"], incident["acknowledged_by"]) == ("acknowledged", "pagerduty-events")

    # And a resolve event
    enqueue(
        pipeline,
        {
            "routing_key": KEY,
            "event_action": "resolve",
            "dedup_key": "srv01/mysql",
            "client": "Sample Monitoring Service",
        },
    )
    [incident] = incidents(pipeline)
    assert (incident["status"], incident["auto_resolved"], incident["resolved_by"]) == (
        "resolved",
        True,
        "Sample Monitoring Service",
    )
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    assert [e["kind"] for e in timeline["items"] if e["kind"] in ("opened", "acknowledged", "resolved")] == [
        "opened",
        "acknowledged",
        "resolved",
    ]


def test_a_trigger_without_dedup_key_gets_a_generated_one_that_resolves_it(pipeline: Pipeline) -> None:
    event = {k: v for k, v in PAGERDUTY_TRIGGER.items() if k != "dedup_key"}
    first = enqueue(pipeline, event)["dedup_key"]
    second = enqueue(pipeline, event)["dedup_key"]
    assert first and second and first != second  # no key: every trigger is its own alert
    assert len(incidents(pipeline)) == 2

    enqueue(pipeline, {"routing_key": KEY, "event_action": "resolve", "dedup_key": first})
    assert sorted(i["status"] for i in incidents(pipeline)) == ["resolved", "triggered"]


def test_acknowledging_or_resolving_an_unknown_key_is_accepted_and_changes_nothing(pipeline: Pipeline) -> None:
    enqueue(pipeline, {"routing_key": KEY, "event_action": "resolve", "dedup_key": "never-triggered"})
    assert incidents(pipeline) == []


def test_an_unknown_routing_key_is_refused(pipeline: Pipeline) -> None:
    status, answer = pipeline.api(
        "POST", "/v2/enqueue", {**PAGERDUTY_TRIGGER, "routing_key": "R0UT1NGKEYNOBODY0000000000000000"}
    )
    assert (status, answer) == (
        400,
        {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": ["'routing_key' is not the integration key of any service"],
        },
    )
    status, answer = pipeline.api("POST", "/v1/alertmanager/R0UT1NGKEYNOBODY0000000000000000", ALERTMANAGER_FIRING)
    assert status == 404 and answer["error"] == "unknown_routing_key"
    assert answer["fields"] == [{"field": "path.routing_key", "problem": "is not the integration key of any service"}]
    assert incidents(pipeline) == []


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ("{", "'body' is not valid JSON"),
        ("", "'body' is empty"),
        ('["trigger"]', "'body' must be a JSON object"),
        (
            json.dumps({**PAGERDUTY_TRIGGER, "event_action": "escalate"}),
            "'event_action' is invalid (must be one of: trigger, acknowledge, resolve)",
        ),
        (
            json.dumps({**PAGERDUTY_TRIGGER, "payload": {**PAGERDUTY_TRIGGER["payload"], "summary": ""}}),
            "'payload.summary' is missing or blank",
        ),
        (
            json.dumps({**PAGERDUTY_TRIGGER, "payload": {**PAGERDUTY_TRIGGER["payload"], "summary": "s" * 1025}}),
            "'payload.summary' is longer than 1,024 characters",
        ),
        (
            json.dumps({**PAGERDUTY_TRIGGER, "payload": {**PAGERDUTY_TRIGGER["payload"], "severity": "fatal"}}),
            "'payload.severity' is invalid (must be one of: critical, error, warning, info)",
        ),
        (
            json.dumps(
                {
                    **PAGERDUTY_TRIGGER,
                    "payload": {**PAGERDUTY_TRIGGER["payload"], "custom_details": {"x": "y" * 70_000}},
                }
            ),
            "'payload.custom_details' is larger than 64 KiB",
        ),
        (json.dumps({"routing_key": KEY, "event_action": "resolve"}), "'dedup_key' is missing or blank"),
    ],
)
def test_invalid_events_get_pagerduty_s_400_naming_the_field(pipeline: Pipeline, raw: str, error: str) -> None:
    status, answer = pipeline.api("POST", "/v2/enqueue", raw_body=raw)
    assert status == 400
    assert (answer["status"], answer["message"]) == ("invalid event", "Event object is invalid")
    assert any(e.startswith(error) for e in answer["errors"]), answer["errors"]


def test_the_largest_event_accepted_is_stored_and_one_too_large_is_refused(pipeline: Pipeline) -> None:
    # Given an event near every limit at once: 64 KiB of custom details, a 1,024-character non-ASCII summary, links
    payload = {**PAGERDUTY_TRIGGER["payload"], "summary": "😀" * 1024, "custom_details": {"log": "x" * 65_000}}
    event = {
        **PAGERDUTY_TRIGGER,
        "payload": payload,
        "links": [{"href": "https://x.example/" + "p" * 2000, "text": "é" * 1024}] * 10,
    }
    assert len(json.dumps(event)) > 150_000  # as stored, non-ASCII escaped

    # Then it is accepted, stored and read back whole
    enqueue(pipeline, event)
    [incident] = incidents(pipeline)
    assert incident["custom_details"]["custom_details"] == {"log": "x" * 65_000}
    assert incident["title"] == "😀" * 1024 and len(incident["links"]) == 11

    # And with twice the links it would not fit on the incident: refused, naming the field, not a 500
    status, answer = pipeline.api("POST", "/v2/enqueue", {**event, "dedup_key": "other", "links": event["links"] * 2})
    assert status == 400 and answer["errors"][0].startswith("'links' is too large")
    assert len(incidents(pipeline)) == 1


# --- Alertmanager ----------------------------------------------------------------------------------------


def test_alertmanager_firing_opens_one_incident_per_alert_and_resolved_resolves_them(pipeline: Pipeline) -> None:
    # When Alertmanager posts its documented v4 webhook with two firing alerts
    status, answer = pipeline.api("POST", ALERTMANAGER_URL, ALERTMANAGER_FIRING)

    # Then it gets what happened to each, and there are two incidents for the checkout service
    assert status == 200
    assert [(a["fingerprint"], a["status"], a["outcome"]) for a in answer["alerts"]] == [
        ("5d3a0a8b4f9e6c21", "firing", "opened"),
        ("8e1f7c2d9b0a4e35", "firing", "opened"),
    ]
    by_key = {i["dedup_key"]: i for i in incidents(pipeline)}
    assert set(by_key) == {"alertmanager:checkout:5d3a0a8b4f9e6c21", "alertmanager:checkout:8e1f7c2d9b0a4e35"}
    first, second = by_key["alertmanager:checkout:5d3a0a8b4f9e6c21"], by_key["alertmanager:checkout:8e1f7c2d9b0a4e35"]
    # With labels and annotations kept, and impact/urgency from the severity label
    assert first["labels"] == ALERTMANAGER_FIRING["alerts"][0]["labels"]
    assert first["custom_details"]["annotations"] == ALERTMANAGER_FIRING["alerts"][0]["annotations"]
    assert first["title"] == "HighErrorRate: checkout-1 returns 5xx to 12% of requests"
    assert (first["source"], first["service"], first["impact"], first["urgency"]) == (
        "alertmanager",
        "checkout",
        "high",
        "high",
    )
    assert (second["impact"], second["urgency"]) == ("medium", "medium")

    # When the same group is sent again (Alertmanager's repeat), the alerts deduplicate by fingerprint
    _, answer = pipeline.api("POST", ALERTMANAGER_URL, ALERTMANAGER_FIRING)
    assert [a["outcome"] for a in answer["alerts"]] == ["deduplicated", "deduplicated"]
    assert sorted(i["occurrences"] for i in incidents(pipeline)) == [2, 2]

    # When the alerts resolve
    status, answer = pipeline.api("POST", ALERTMANAGER_URL, resolved(ALERTMANAGER_FIRING))

    # Then both incidents are resolved automatically
    assert status == 200 and [a["outcome"] for a in answer["alerts"]] == ["resolved", "resolved"]
    assert [(i["status"], i["auto_resolved"], i["resolved_by"]) for i in incidents(pipeline)] == [
        ("resolved", True, "alertmanager")
    ] * 2


def test_one_resolved_alert_in_a_firing_group_resolves_only_its_incident(pipeline: Pipeline) -> None:
    pipeline.api("POST", ALERTMANAGER_URL, ALERTMANAGER_FIRING)
    partly = copy.deepcopy(ALERTMANAGER_FIRING)
    partly["alerts"][1].update(status="resolved", endsAt="2024-05-01T10:20:12.345Z")

    _, answer = pipeline.api("POST", ALERTMANAGER_URL, partly)

    assert [a["outcome"] for a in answer["alerts"]] == ["deduplicated", "resolved"]
    statuses = {i["dedup_key"].rsplit(":", 1)[1]: i["status"] for i in incidents(pipeline)}
    assert statuses == {"5d3a0a8b4f9e6c21": "triggered", "8e1f7c2d9b0a4e35": "resolved"}


def test_sources_never_collide_on_a_key(pipeline: Pipeline) -> None:
    # The same string as a PagerDuty dedup key and as an Alertmanager fingerprint: two incidents
    enqueue(pipeline, {**PAGERDUTY_TRIGGER, "dedup_key": "5d3a0a8b4f9e6c21"})
    pipeline.api("POST", ALERTMANAGER_URL, {**ALERTMANAGER_FIRING, "alerts": ALERTMANAGER_FIRING["alerts"][:1]})
    assert sorted(i["dedup_key"] for i in incidents(pipeline)) == [
        "alertmanager:checkout:5d3a0a8b4f9e6c21",
        "pagerduty:checkout:5d3a0a8b4f9e6c21",
    ]


@pytest.mark.parametrize(
    ("raw", "status", "field"),
    [
        ("not json", 400, "body"),
        ("", 400, "body"),
        (json.dumps({**ALERTMANAGER_FIRING, "version": "3"}), 422, "body.version"),
        (json.dumps({**ALERTMANAGER_FIRING, "alerts": [{"status": "firing"}]}), 422, "body.alerts.0.labels"),
        (
            json.dumps({**ALERTMANAGER_FIRING, "alerts": [{"status": "firing", "labels": {"severity": ["critical"]}}]}),
            422,
            "body.alerts.0.labels.severity",
        ),
        (json.dumps({**ALERTMANAGER_FIRING, "alerts": ALERTMANAGER_FIRING["alerts"][:1] * 101}), 422, "body.alerts"),
    ],
)
def test_malformed_webhooks_get_a_4xx_naming_the_field(pipeline: Pipeline, raw: str, status: int, field: str) -> None:
    answered, answer = pipeline.api("POST", ALERTMANAGER_URL, raw_body=raw)
    assert answered == status
    assert field in [f["field"] for f in answer["fields"]]
    assert incidents(pipeline) == []


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(document=json_values, raw=st.none() | st.text(max_size=60))
def test_anything_malformed_on_the_wire_gets_a_4xx_never_a_500(
    pipeline: Pipeline, document: Any, raw: str | None
) -> None:
    payload = raw if raw is not None else json.dumps(document)
    status, answer = pipeline.api("POST", "/v2/enqueue", raw_body=payload)
    assert status == 400 and answer["errors"]
    status, answer = pipeline.api("POST", ALERTMANAGER_URL, raw_body=payload)
    assert status in (400, 422) and answer["fields"]


# --- PagerDuty Change Events -------------------------------------------------------------------------------


def test_a_change_event_goes_on_the_open_incidents_timeline_once_per_event(pipeline: Pipeline) -> None:
    # Given an open checkout incident
    enqueue(pipeline, PAGERDUTY_TRIGGER)
    [incident] = incidents(pipeline)

    # When a build pipeline sends PagerDuty's documented change event twice (a retry), and a later one
    for change in (CHANGE, CHANGE, {**CHANGE, "payload": {**CHANGE["payload"], "timestamp": "2020-07-17T09:00:00Z"}}):
        status, answer = pipeline.api("POST", "/v2/change/enqueue", change)
        assert (status, answer) == (202, {"status": "success", "message": "Change event processed"})

    # Then DynamoDB holds two timeline entries: the retry was recognised in the transaction (its single-use key)
    status, timeline = pipeline.api("GET", f"/incidents/{incident['incident_id']}/timeline")
    changes = [e for e in timeline["items"] if e["kind"] == "change_event"]
    assert [e["details"]["timestamp"][:19] for e in changes] == ["2020-07-17T08:42:58", "2020-07-17T09:00:00"]
    assert (
        changes[0]["message"]
        == f"Change on checkout (from {CHANGE['payload']['source']}): {CHANGE['payload']['summary']}"
    )
