"""Intake: CloudWatch alarm state changes open, count, resolve or record incidents.

They reach the intake queue two ways: alarm actions publish to the alarms topic (SNS-wrapped notifications),
and an EventBridge rule forwards every "CloudWatch Alarm State Change" event (metric, metric-math and composite
alarms, with or without actions). Both become the same AlarmDetails.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import RootModel

from firebell import heartbeat, wiring
from firebell.batch import QueueRecord, process_queue_batch
from firebell.domain.alarms import REGIONS, CloudWatchAlarmNotification, CloudWatchAlarmStateChange, SnsNotification
from firebell.domain.models import AlarmDetails
from firebell.tracing import lazy_tracer

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()


class IntakeMessage(RootModel[dict[str, Any]]):
    """A message on the intake queue: an SNS notification (alarm actions) or an EventBridge event (the rule)."""


def alarm_details(body: str) -> tuple[AlarmDetails, str | None]:
    """The alarm, and the id of the notification carrying it (the same on every redelivery of it)."""
    message = IntakeMessage.model_validate_json(body).root
    # Alarms that carry no ARN are named by account, region and name; the region may be a display name.
    context = {REGIONS: wiring.region_lookup()}
    # EventBridge events always carry `detail-type`; SNS notifications never do.
    if "detail-type" in message:
        event = CloudWatchAlarmStateChange.model_validate(message, context=context)
        return event.details(), f"events:{event.id}" if event.id else None
    notification = SnsNotification.model_validate(message)
    alarm = CloudWatchAlarmNotification.model_validate_json(notification.Message, context=context)
    return alarm.details(), f"sns:{notification.MessageId}"


@tracer.capture_method
def handle_record(record: QueueRecord) -> None:
    alarm, message_id = alarm_details(record.body)
    # The heartbeat and firebell's own ops alarms are counted, never incidents (firebell/heartbeat.py).
    skipped = heartbeat.intercept(alarm, metrics)
    if skipped:
        logger.debug("alarm not handled as an incident", extra={"alarm": alarm.name, "as": skipped})
        return
    redelivered = record.receive_count > 1
    outcome, incident_id = wiring.intake().handle_alarm(alarm, message_id=message_id, redelivered=redelivered)
    logger.info("alarm handled", extra={"alarm": alarm.name, "state": alarm.state, "outcome": outcome, "incident_id": incident_id})
    metrics.add_metric(name=f"Alarm{outcome.value.title()}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())
