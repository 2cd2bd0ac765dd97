"""PagerDuty Events API v2 and Alertmanager webhook parsing, severity rules, limits, and properties: whatever is
thrown at a parser, the answer is a clean 4xx naming a field, never an exception."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from firebell.domain import integrations as wire
from firebell.domain import wire as bounded_json
from firebell.domain.directory import FirebellConfig
from firebell.domain.enums import Impact, Source, Status, Urgency
from firebell.domain.errors import FieldProblem, InvalidJson, InvalidPayload, InvalidRequest, PayloadTooLarge
from firebell.domain.rules import ImpactUrgency, Rules, SeverityRules
from functions.api.integrations import alertmanager, enqueue
from tests.unit.conftest import World, build_world

KEY = "R0UT1NGKEYCHECKOUT0000000000DEMO"  # the checkout service's demo key in config/firebell.yaml

# PagerDuty's documented example event (developer.pagerduty.com, Events API v2 "Send an Alert Event").
PAGERDUTY_TRIGGER: dict[str, Any] = {
    "payload": {
        "summary": "DISK at 99% on machine prod-datapipe03.example.com",
        "timestamp": "2015-07-17T08:42:58.315+0000",
        "severity": "critical",
        "source": "prod-datapipe03.example.com",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
    },
    "routing_key": KEY,
    "dedup_key": "srv01/mysql",
    "event_action": "trigger",
    "client": "Sample Monitoring Service",
    "client_url": "https://monitoring.service.com",
    "images": [
        {
            "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
            "href": "https://example.com/",
            "alt": "Example text",
        }
    ],
    "links": [{"href": "https://example.com/", "text": "Link text"}],
}

# Alertmanager's webhook, version 4, as documented (prometheus.io, configuration, <webhook_config>) and sent.
ALERTMANAGER_FIRING: dict[str, Any] = {
    "version": "4",
    "groupKey": '{}:{alertname="HighErrorRate"}',
    "truncatedAlerts": 0,
    "status": "firing",
    "receiver": "firebell",
    "groupLabels": {"alertname": "HighErrorRate"},
    "commonLabels": {"alertname": "HighErrorRate", "job": "checkout"},
    "commonAnnotations": {"runbook_url": "https://runbooks.example.com/high-error-rate"},
    "externalURL": "http://alertmanager.example.com:9093",
    "alerts": [
        {
            "status": "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "instance": "checkout-1:8080",
                "job": "checkout",
                "severity": "critical",
            },
            "annotations": {
                "summary": "checkout-1 returns 5xx to 12% of requests",
                "description": "The 5xx rate has been above 5% for 5 minutes.",
                "runbook_url": "https://runbooks.example.com/high-error-rate",
            },
            "startsAt": "2024-05-01T10:00:12.345Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=job%3A5xx_rate%3E0.05&g0.tab=1",
            "fingerprint": "5d3a0a8b4f9e6c21",
        },
        {
            "status": "firing",
            "labels": {
                "alertname": "HighErrorRate",
                "instance": "checkout-2:8080",
                "job": "checkout",
                "severity": "Warning",
            },
            "annotations": {
                "summary": "checkout-2 returns 5xx to 6% of requests",
                "runbook_url": "https://runbooks.example.com/high-error-rate",
            },
            "startsAt": "2024-05-01T10:01:12.345Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=job%3A5xx_rate%3E0.05&g0.tab=1",
            "fingerprint": "8e1f7c2d9b0a4e35",
        },
    ],
}


def pd(**changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(PAGERDUTY_TRIGGER)
    event.update(changes)
    return event


def body(document: Any) -> str:
    return json.dumps(document)


def fields(invalid: pytest.ExceptionInfo[InvalidPayload]) -> list[str]:
    return [p.field for p in invalid.value.problems]


# --- PagerDuty ---------------------------------------------------------------------------------------


def test_pagerduty_documented_trigger_becomes_a_signal_with_everything_kept() -> None:
    event = wire.parse_pagerduty_event(body(PAGERDUTY_TRIGGER))
    signal, dedup_key = wire.pagerduty_signal(event, "checkout", SeverityRules())

    assert dedup_key == "srv01/mysql"
    assert signal.dedup_key == "pagerduty:checkout:srv01/mysql"  # namespaced by source and service
    assert (signal.source, signal.action, signal.service) == (Source.PAGERDUTY, "trigger", "checkout")
    assert signal.summary == "DISK at 99% on machine prod-datapipe03.example.com"
    assert (signal.impact, signal.urgency) == (Impact.HIGH, Urgency.HIGH)  # critical
    assert signal.actor == "Sample Monitoring Service"
    assert signal.custom_details == {
        "source": "prod-datapipe03.example.com",
        "severity": "critical",
        "timestamp": "2015-07-17T08:42:58.315000+00:00",
        "component": "mysql",
        "group": "prod-datapipe",
        "class": "disk",
        "client": "Sample Monitoring Service",
        "client_url": "https://monitoring.service.com",
        "images": [
            {
                "src": "https://www.pagerduty.com/wp-content/uploads/2016/05/pagerduty-logo-green.png",
                "href": "https://example.com/",
                "alt": "Example text",
            }
        ],
        "custom_details": {"free space": "1%", "ping time": "1500ms", "load avg": 0.75},
    }
    assert signal.links == [
        {"href": "https://example.com/", "text": "Link text"},
        {"href": "https://monitoring.service.com", "text": "Sample Monitoring Service"},
    ]
    assert "component: mysql" in signal.details and '"ping time": "1500ms"' in signal.details


def test_a_trigger_without_dedup_key_gets_one_generated() -> None:
    event = wire.parse_pagerduty_event(body(pd(dedup_key=None)))
    signal, dedup_key = wire.pagerduty_signal(event, "checkout", SeverityRules(), new_key=lambda: "generated-1")
    assert dedup_key == "generated-1" and signal.dedup_key == "pagerduty:checkout:generated-1"
    # the default key generator gives a fresh key each time
    assert (
        wire.pagerduty_signal(event, "checkout", SeverityRules())[1]
        != wire.pagerduty_signal(event, "checkout", SeverityRules())[1]
    )


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_acknowledge_and_resolve_need_only_the_dedup_key(action: str) -> None:
    # As pdpyras sends them: no payload at all; a payload, if any, is ignored
    for extra in ({}, {"payload": "ignored"}):
        event = wire.parse_pagerduty_event(
            body({"routing_key": KEY, "event_action": action, "dedup_key": "srv01/mysql", **extra})
        )
        signal, dedup_key = wire.pagerduty_signal(event, "checkout", SeverityRules())
        assert (signal.action, signal.dedup_key, dedup_key) == (action, "pagerduty:checkout:srv01/mysql", "srv01/mysql")
        assert signal.impact is None

    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_pagerduty_event(body({"routing_key": KEY, "event_action": action}))
    assert invalid.value.problems == [FieldProblem("dedup_key", f"is missing or blank (required to {action})")]


def test_invalid_pagerduty_events_name_every_field_at_once() -> None:
    document = pd(event_action="trigger")
    document["payload"] = {"summary": "  ", "severity": "fatal", "timestamp": "yesterday", "custom_details": {"x": 1}}
    document["links"] = [{"href": "javascript:alert(1)"}]
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_pagerduty_event(body(document))
    assert {p.field: p.problem for p in invalid.value.problems} == {
        "payload.summary": "is missing or blank",
        "payload.source": "is missing or blank",
        "payload.severity": "is invalid (must be one of: critical, error, warning, info)",
        "payload.timestamp": "must be an ISO 8601 timestamp",
        "links.0.href": "must be an http(s) URL",
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "is empty: expected a JSON object"),
        ("{not json", "is not valid JSON"),
        ('{"routing_key": NaN}', "is not valid JSON (NaN is not a JSON number)"),
        ('{"x": 1e999}', "is not valid JSON (number 1e999 is out of range)"),
        ("[1, 2]", "must be a JSON object, not an array"),
        ("[" * 50_000, "nests deeper than 32 levels"),
    ],
)
def test_bodies_that_are_not_a_json_object_are_refused_naming_the_body(text: str, problem: str) -> None:
    for parse in (wire.parse_pagerduty_event, wire.parse_alertmanager_webhook):
        with pytest.raises(InvalidPayload) as invalid:
            parse(text)
        [found] = invalid.value.problems
        assert found.field == "body" and found.problem.startswith(problem)


def test_control_characters_are_refused_naming_the_field() -> None:
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_pagerduty_event(
            '{"routing_key": "k", "event_action": "trigger", "payload": {"summary": "a\\u0000b"}}'
        )
    assert fields(invalid) == ["payload.summary"]
    assert bounded_json.decode_json('{"text": "tab\\tand\\nnew line"}', 1024) == {"text": "tab\tand\nnew line"}


def test_text_that_is_not_unicode_is_refused_naming_the_field() -> None:
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_pagerduty_event('{"routing_key": "\\ud800"}')
    assert fields(invalid) == ["routing_key"]
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_pagerduty_event(b'{"routing_key": "\xff"}')
    assert fields(invalid) == ["body"]


# --- limits -------------------------------------------------------------------------------------------


def _payload(**changes: Any) -> dict[str, Any]:
    document = pd()
    document["payload"] = {**document["payload"], **changes}
    return document


@pytest.mark.parametrize(
    ("at_limit", "over_limit", "field"),
    [
        (_payload(summary="s" * 1024), _payload(summary="s" * 1025), "payload.summary"),
        (_payload(source="s" * 1024), _payload(source="s" * 1025), "payload.source"),
        # The limit counts the string as sent, as the schema says, not what is left after stripping it.
        (_payload(summary="\t" + "s" * 1023), _payload(summary="\t" + "s" * 1024), "payload.summary"),
        (_payload(component="c" * 1024), _payload(component="c" * 1025), "payload.component"),
        (
            _payload(custom_details="d" * (65_536 - 2)),
            _payload(custom_details="d" * (65_536 - 1)),
            "payload.custom_details",
        ),
        (
            _payload(custom_details={"k": "é" * ((65_536 - 8) // 2)}),
            _payload(custom_details={"k": "é" * ((65_536 - 7) // 2 + 1)}),
            "payload.custom_details",
        ),
        (pd(dedup_key="k" * 255), pd(dedup_key="k" * 256), "dedup_key"),
        (pd(routing_key="k" * 64), pd(routing_key="k" * 65), "routing_key"),
        (pd(links=[{"href": "https://x.example/"}] * 20), pd(links=[{"href": "https://x.example/"}] * 21), "links"),
        (
            pd(images=[{"src": "https://x.example/i.png"}] * 20),
            pd(images=[{"src": "https://x.example/i.png"}] * 21),
            "images",
        ),
        (
            pd(links=[{"href": "https://x.example/" + "p" * 2030}]),
            pd(links=[{"href": "https://x.example/" + "p" * 2031}]),
            "links.0.href",
        ),
    ],
)
def test_pagerduty_limits(at_limit: dict, over_limit: dict, field: str) -> None:
    wire.parse_pagerduty_event(body(at_limit))
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_pagerduty_event(body(over_limit))
    assert fields(invalid) == [field]


def test_oversized_bodies_are_refused_before_parsing() -> None:
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_pagerduty_event("x" * (wire.PAGERDUTY_MAX_BODY_BYTES + 1))
    assert (type(invalid.value), fields(invalid)) == (PayloadTooLarge, ["body"])
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_alertmanager_webhook(b" " * (wire.ALERTMANAGER_MAX_BODY_BYTES + 1))
    assert (type(invalid.value), fields(invalid)) == (PayloadTooLarge, ["body"])


def _am(**alert_changes: Any) -> dict[str, Any]:
    document = copy.deepcopy(ALERTMANAGER_FIRING)
    document["alerts"][0].update(alert_changes)
    return document


@pytest.mark.parametrize(
    ("at_limit", "over_limit", "field"),
    [
        (
            {**ALERTMANAGER_FIRING, "alerts": ALERTMANAGER_FIRING["alerts"][:1] * 100},
            {**ALERTMANAGER_FIRING, "alerts": ALERTMANAGER_FIRING["alerts"][:1] * 101},
            "alerts",
        ),
        (_am(labels={"alertname": "v" * 1024}), _am(labels={"alertname": "v" * 1025}), "alerts.0.labels.alertname"),
        (
            _am(labels={f"l{i}": "v" for i in range(128)}),
            _am(labels={f"l{i}": "v" for i in range(129)}),
            "alerts.0.labels",
        ),
        (
            _am(annotations={"description": "d" * (65_536 - 18)}),
            _am(annotations={"description": "d" * (65_536 - 17)}),
            "alerts.0.annotations",
        ),
        (_am(fingerprint="f" * 128), _am(fingerprint="f" * 129), "alerts.0.fingerprint"),
        (
            _am(annotations={"summary": "s" * 1024}),
            _am(annotations={"summary": "s" * 1025}),
            "alerts.0.annotations.summary",
        ),
        (_am(annotations={"title": "s" * 1024}), _am(annotations={"title": "s" * 1025}), "alerts.0.annotations.title"),
    ],
)
def test_alertmanager_limits(at_limit: dict, over_limit: dict, field: str) -> None:
    wire.parse_alertmanager_webhook(body(at_limit))
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_alertmanager_webhook(body(over_limit))
    assert fields(invalid) == [field]


# --- Alertmanager --------------------------------------------------------------------------------------


def test_alertmanager_documented_webhook_becomes_one_signal_per_alert() -> None:
    webhook = wire.parse_alertmanager_webhook(body(ALERTMANAGER_FIRING))
    first, second = wire.alertmanager_signals(webhook, "checkout", SeverityRules())

    assert (first.source, first.action, first.service, first.actor) == (
        Source.ALERTMANAGER,
        "trigger",
        "checkout",
        "alertmanager",
    )
    assert first.dedup_key == "alertmanager:checkout:5d3a0a8b4f9e6c21"
    assert second.dedup_key == "alertmanager:checkout:8e1f7c2d9b0a4e35"
    assert first.summary == "HighErrorRate: checkout-1 returns 5xx to 12% of requests"
    assert first.details.startswith("The 5xx rate has been above 5% for 5 minutes.")
    # labels kept as labels, annotations and the rest in custom details
    assert first.labels == ALERTMANAGER_FIRING["alerts"][0]["labels"]
    assert first.custom_details["annotations"] == ALERTMANAGER_FIRING["alerts"][0]["annotations"]
    assert first.custom_details["startsAt"] == "2024-05-01T10:00:12.345000+00:00"
    assert "endsAt" not in first.custom_details  # 0001-01-01: not ended
    assert first.custom_details["groupKey"] == '{}:{alertname="HighErrorRate"}'
    assert [link["text"] for link in first.links] == ["Source (generator URL)", "Alertmanager"]
    # severity label (any case) → impact and urgency
    assert (first.impact, first.urgency) == (Impact.HIGH, Urgency.HIGH)
    assert (second.impact, second.urgency) == (Impact.MEDIUM, Urgency.MEDIUM)


def test_resolved_alerts_resolve_by_the_same_key() -> None:
    resolved = copy.deepcopy(ALERTMANAGER_FIRING)
    resolved["status"] = "resolved"
    for alert in resolved["alerts"]:
        alert.update(status="resolved", endsAt="2024-05-01T10:20:12.345Z")
    signals = wire.alertmanager_signals(wire.parse_alertmanager_webhook(body(resolved)), "checkout", SeverityRules())
    assert [s.action for s in signals] == ["resolve", "resolve"]
    assert signals[0].dedup_key == "alertmanager:checkout:5d3a0a8b4f9e6c21"
    assert signals[0].details == "Alertmanager reports it resolved at 2024-05-01T10:20:12.345000+00:00"


def test_alerts_without_fingerprint_are_keyed_by_their_label_set() -> None:
    # Older Alertmanagers send no fingerprint; null common annotations and relative generator URLs happen too
    one = _am(fingerprint=None, generatorURL="/graph?g0.expr=up", labels={"alertname": "Down", "instance": "a"})
    one["commonAnnotations"] = None
    other = _am(fingerprint=None, labels={"instance": "a", "alertname": "Down"})
    [a, _] = wire.alertmanager_signals(wire.parse_alertmanager_webhook(body(one)), "checkout", SeverityRules())
    [b, _] = wire.alertmanager_signals(wire.parse_alertmanager_webhook(body(other)), "checkout", SeverityRules())
    assert a.dedup_key == b.dedup_key and a.dedup_key.startswith("alertmanager:checkout:labels-")
    assert [link["text"] for link in a.links] == ["Alertmanager"]
    assert a.summary == "Down: checkout-1 returns 5xx to 12% of requests"


def test_an_alert_with_no_name_or_summary_still_has_a_title() -> None:
    document = _am(labels={"job": "x"}, annotations={})
    [signal, _] = wire.alertmanager_signals(
        wire.parse_alertmanager_webhook(body(document)), "checkout", SeverityRules()
    )
    assert signal.summary == "Alertmanager alert 5d3a0a8b4f9e6c21"


def test_invalid_alertmanager_webhooks_name_the_field() -> None:
    document = copy.deepcopy(ALERTMANAGER_FIRING)
    document["version"] = "3"
    document["alerts"][0]["status"] = "pending"
    document["alerts"][0]["labels"]["severity"] = 2
    del document["alerts"][1]["labels"]
    with pytest.raises(InvalidPayload) as invalid:
        wire.parse_alertmanager_webhook(body(document))
    assert {p.field: p.problem for p in invalid.value.problems} == {
        "version": "is invalid (must be one of: 4)",
        "alerts.0.status": "is invalid (must be one of: firing, resolved)",
        "alerts.0.labels.severity": "must be a string",
        "alerts.1.labels": "is missing",
    }


# --- severity rules (data) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("severity", "impact", "urgency"),
    [
        ("critical", "high", "high"),
        ("error", "high", "medium"),
        ("warning", "medium", "medium"),
        ("info", "low", "low"),
    ],
)
def test_pagerduty_severity_maps_by_the_shipped_rules(
    shipped_config: FirebellConfig, severity: str, impact: str, urgency: str
) -> None:
    event = wire.parse_pagerduty_event(body(_payload(severity=severity)))
    signal, _ = wire.pagerduty_signal(event, "checkout", shipped_config.rules.severity)
    assert (signal.impact, signal.urgency) == (impact, urgency)


def test_alertmanager_severity_label_value_or_default(shipped_config: FirebellConfig) -> None:
    rules = shipped_config.rules.severity
    assert rules.for_alertmanager({"severity": " CRITICAL "}) == ImpactUrgency(impact="high", urgency="high")
    assert rules.for_alertmanager({"severity": "page"}) == rules.alertmanager.default
    assert rules.for_alertmanager({}) == ImpactUrgency(impact="medium", urgency="medium")


def test_severity_rules_are_data(shipped_config: FirebellConfig) -> None:
    data = shipped_config.rules.model_dump(mode="json")
    data["severity"] = {
        "pagerduty": {**data["severity"]["pagerduty"], "info": {"impact": "medium", "urgency": "high"}},
        "alertmanager": {"label": "priority", "values": {"P1": {"impact": "high", "urgency": "high"}}, "default": None},
    }
    rules = Rules.model_validate(data).severity
    event = wire.parse_pagerduty_event(body(_payload(severity="info")))
    assert wire.pagerduty_signal(event, "checkout", rules)[0].urgency == Urgency.HIGH
    assert rules.for_alertmanager({"priority": "p1"}) == ImpactUrgency(impact="high", urgency="high")
    # default null: the category rules decide
    [signal, _] = wire.alertmanager_signals(
        wire.parse_alertmanager_webhook(body(ALERTMANAGER_FIRING)), "checkout", rules
    )
    assert (signal.impact, signal.urgency) == (None, None)


def test_severity_rules_are_validated(shipped_config: FirebellConfig) -> None:
    data = shipped_config.rules.model_dump(mode="json")
    incomplete = {**data, "severity": {"pagerduty": {"critical": {"impact": "high", "urgency": "high"}}}}
    with pytest.raises(ValidationError, match=r"pagerduty lacks severities \['error', 'warning', 'info'\]"):
        Rules.model_validate(incomplete)
    twice = {
        **data,
        "severity": {
            "alertmanager": {
                "values": {"High": {"impact": "high", "urgency": "high"}, "high": {"impact": "high", "urgency": "low"}}
            }
        },
    }
    with pytest.raises(ValidationError, match="listed twice"):
        Rules.model_validate(twice)
    unknown = {
        **data,
        "severity": {"pagerduty": {**data["severity"]["pagerduty"], "fatal": {"impact": "high", "urgency": "high"}}},
    }
    with pytest.raises(ValidationError, match=r"severity\.pagerduty\.fatal"):
        Rules.model_validate(unknown)
    assert shipped_config.rules.severity == SeverityRules()  # config/rules.yaml says what the defaults say


# --- the routes' answers, over the fakes ----------------------------------------------------------------


def answer_pd(world: World, document: Any, raw: str | bytes | None = None) -> tuple[int, dict]:
    # As the local runtime loads config, so that the demo KEY is accepted (tests/integration: refused in AWS).
    local = world.config.accepting_demo_keys()
    return enqueue(raw if raw is not None else body(document), lambda: local, lambda: world.service)


def answer_am(world: World, document: Any, key: str = KEY, raw: str | bytes | None = None) -> tuple[int, dict]:
    local = world.config.accepting_demo_keys()
    return alertmanager(key, raw if raw is not None else body(document), lambda: local, lambda: world.service)


def test_enqueue_answers_as_pagerduty_does(world: World) -> None:
    status, answer = answer_pd(world, PAGERDUTY_TRIGGER)
    assert (status, answer) == (202, {"status": "success", "message": "Event processed", "dedup_key": "srv01/mysql"})
    [incident] = world.store.all_incidents()
    assert (incident.source, incident.service, incident.impact, incident.urgency) == (
        "pagerduty_events",
        "checkout",
        "high",
        "high",
    )

    status, answer = answer_pd(world, {**PAGERDUTY_TRIGGER, "routing_key": "UNKNOWNKEY0000000000000000000000"})
    assert (status, answer) == (
        400,
        {
            "status": "invalid event",
            "message": "Event object is invalid",
            "errors": ["'routing_key' is not the integration key of any service"],
        },
    )

    status, answer = answer_pd(world, {"routing_key": KEY, "event_action": "resolve", "dedup_key": "srv01/mysql"})
    assert status == 202 and world.store.all_incidents()[0].status == Status.RESOLVED


def test_alertmanager_answers_per_alert(world: World) -> None:
    status, answer = answer_am(world, ALERTMANAGER_FIRING)
    assert status == 200 and [a["outcome"] for a in answer["alerts"]] == ["opened", "opened"]
    assert answer["alerts"][0]["fingerprint"] == "5d3a0a8b4f9e6c21" and answer["service"] == "checkout"
    assert len(world.store.all_incidents()) == 2

    status, answer = answer_am(world, ALERTMANAGER_FIRING, key="UNKNOWNKEY0000000000000000000000")
    assert status == 404 and answer["fields"] == [
        {"field": "path.routing_key", "problem": "is not the integration key of any service"}
    ]
    assert answer_am(world, None, key="k" * 10_000)[0] == 404

    status, answer = answer_am(world, None, raw="{")
    assert (status, answer["error"], answer["fields"][0]["field"]) == (400, "invalid_json", "body")
    status, answer = answer_am(world, {**ALERTMANAGER_FIRING, "alerts": "none"})
    assert (status, answer["error"], answer["fields"]) == (
        422,
        "validation_failed",
        [{"field": "body.alerts", "problem": "must be an array"}],
    )
    status, answer = answer_am(world, None, raw=" " * (wire.ALERTMANAGER_MAX_BODY_BYTES + 1))
    assert (status, answer["error"]) == (413, "payload_too_large")


# --- properties: malformed payloads get a clean 4xx naming a field ------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
not_strings = json_values.filter(lambda v: not isinstance(v, str))
not_objects = json_values.filter(lambda v: not isinstance(v, dict))
not_arrays = json_values.filter(lambda v: not isinstance(v, list))
junk_text = st.text(min_size=1, max_size=12).filter(lambda t: t.strip())

PROPERTY = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)


def assert_clean_rejection(parse, raw: Any) -> list[FieldProblem]:
    """The parser either accepts, or raises InvalidPayload with at least one named field: nothing else."""
    try:
        parse(raw)
    except InvalidPayload as invalid:
        assert isinstance(invalid, InvalidJson | PayloadTooLarge | InvalidRequest)
        assert invalid.problems
        for problem in invalid.problems:
            assert isinstance(problem.field, str) and problem.field
            assert isinstance(problem.problem, str) and problem.problem
        return invalid.problems
    return []


PARSERS = [wire.parse_pagerduty_event, wire.parse_alertmanager_webhook]


@PROPERTY
@given(document=json_values, parse=st.sampled_from(PARSERS))
def test_random_json_is_refused_cleanly(document: Any, parse) -> None:
    assert assert_clean_rejection(parse, json.dumps(document))


@PROPERTY
@given(raw=st.binary(max_size=200) | st.text(max_size=200), parse=st.sampled_from(PARSERS))
def test_random_bytes_and_text_are_refused_cleanly(raw: bytes | str, parse) -> None:
    assert_clean_rejection(parse, raw)


def _set(document: dict, path: tuple, value: Any) -> dict:
    target = document
    for part in path[:-1]:
        target = target[part]
    if value is _DELETE:
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return document


_DELETE = object()

# Each field of a PagerDuty event with what makes it wrong: missing (required), wrong type, too long, not in the enum.
PD_FIELDS: list[tuple[tuple, bool, st.SearchStrategy, int | None, bool]] = [
    # path, required, wrong types, max length, enum
    (("routing_key",), True, not_strings, 64, False),
    (("event_action",), True, not_strings, None, True),
    (("dedup_key",), False, not_strings.filter(lambda v: v is not None), 255, False),
    (("payload",), True, not_objects, None, False),
    (("payload", "summary"), True, not_strings, 1024, False),
    (("payload", "source"), True, not_strings, 1024, False),
    (("payload", "severity"), True, not_strings, None, True),
    (("payload", "component"), False, not_strings.filter(lambda v: v is not None), 1024, False),
    (("payload", "group"), False, not_strings.filter(lambda v: v is not None), 1024, False),
    (("payload", "class"), False, not_strings.filter(lambda v: v is not None), 1024, False),
    (("payload", "timestamp"), False, not_strings.filter(lambda v: v is not None), None, False),
    (("links",), False, not_arrays.filter(lambda v: v is not None), None, False),
    (("images",), False, not_arrays.filter(lambda v: v is not None), None, False),
    (("client",), False, not_strings.filter(lambda v: v is not None), 1024, False),
    (("links", 0, "href"), True, not_strings, None, False),
    (("images", 0, "src"), True, not_strings, None, False),
]


@st.composite
def broken(draw: st.DrawFn, valid: dict, catalogue: list) -> tuple[dict, str]:
    path, required, wrong_types, max_length, enum = draw(st.sampled_from(catalogue))
    kinds = ["type"] + (["missing"] if required else []) + (["long"] if max_length else []) + (["enum"] if enum else [])
    kind = draw(st.sampled_from(kinds))
    if kind == "missing":
        value = _DELETE
    elif kind == "type":
        value = draw(wrong_types)
    elif kind == "long":
        value = "x" * (max_length + draw(st.integers(1, 100)))
    else:
        value = draw(junk_text)
        assume(
            value.strip().lower()
            not in (
                "trigger",
                "acknowledge",
                "resolve",
                "critical",
                "error",
                "warning",
                "info",
                "4",
                "firing",
                "resolved",
            )
        )
    return _set(copy.deepcopy(valid), path, value), ".".join(str(p) for p in path)


@PROPERTY
@given(case=broken(PAGERDUTY_TRIGGER, PD_FIELDS))
def test_every_broken_pagerduty_field_is_named(case: tuple[dict, str]) -> None:
    document, field = case
    problems = assert_clean_rejection(wire.parse_pagerduty_event, json.dumps(document))
    assert any(p.field == field or p.field.startswith(field + ".") for p in problems), (field, problems)


AM_FIELDS: list[tuple[tuple, bool, st.SearchStrategy, int | None, bool]] = [
    (("version",), True, not_strings, None, True),
    (("status",), True, not_strings, None, True),
    (("alerts",), True, not_arrays, None, False),
    (("receiver",), False, not_strings.filter(lambda v: v is not None), 1024, False),
    (("groupKey",), False, not_strings.filter(lambda v: v is not None), 4096, False),
    (("externalURL",), False, not_strings.filter(lambda v: v is not None), 2048, False),
    (
        ("truncatedAlerts",),
        False,
        st.text(max_size=5)
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.lists(st.integers(), max_size=2)
        | st.integers(max_value=-1),
        None,
        False,
    ),
    (("groupLabels",), False, not_objects.filter(lambda v: v is not None), None, False),
    (
        ("commonLabels",),
        False,
        st.dictionaries(st.text(min_size=1, max_size=5), not_strings, min_size=1, max_size=3),
        None,
        False,
    ),
    (("alerts", 0), False, not_objects, None, False),
    (("alerts", 0, "status"), True, not_strings, None, True),
    (("alerts", 0, "labels"), True, not_objects, None, False),
    (("alerts", 0, "labels", "severity"), False, not_strings, 1024, False),
    (("alerts", 0, "annotations", "summary"), False, not_strings, 1024, False),
    (
        ("alerts", 0, "startsAt"),
        False,
        not_strings.filter(lambda v: v is not None) | junk_text.filter(lambda t: not any(c.isdigit() for c in t)),
        None,
        False,
    ),
    (("alerts", 0, "fingerprint"), False, not_strings.filter(lambda v: v is not None), 128, False),
    (("alerts", 0, "generatorURL"), False, not_strings.filter(lambda v: v is not None), 2048, False),
]


@PROPERTY
@given(case=broken(ALERTMANAGER_FIRING, AM_FIELDS))
def test_every_broken_alertmanager_field_is_named(case: tuple[dict, str]) -> None:
    document, field = case
    problems = assert_clean_rejection(wire.parse_alertmanager_webhook, json.dumps(document))
    assert any(p.field == field or p.field.startswith(field + ".") for p in problems), (field, problems)


@PROPERTY
@given(document=json_values | broken(PAGERDUTY_TRIGGER, PD_FIELDS).map(lambda case: case[0]))
def test_enqueue_answers_4xx_as_pagerduty_for_anything_malformed(shipped_config: FirebellConfig, document: Any) -> None:
    world = build_world(shipped_config)
    status, answer = answer_pd(world, document)
    assert status == 400
    assert answer["status"] == "invalid event" and answer["message"] == "Event object is invalid"
    assert answer["errors"] and all(error.startswith("'") and "' " in error for error in answer["errors"])
    assert world.store.all_incidents() == []


@PROPERTY
@given(document=json_values | broken(ALERTMANAGER_FIRING, AM_FIELDS).map(lambda case: case[0]))
def test_the_alertmanager_route_answers_4xx_for_anything_malformed(
    shipped_config: FirebellConfig, document: Any
) -> None:
    world = build_world(shipped_config)
    status, answer = answer_am(world, document)
    assert status in (400, 413, 422)
    assert answer["error"] in ("invalid_json", "validation_failed", "payload_too_large")
    assert answer["fields"] and all(f["field"].startswith("body") and f["problem"] for f in answer["fields"])
    assert world.store.all_incidents() == []


# --- what fits on an incident ---------------------------------------------------------------------------


def test_an_event_too_big_to_store_is_refused_naming_its_biggest_field(world: World) -> None:
    # Every field within its own limit, but non-ASCII text is stored escaped: together they would not fit
    big_details = _payload(custom_details={"k": "😀" * 16_382})
    assert wire._json_bytes(big_details["payload"]["custom_details"]) == 65_536
    with pytest.raises(InvalidPayload) as invalid:
        wire.pagerduty_signal(wire.parse_pagerduty_event(body(big_details)), "checkout", SeverityRules())
    assert (type(invalid.value), fields(invalid)) == (PayloadTooLarge, ["payload.custom_details"])

    many_links = pd(links=[{"href": "https://x.example/", "text": "😀" * 1024}] * 20)
    status, answer = answer_pd(world, many_links)
    assert status == 400 and answer["errors"][0].startswith("'links' is too large")

    labels = {f"label{i}": "😀" * 1024 for i in range(128)}
    status, answer = answer_am(world, _am(labels=labels))
    assert status == 413 and answer["fields"][0]["field"] == "body.alerts.0.labels"
    assert world.store.all_incidents() == []


printable = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=300)


@st.composite
def well_typed_pagerduty(draw: st.DrawFn) -> dict[str, Any]:
    """Right types everywhere, any text and sizes: accepted, or refused cleanly, never an error."""
    payload = {
        "summary": draw(printable),
        "source": draw(printable),
        "severity": draw(st.sampled_from(["critical", "error", "warning", "info"])),
    }
    for name in ("component", "group", "class"):
        if draw(st.booleans()):
            payload[name] = draw(printable)
    if draw(st.booleans()):
        payload["custom_details"] = draw(json_values)
    document: dict[str, Any] = {
        "routing_key": KEY,
        "event_action": draw(st.sampled_from(["trigger", "trigger", "acknowledge", "resolve"])),
        "payload": payload,
    }
    if draw(st.booleans()):
        document["dedup_key"] = draw(st.text(max_size=255))
    if draw(st.booleans()):
        document["links"] = draw(
            st.lists(
                st.fixed_dictionaries({"href": printable.map(lambda t: "https://" + t[:2000]), "text": printable}),
                max_size=20,
            )
        )
    if draw(st.booleans()):
        document["client"] = draw(printable)
    return document


@st.composite
def well_typed_alertmanager(draw: st.DrawFn) -> dict[str, Any]:
    names = st.text(st.characters(exclude_categories=["Cs"]), min_size=1, max_size=40)
    alert = st.fixed_dictionaries(
        {"status": st.sampled_from(["firing", "resolved"]), "labels": st.dictionaries(names, printable, max_size=8)},
        optional={
            "annotations": st.dictionaries(
                st.sampled_from(["summary", "title", "description", "message", "runbook_url"]) | names,
                printable,
                max_size=5,
            ),
            "fingerprint": printable.map(lambda t: t[:128]),
            "generatorURL": printable,
            "startsAt": st.datetimes(timezones=st.just(__import__("datetime").UTC)).map(lambda d: d.isoformat()),
            "endsAt": st.sampled_from(
                ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59-01:00", "2024-05-01T10:20:12.345Z"]
            ),
        },
    )
    return {
        "version": "4",
        "status": draw(st.sampled_from(["firing", "resolved"])),
        "alerts": draw(st.lists(alert, max_size=4)),
        "receiver": draw(printable),
        "groupKey": draw(printable),
        "externalURL": draw(printable),
        "commonAnnotations": None,
    }


@PROPERTY
@given(document=well_typed_pagerduty())
def test_well_typed_pagerduty_events_are_accepted_or_refused_cleanly(
    shipped_config: FirebellConfig, document: dict
) -> None:
    status, answer = answer_pd(build_world(shipped_config), document)
    assert status in (202, 400), answer
    if status == 400:
        assert answer["errors"] and all(error.startswith("'") for error in answer["errors"])


@PROPERTY
@given(document=well_typed_alertmanager())
def test_well_typed_alertmanager_webhooks_are_accepted_or_refused_cleanly(
    shipped_config: FirebellConfig, document: dict
) -> None:
    world = build_world(shipped_config)
    status, answer = answer_am(world, document)
    assert status in (200, 400, 413, 422), answer
    if status == 400:  # well-typed, but text with a control character (wire.py refuses those, naming the field)
        assert all("control character" in f["problem"] for f in answer["fields"]), answer
    if status == 200:
        assert len(answer["alerts"]) == len(document["alerts"])
        opened = [a for a in answer["alerts"] if a["outcome"] == "opened"]
        assert len(world.store.all_incidents()) == len({a["fingerprint"] for a in opened})
