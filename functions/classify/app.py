"""Classify: on incident.opened — category, impact × urgency → priority, SLA, owning team; starts the
escalation (or defers it while the service is in maintenance, until maintenance.ended wakes it)."""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, TypeAdapter

from firebell import wiring
from firebell.batch import PartialBatchResponse, QueueRecord, process_queue_batch
from firebell.domain.workflow_messages import IncidentOpened, MaintenanceEnded
from firebell.tracing import lazy_tracer

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()

ClassifyMessage = TypeAdapter(Annotated[IncidentOpened | MaintenanceEnded, Field(discriminator="type")])


@tracer.capture_method
def handle_record(record: QueueRecord) -> None:
    message = ClassifyMessage.validate_json(record.body)
    escalation = wiring.escalation()
    if isinstance(message, MaintenanceEnded):
        escalation.maintenance_ended(message.incident_id)
        return
    incident = escalation.classify(message.incident_id).incident
    logger.info("incident classified", extra={"reference": incident.reference, "priority": incident.priority})
    metrics.add_metric(name="IncidentsClassified", unit=MetricUnit.Count, value=1)


@startup.first_event
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
