"""Classify: on incident.opened — category, impact × urgency → priority, SLA, owning team; starts escalation."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.batch import process_queue_batch
from firebell.domain.models import IncidentEvent

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@tracer.capture_method
def handle_record(record: SQSRecord) -> None:
    event = IncidentEvent.model_validate_json(record.body)
    incident = wiring.incident_service().classify(event.incident_id)
    logger.info("incident classified", extra={"reference": incident.reference, "priority": incident.priority})
    metrics.add_metric(name="IncidentsClassified", unit=MetricUnit.Count, value=1)
    metrics.add_metadata(key="priority", value=str(incident.priority))


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())
