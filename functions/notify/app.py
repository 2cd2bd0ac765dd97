"""Notify: pages escalation levels (from the state machine), the incident manager, and tells people of resolution."""

import json

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.batch import process_queue_batch
from firebell.domain.enums import EventType
from firebell.domain.errors import PermanentMessageError
from firebell.domain.models import EscalationExhausted, IncidentEvent, PageRequest
from firebell.service import Delivery

logger = Logger()
tracer = Tracer()
metrics = Metrics()


def _deliver(body: str) -> list[Delivery]:
    service = wiring.incident_service()
    payload = json.loads(body)
    message_type = payload.get("type") if isinstance(payload, dict) else None
    if message_type == "escalation.page":
        return service.page(PageRequest.model_validate_json(body))
    if message_type == "escalation.exhausted":
        return service.page_incident_managers(EscalationExhausted.model_validate_json(body))
    if message_type == EventType.RESOLVED:
        return service.announce_resolution(IncidentEvent.model_validate_json(body).incident_id)
    raise PermanentMessageError(f"type: unknown message type {message_type!r}")


@tracer.capture_method
def handle_record(record: SQSRecord) -> None:
    deliveries = _deliver(record.body)
    for channel in ("email", "sms"):
        sent = sum(1 for d in deliveries if d.channel == channel)
        if sent:
            metrics.add_metric(name=f"{channel.title()}Sent", unit=MetricUnit.Count, value=sent)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())
