"""Monitoring-tool integrations on the wire: PagerDuty Events API v2 (/v2/enqueue, /v2/change/enqueue) and the Prometheus
Alertmanager webhook (/v1/alertmanager/<routing key>). Included by app.py.

Both routes are public (infra/topology.py): the routing key, an integration key of one service, is the
credential. Parsing is in domain/integrations.py; what happens to each alert is AlertIntake.handle_signal.
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

from firebell import wiring
from firebell.domain import integrations
from firebell.domain.change_events import parse_change_event
from firebell.domain.directory import FirebellConfig
from firebell.domain.errors import FieldProblem, InvalidPayload, UnknownRoutingKey, http_answer, http_body
from firebell.usecases.change_events import ChangeEvents
from firebell.usecases.intake import AlertIntake

router = Router()
logger = Logger(child=True)

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


def enqueue(body: bytes | str | None, config: Callable[[], FirebellConfig], service: Callable[[], AlertIntake]) -> Answer:
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
    logger.info("PagerDuty event", extra={"service": owner.id, "action": signal.action, "outcome": outcome.value, "incident_id": incident_id})
    return HTTPStatus.ACCEPTED, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}


def change_enqueue(body: bytes | str | None, config: Callable[[], FirebellConfig], service: Callable[[], ChangeEvents]) -> Answer:
    """POST /v2/change/enqueue: 202 as PagerDuty answers; the change goes on the timeline of the service's open incidents."""
    try:
        event = parse_change_event(body)
    except InvalidPayload as invalid:
        return pagerduty_rejection(invalid.problems)
    owner = config().directory.service_for_routing_key(event.routing_key)
    if owner is None:
        return pagerduty_rejection([FieldProblem("routing_key", "is not the integration key of any service")])
    recorded = service().record(event, owner.id)
    logger.info("PagerDuty change event", extra={"service": owner.id, "recorded_on": recorded.on, "already_on": recorded.already,
                                                 "skipped": recorded.skipped})
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


def alertmanager(routing_key: str, body: bytes | str | None, config: Callable[[], FirebellConfig],
                 service: Callable[[], AlertIntake]) -> Answer:
    """POST /v1/alertmanager/<routing key>: 200 with what happened to each alert."""
    current = config()
    owner = current.directory.service_for_routing_key(routing_key) if len(routing_key) <= integrations.MAX_ROUTING_KEY else None
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
        results.append({"fingerprint": alert.key(), "status": alert.status, "outcome": outcome.value, "incident_id": incident_id})
    logger.info("Alertmanager webhook", extra={"service": owner.id, "alerts": results})
    return HTTPStatus.OK, {"status": "success", "service": owner.id, "alerts": results, "truncated_alerts": webhook.truncatedAlerts}


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
    responses={202: {"description": "Event processed"}, 400: {"description": "Invalid event, or unknown routing_key"}},
)
def pagerduty_enqueue() -> Response[dict[str, Any]]:
    return _respond(enqueue(_raw_body(), wiring.effective_config, wiring.intake))


@router.post(
    "/v2/change/enqueue",
    summary="PagerDuty Change Events: a deploy or config change, put on the timeline of the service's open incidents",
    responses={202: {"description": "Change event processed"}, 400: {"description": "Invalid event, or unknown routing_key"}},
)
def pagerduty_change_enqueue() -> Response[dict[str, Any]]:
    return _respond(change_enqueue(_raw_body(), wiring.effective_config, wiring.change_events))


@router.post(
    "/v1/alertmanager/<routing_key>",
    summary="Prometheus Alertmanager webhook (version 4): firing alerts open or repeat, resolved ones resolve",
    responses={200: {"description": "What happened to each alert"}, 400: {"description": "Not JSON"},
               404: {"description": "Unknown routing key"}, 413: {"description": "Too large"},
               422: {"description": "Invalid webhook"}},
)
def alertmanager_webhook(routing_key: str) -> Response[dict[str, Any]]:
    return _respond(alertmanager(routing_key, _raw_body(), wiring.effective_config, wiring.intake))
