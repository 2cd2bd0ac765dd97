"""Mail: email intake (docs/email-intake.md). SES's receipt rule stores each message to an intake address in the
mail bucket; the bucket's event notification puts an S3 event on the mail queue; here each stored message opens an
incident, adds a note to the one a reply names, or is ignored with its reason (logged, and counted by kind).

A queue message that is no S3 event, or names an object that is not received mail, goes to the DLQ with the
reason; S3's test event (sent when the notification is set up) is skipped.
"""

from firebell import startup

startup.begin()  # no garbage collections while the import runs (firebell/startup.py)

from typing import Any, Literal
from urllib.parse import unquote_plus

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field

from firebell import wiring
from firebell.batch import PartialBatchResponse, QueueRecord, process_queue_batch
from firebell.tracing import lazy_tracer
from firebell.usecases.mail_intake import MailOutcome, NotReceivedMail

logger = Logger()
tracer = lazy_tracer()
metrics = Metrics()


class _Loose(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="ignore")


class S3Object(_Loose):
    key: str = Field(min_length=1, max_length=2048)


class S3Bucket(_Loose):
    name: str = Field(min_length=1, max_length=255)


class S3Entity(_Loose):
    bucket: S3Bucket
    object: S3Object


class S3EventRecord(_Loose):
    eventSource: Literal["aws:s3"]
    eventName: str
    s3: S3Entity


class S3Event(_Loose):
    """What S3 puts on a queue for each new object (its event notification), or its test event when set up."""

    Records: list[S3EventRecord] = []
    Event: str | None = None  # "s3:TestEvent"


def stored_objects(body: str) -> list[tuple[str, str]]:
    """(bucket, key) of each object the event says was created; [] for S3's test event. Keys come URL-encoded."""
    event = S3Event.model_validate_json(body)
    if event.Event == "s3:TestEvent" and not event.Records:
        return []
    if not event.Records:
        raise NotReceivedMail("not an S3 event: no Records")
    return [
        (r.s3.bucket.name, unquote_plus(r.s3.object.key))
        for r in event.Records
        if r.eventName.startswith("ObjectCreated:")
    ]


@tracer.capture_method
def handle_record(record: QueueRecord) -> None:
    for bucket, key in stored_objects(record.body):
        received = wiring.mail_intake().receive(bucket, key)
        metrics.add_metric(name=f"Email{received.outcome.value.title()}", unit=MetricUnit.Count, value=1)
        about = {"key": key, "outcome": received.outcome, "reference": received.reference}
        if received.outcome is MailOutcome.IGNORED:
            # Refused senders may be someone's misconfiguration: a warning; bounces and auto-replies are routine.
            log = logger.warning if received.kind == "refused" else logger.info
            log("email ignored", extra={**about, "kind": received.kind, "reason": received.reason})
        else:
            logger.info("email handled", extra={**about, "reason": received.reason} if received.reason else about)


@startup.first_event
@logger.inject_lambda_context
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialBatchResponse:
    return process_queue_batch(event, context, handle_record, wiring.dead_letters())


startup.done()  # the import's objects frozen out of later collections, and collecting resumes
