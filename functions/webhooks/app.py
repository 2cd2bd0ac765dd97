"""Webhooks: every incident event on the events topic, posted signed to the subscriptions that want it
(firebell/domain/webhooks.py, usecases/webhooks.py). What an endpoint did not take comes back on Standard Webhooks'
retry schedule (the message's visibility timeout set to the next delay), and after the last attempt goes to the
dead-letter queue with the reason, from where the admin API replays it."""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.batch import PartialBatchResponse, QueueRecord, process_queue_records_at_once
from firebell.domain import webhooks
from firebell.domain.models import IncidentEvent
from firebell.domain.webhooks import WebhookUndelivered
from firebell.tracing import lazy_tracer

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()


@tracer.capture_method
def handle_record(record: QueueRecord) -> None:
    event = IncidentEvent.model_validate_json(record.body)
    try:
        done = wiring.webhook_deliveries().deliver(event)
    except WebhookUndelivered:
        if record.receive_count < webhooks.ATTEMPTS:  # (the last attempt's failure goes to the DLQ, no wait)
            wiring.dead_letters().retry_after(
                record.event_source_arn or "",
                record.raw_event["receiptHandle"],
                webhooks.retry_delay(record.receive_count),
            )
        raise
    if done.delivered:
        metrics.add_metric(name="WebhooksDelivered", unit=MetricUnit.Count, value=len(done.delivered))


@startup.first_event
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    return process_queue_records_at_once(event, context, handle_record, wiring.dead_letters())


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
