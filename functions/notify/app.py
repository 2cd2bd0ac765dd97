"""Notify: acts on every timer's wake-up (pages, acknowledgement watch, SLA, reminders, confirmation window)
and reaches people by email and SMS, recording each delivery on the timeline."""

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, TypeAdapter

from firebell import wiring
from firebell.batch import process_queue_batch
from firebell.domain.enums import MessageType
from firebell.domain.models import (
    EscalationExhausted,
    PageRequest,
    QuietCheck,
    ReminderDue,
    ResolutionConfirming,
    ResolutionWindowClosed,
    SlaWakeUp,
    WatchRequest,
)
from firebell.service import Delivery

logger = Logger()
tracer = Tracer()
metrics = Metrics()

NotifyMessage = TypeAdapter(
    Annotated[
        PageRequest | WatchRequest | EscalationExhausted | SlaWakeUp | ReminderDue | ResolutionConfirming | ResolutionWindowClosed
        | QuietCheck,
        Field(discriminator="type"),
    ]
)


def _act(message) -> list[Delivery]:
    service = wiring.incident_service()
    match message:
        case PageRequest():
            return service.page(message)
        case WatchRequest():
            service.watch(message)
            return []
        case EscalationExhausted():
            return service.page_incident_managers(message)
        case SlaWakeUp():
            deliveries = service.sla_wake_up(message)
            if message.type is MessageType.SLA_BREACHED and deliveries:
                metrics.add_metric(name=f"Sla{message.clock.title()}Breached", unit=MetricUnit.Count, value=1)
            return deliveries
        case ReminderDue():
            return service.reminder_due(message)
        case ResolutionConfirming():
            return service.resolution_confirming(message)
        case ResolutionWindowClosed():
            service.resolution_window_closed(message.incident_id)
            return []
        case QuietCheck():
            service.quiet_check(message)
            return []
    raise AssertionError(f"unhandled message {message!r}")  # the union above is exhaustive


@tracer.capture_method
def handle_record(record: SQSRecord) -> None:
    deliveries = _act(NotifyMessage.validate_json(record.body))
    for channel in ("email", "sms"):
        sent = sum(1 for d in deliveries if d.channel == channel)
        if sent:
            metrics.add_metric(name=f"{channel.title()}Sent", unit=MetricUnit.Count, value=sent)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())
