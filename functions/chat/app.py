"""Chat: every incident event on the events topic, shown in the chat channels that want it (firebell/domain/chat.py,
usecases/chat.py): the incident's Slack message posted once and updated in place, a card per event in Teams and
Google Chat. What a channel did not take comes back (retried in place, then by the queue), and goes to the
dead-letter queue with the reason once the attempts run out."""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.batch import PartialBatchResponse, QueueRecord, process_queue_records_at_once
from firebell.domain.chat import ATTEMPTS
from firebell.domain.models import IncidentEvent
from firebell.tracing import lazy_tracer
from firebell.usecases.chat import ChatUndelivered

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()


@tracer.capture_method
def handle_record(record: QueueRecord) -> None:
    try:
        done = wiring.chat_deliveries().deliver(IncidentEvent.model_validate_json(record.body))
    except ChatUndelivered as undelivered:
        # Another delivery holds the Slack post's claim: come back once it lapses, not at the visibility timeout.
        if undelivered.retry_after_seconds and record.receive_count < ATTEMPTS:
            wiring.dead_letters().retry_after(
                record.event_source_arn or "", record.raw_event["receiptHandle"], undelivered.retry_after_seconds
            )
        raise
    if done.shown:
        metrics.add_metric(name="ChatShown", unit=MetricUnit.Count, value=len(done.shown))


@startup.first_event
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    # (each event at once: a slow webhook, up to its 10 s, holds up no other event's channels)
    return process_queue_records_at_once(event, context, handle_record, wiring.dead_letters())


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
