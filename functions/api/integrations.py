"""Monitoring-tool integrations on the wire: PagerDuty Events API v2 (/v2/enqueue, /v2/change/enqueue) and the Prometheus
Alertmanager webhook (/v1/alertmanager/<routing key>). Included by app.py.

Both routes are public (infra/topology.py): the routing key, an integration key of one service, is the
credential; the directory knows it by its hash (`service_for_routing_key`, which refuses demo keys outside the
local runtime: 403). Parsing is in domain/integrations.py; what happens to each alert is AlertIntake.handle_signal.
The answers here never raise for a malformed payload: it gets a 4xx JSON body naming the field.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse

from firebell import wiring
from firebell.domain import integrations, wire
from firebell.domain.change_events import ChangeEvent, parse_change_event
from firebell.domain.directory import FirebellConfig
from firebell.domain.errors import FieldProblem, InvalidPayload, UnknownRoutingKey, http_answer, http_body
from firebell.domain.routing_keys import fingerprint
from firebell.usecases.change_events import ChangeEvents
from firebell.usecases.intake import AlertIntake

if __package__:
    from .openapi import request_body
else:  # Lambda: this folder is the asset's root
    from openapi import request_body

router = Router()
logger = Logger(child=True)

PAGERDUTY_REJECTION = {
    "type": "object",
    "required": ["status", "message", "errors"],
    "properties": {
        "status": {"type": "string", "const": "invalid event"},
        "message": {"type": "string"},
        "errors": {"type": "array", "items": {"type": "string"}},
    },
}
# Both /v2 routes refuse as PagerDuty does.
PAGERDUTY_REFUSALS: dict[int, OpenAPIResponse] = {
    400: {
        "description": "Invalid event, or unknown routing_key (PagerDuty's own answer format)",
        "content": {"application/json": {"schema": PAGERDUTY_REJECTION}},
    },
    403: {"description": "A demo routing key, outside the local runtime"},
}
PAGERDUTY_EVENT = {
    "allOf": [{"$ref": "#/components/schemas/PagerDutyEnvelope"}],
    "properties": {
        "payload": {
            "$ref": "#/components/schemas/PagerDutyPayload",
            "description": "Required for trigger; acknowledge and resolve ignore it",
        }
    },
}

Answer = tuple[int, dict[str, Any]]

# --- PagerDuty Events API v2 ---------------------------------------------------------------------------


def pagerduty_rejection(problems: list[FieldProblem]) -> Answer:
    """PagerDuty's own answer to an invalid event (always 400, whatever the problem: clients built for PagerDuty
    expect exactly this), each error naming its field. The one refusal not answered from domain/errors.py's table."""
    return HTTPStatus.BAD_REQUEST, {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": [f"'{p.field}' {p.problem}" for p in problems],
    }


def enqueue(
    body: bytes | str | None, config: Callable[[], FirebellConfig], service: Callable[[], AlertIntake]
) -> Answer:
    """POST /v2/enqueue: 202 with the dedup key, as PagerDuty answers."""
    try:
        event = integrations.parse_pagerduty_event(body)
    except InvalidPayload as invalid:
        return pagerduty_rejection(invalid.problems)
    current = config()
    owner = current.directory.service_for_routing_key(event.envelope.routing_key)
    if owner is None:
        return pagerduty_rejection([FieldProblem("routing_key", "is not the integration key of any service")])
    try:
        signal, dedup_key = integrations.pagerduty_signal(event, owner.id, current.rules.severity)
    except InvalidPayload as invalid:
        return pagerduty_rejection(invalid.problems)
    outcome, incident_id = service().handle_signal(signal)
    logger.info(
        "PagerDuty event",
        extra={
            "service": owner.id,
            "routing_key": fingerprint(event.envelope.routing_key),
            "action": signal.action,
            "outcome": outcome.value,
            "incident_id": incident_id,
        },
    )
    return HTTPStatus.ACCEPTED, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def change_enqueue(
    body: bytes | str | None, config: Callable[[], FirebellConfig], service: Callable[[], ChangeEvents]
) -> Answer:
    """POST /v2/change/enqueue: 202 as PagerDuty answers; the change goes on the timeline of the service's open incidents."""
    try:
        event = parse_change_event(body)
    except InvalidPayload as invalid:
        return pagerduty_rejection(invalid.problems)
    owner = config().directory.service_for_routing_key(event.routing_key)
    if owner is None:
        return pagerduty_rejection([FieldProblem("routing_key", "is not the integration key of any service")])
    recorded = service().record(event, owner.id)
    logger.info(
        "PagerDuty change event",
        extra={
            "service": owner.id,
            "recorded_on": recorded.on,
            "already_on": recorded.already,
            "skipped": recorded.skipped,
        },
    )
    return HTTPStatus.ACCEPTED, {"status": "success", "message": "Change event processed"}


# --- Prometheus Alertmanager webhook ---------------------------------------------------------------------


def _refusal(error: Exception) -> Answer:
    answer = http_answer(error)
    assert answer is not None, error  # only errors with a row in domain/errors.py's table come here
    return answer.status, http_body(error, answer)


def alertmanager_rejection(invalid: InvalidPayload) -> Answer:
    """firebell's API error format and statuses (domain/errors.py), fields named body.<path> as for every other route."""
    problems = [FieldProblem(p.field if p.field == "body" else f"body.{p.field}", p.problem) for p in invalid.problems]
    names = ", ".join(p.field for p in problems)
    return _refusal(type(invalid)(f"invalid Alertmanager webhook: {names}", problems))


