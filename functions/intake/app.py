"""Intake: CloudWatch alarm notifications (alarms topic → SQS) open, count, resolve or record incidents."""

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel
from aws_lambda_powertools.utilities.typing import LambdaContext

from firebell import wiring
from firebell.batch import process_queue_batch
from firebell.domain.alarms import CloudWatchAlarmNotification

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@tracer.capture_method
def handle_record(record: SQSRecord) -> None:
    notification = SnsNotificationModel.model_validate_json(record.body)
    alarm = CloudWatchAlarmNotification.model_validate_json(notification.Message).details()
    redelivered = int(record.attributes.approximate_receive_count or 1) > 1
    outcome, incident = wiring.incident_service().handle_alarm(alarm, redelivered=redelivered)
    logger.info("alarm handled", extra={"alarm": alarm.name, "state": alarm.state, "outcome": outcome,
                                         "reference": incident.reference if incident else None})
    metrics.add_metric(name=f"Alarm{outcome.value.title()}", unit=MetricUnit.Count, value=1)


@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict, context: LambdaContext) -> dict:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())
