"""Notify: acts on every timer's wake-up (pages, acknowledgement watch, SLA, reminders, confirmation window)
and reaches people by email and SMS, recording each delivery on the timeline."""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import Field, TypeAdapter

from firebell import wiring
from firebell.batch import PartialBatchResponse, QueueRecord, process_queue_batch
from firebell.dispatch import Delivery
from firebell.domain.workflow_messages import (
    EscalationExhausted,
    PageRequest,
    QuietCheck,
    ReminderDue,
    ResolutionConfirming,
    ResolutionWindowClosed,
    SlaWakeUp,
    SmsDigestDue,
    WatchRequest,
)
from firebell.tracing import lazy_tracer

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()

Message = (
    PageRequest
    | WatchRequest
    | EscalationExhausted
    | SlaWakeUp
    | ReminderDue
    | ResolutionConfirming
    | ResolutionWindowClosed
    | QuietCheck
    | SmsDigestDue
)
NotifyMessage = TypeAdapter(Annotated[Message, Field(discriminator="type")])


def _act(message: Message) -> list[Delivery]:
    match message:
        case PageRequest():
            return wiring.escalation().page(message).deliveries
        case WatchRequest():
            return wiring.escalation().watch(message).deliveries
        case EscalationExhausted():
            return wiring.escalation().page_incident_managers(message).deliveries
        case SlaWakeUp():
            deliveries = wiring.sla_clocks().wake_up(message).deliveries
            if message.which_moment == "breach" and deliveries:
                metrics.add_metric(name=f"Sla{message.clock.title()}Breached", unit=MetricUnit.Count, value=1)
            return deliveries
        case ReminderDue():
            return wiring.duties().reminder_due(message).deliveries
        case ResolutionConfirming():
            return wiring.resolution().confirming(message).deliveries
        case ResolutionWindowClosed():
            return wiring.resolution().window_closed(message.incident_id).deliveries
        case QuietCheck():
            return wiring.resolution().quiet_check(message).deliveries
        case SmsDigestDue():
            return wiring.sms_digests().digest_due(message)
    raise AssertionError(f"unhandled message {message!r}")  # the union above is exhaustive


@tracer.capture_method
def handle_record(record: QueueRecord) -> None:
    deliveries = _act(NotifyMessage.validate_json(record.body))
    for channel in ("email", "sms"):
        sent = sum(1 for d in deliveries if d.channel == channel)
        if sent:
            metrics.add_metric(name=f"{channel.title()}Sent", unit=MetricUnit.Count, value=sent)


@startup.first_event
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