def alertmanager(
    routing_key: str, body: bytes | str | None, config: Callable[[], FirebellConfig], service: Callable[[], AlertIntake]
) -> Answer:
    """POST /v1/alertmanager/<routing key>: 200 with what happened to each alert."""
    current = config()
    owner = current.directory.service_for_routing_key(routing_key) if len(routing_key) <= wire.MAX_ROUTING_KEY else None
    if owner is None:
        return _refusal(UnknownRoutingKey())
    try:
        webhook = integrations.parse_alertmanager_webhook(body)
        signals = integrations.alertmanager_signals(webhook, owner.id, current.rules.severity)
    except InvalidPayload as invalid:
        return alertmanager_rejection(invalid)
    results = []
    for alert, signal in zip(webhook.alerts, signals, strict=True):
        outcome, incident_id = service().handle_signal(signal)
        results.append(
            {"fingerprint": alert.key(), "status": alert.status, "outcome": outcome.value, "incident_id": incident_id}
        )
    logger.info(
        "Alertmanager webhook", extra={"service": owner.id, "routing_key": fingerprint(routing_key), "alerts": results}
    )
    return HTTPStatus.OK, {
        "status": "success",
        "service": owner.id,
        "alerts": results,
        "truncated_alerts": webhook.truncatedAlerts,
    }


# --- routes ---------------------------------------------------------------------------------------------


def _raw_body() -> bytes | str | None:
    event = router.current_event
    if event.is_base64_encoded and event.body:
        try:
            return base64.b64decode(event.body, validate=True)
        except (binascii.Error, ValueError):
            return b"\xff"  # not UTF-8: refused as not JSON
    return event.body


def _respond(answer: Answer) -> Response[dict[str, Any]]:
    status, body = answer
    return Response(status_code=int(status), content_type="application/json", body=body)


@router.post(
    "/v2/enqueue",
    summary="PagerDuty Events API v2: trigger, acknowledge or resolve an alert (docs/integrations.md)",
    responses={202: {"description": "Event processed"}, **PAGERDUTY_REFUSALS},
)
@request_body(
    PAGERDUTY_EVENT,
    {
        "routing_key": "R0UT1NGKEY0000000000000000000001",
        "event_action": "trigger",
        "dedup_key": "disk-full-db-1",
        "payload": {"summary": "Disk 95% full on db-1", "source": "db-1", "severity": "critical"},
    },
    "A PagerDuty Events API v2 event, as PagerDuty's own clients send it",
    models=(integrations.PagerDutyEnvelope, integrations.PagerDutyPayload),
)
def pagerduty_enqueue() -> Response[dict[str, Any]]:
    """Accepts the events PagerDuty's Events API v2 accepts, and answers as it does (202 with the dedup key;
    400 {status, message, errors} for an invalid event). A trigger opens an incident on the routing key's
    service, or repeats the open one with the same dedup_key; acknowledge and resolve act on that incident."""
    return _respond(enqueue(_raw_body(), wiring.effective_config, wiring.intake))


@router.post(
    "/v2/change/enqueue",
    summary="PagerDuty Change Events: a deploy or config change, put on the timeline of the service's open incidents",
    responses={202: {"description": "Change event processed"}, **PAGERDUTY_REFUSALS},
)
@request_body(
    ChangeEvent,
    {
        "routing_key": "R0UT1NGKEY0000000000000000000001",
        "payload": {
            "summary": "Deployed checkout v2.4.1",
            "source": "ci-pipeline",
            "timestamp": "2026-12-01T10:00:00Z",
            "custom_details": {"commit": "9f3c2ab"},
        },
        "links": [{"href": "https://ci.example.com/build/812", "text": "Build 812"}],
    },
    "A PagerDuty Change Event, as PagerDuty's own clients send it",
)
def pagerduty_change_enqueue() -> Response[dict[str, Any]]:
    """Accepted as PagerDuty accepts change events (202); each open incident of the routing key's service gets the
    change on its timeline. Pages nobody, opens nothing."""
    return _respond(change_enqueue(_raw_body(), wiring.effective_config, wiring.change_events))


@router.post(
    "/v1/alertmanager/<routing_key>",
    summary="Prometheus Alertmanager webhook (version 4): firing alerts open or repeat, resolved ones resolve",
    responses={
        200: {"description": "What happened to each alert"},
        400: {"description": "Not JSON"},
        403: {"description": "A demo routing key, outside the local runtime"},
        404: {"description": "Unknown routing key"},
        413: {"description": "Too large"},
        422: {"description": "Invalid webhook"},
    },
)
@request_body(
    integrations.AlertmanagerWebhook,
    {
        "version": "4",
        "status": "firing",
        "receiver": "firebell",
        "groupKey": '{}:{alertname="HighLatency"}',
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "HighLatency", "severity": "critical"},
                "annotations": {"summary": "p99 latency above 2 s"},
                "startsAt": "2026-12-01T10:00:00Z",
                "fingerprint": "5f2a9c0e1b7d3a64",
            }
        ],
    },
    "Alertmanager's webhook (version 4), as its webhook_config sends it",
)
def alertmanager_webhook(routing_key: str) -> Response[dict[str, Any]]:
    """Each firing alert opens an incident on the routing key's service (or repeats the open one with the same
    fingerprint); each resolved alert resolves it. Point an Alertmanager webhook_config at this URL."""
    return _respond(alertmanager(routing_key, _raw_body(), wiring.effective_config, wiring.intake))
