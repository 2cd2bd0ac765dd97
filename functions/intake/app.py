"""Intake: CloudWatch alarm state changes open, count, resolve or record incidents.

They reach the intake queue two ways: alarm actions publish to the alarms topic (SNS-wrapped notifications),
and an EventBridge rule forwards every "CloudWatch Alarm State Change" event (metric, metric-math and composite
alarms, with or without actions). Both become the same AlarmDetails.

A batch is handled whole: every record is read first, then the copies of one alarm are counted in one write
(AlertIntake.handle_batch). A storm's cost is per batch, so per record there is one validation, no trace
subsegment and no log line above debug; the batch gets one summary line and one metric value per outcome.
"""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

from collections import Counter
from collections.abc import Mapping
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import RootModel

from firebell import heartbeat, wiring
from firebell.batch import PartialBatchResponse, QueueRecord, process_queue_batch_at_once
from firebell.domain.alarms import REGIONS, CloudWatchAlarmStateChange, SnsAlarmEnvelope
from firebell.domain.models import AlarmDetails
from firebell.domain.signal_groups import Arrival
from firebell.tracing import lazy_tracer
from firebell.usecases.intake import Tried, alarm_signal

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
    notification = SnsAlarmEnvelope.model_validate(message, context=context)
    return notification.Message.details(), f"sns:{notification.MessageId}"


def arrival(record: QueueRecord) -> Arrival | None:
    """The record's alarm as intake handles it; None for the heartbeat and firebell's own ops alarms, which are
    counted, never incidents (firebell/heartbeat.py)."""
    alarm, message_id = alarm_details(record.body)
    skipped = heartbeat.intercept(alarm, metrics)
    if skipped:
        logger.debug("alarm not handled as an incident", extra={"alarm": alarm.name, "as": skipped})
        return None
    redelivered = record.receive_count > 1
    return Arrival(alarm_signal(alarm), message_id, redelivered)


@tracer.capture_method(capture_response=False)
def handle_batch(records: list[QueueRecord], tried: Tried) -> Mapping[str, Exception]:
    """The error of each record that failed (by SQS message id): unreadable ones alone, the others with their group."""
    failed: dict[str, Exception] = {}
    arrivals: list[tuple[str, Arrival]] = []
    for record in records:
        try:
            found = arrival(record)
        except Exception as error:  # unreadable: dead-lettered with the reason, the rest carry on
            failed[record.message_id] = error
            continue
        if found is not None:
            arrivals.append((record.message_id, found))
    try:
        results = wiring.intake().handle_batch([a for _, a in arrivals], tried) if arrivals else []
    except Exception as error:  # (not one group's failure: intake itself could not be built) every record is retried
        results = [error] * len(arrivals)
    outcomes: Counter[str] = Counter()
    for (message_id, handled), result in zip(arrivals, results, strict=True):
        if isinstance(result, Exception):
            failed[message_id] = result
            continue
        outcome, incident_id = result
        outcomes[outcome.value] += 1
        logger.debug(
            "alarm handled", extra={"alarm": handled.signal.dedup_key, "outcome": outcome, "incident_id": incident_id}
        )
    for outcome_name, count in outcomes.items():
        metrics.add_metric(name=f"Alarm{outcome_name.title()}", unit=MetricUnit.Count, value=count)
    logger.info("batch handled", extra={"records": len(records), "outcomes": dict(outcomes), "failed": len(failed)})
    return failed


@startup.first_event
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    return process_queue_batch_at_once(event, context, handle_batch, wiring.dead_letters())


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
