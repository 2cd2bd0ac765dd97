"""SQS consumers: partial batch responses, and a dead-letter queue that says why.

What happens to a record whose handler raised depends on the error's class (domain/errors.py: classify):
- transient (throttling, timeouts, connection errors, a lost optimistic-lock race): tried again at once, a few
  times with backoff (an error that escaped the SDK's retries usually clears within a second), then reported as
  a batch item failure, so SQS delivers it again after the visibility timeout; never dead-lettered on a first
  try. Without the tries in place, a 10% rate of such errors over the four or five calls a record makes fails a
  delivery a third of the time, and the queue's five deliveries a few records in a thousand: alarms unpaged;
- permanent (a malformed or invalid payload, a request the domain refuses, an AWS validation error): sent
  to the queue's DLQ at once, with the reason, and removed from the source queue;
- unknown (not raised on purpose, e.g. a bug): retried like a transient error;
- on the last attempt the queue allows, anything still failing goes to the DLQ with its reason: nothing is lost.
The rest of the batch carries on either way.

The DLQ and the retry budget are the source queue's own redrive policy (one definition, in infra/topology.py).
That policy is also the backstop when the function itself crashes or times out (no record reaches
should_retry): SQS then moves the message after maxReceiveCount receives with no `reason` attribute,
and GET /_local/dead-letters says so.

The batch is walked here rather than by powertools' BatchProcessor: importing its batch utility imports every
event data class powertools has and, with pydantic loaded, every parser model (issue 10: ~250 M instructions,
0.45× of `import botocore.session`, of each queue function's cold start). The answer is Lambda's
ReportBatchItemFailures response, as powertools gave it (`raise_on_entire_batch_failure=False`).
"""

import time
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, Protocol, TypedDict, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from .domain.errors import describe
from .domain.failures import Retry, classify, is_transient
from .retrying import persevering

__all__ = [
    "DeadLetterQueues",
    "QueueRecord",
    "describe",
    "process_queue_batch",
    "process_queue_batch_at_once",
    "process_queue_records_at_once",
    "should_retry",
]

logger = Logger(child=True)

TRIES_IN_PLACE = 3
_BACKOFF_SECONDS = 0.1  # doubled before each further try: 0.1 s, then 0.2 s
_TIME_KEPT_FOR_THE_REST_MS = 10_000  # no try in place once the invocation has less left than this
T = TypeVar("T")


class DeadLetterQueues(Protocol):
    def max_receive_count(self, source_queue_arn: str) -> int:
        """How many receives the source queue allows before its redrive policy moves a message."""

    def send(self, source_queue_arn: str, body: str, reason: str, attempts: int) -> None:
        """Put `body` on the source queue's dead-letter queue, with the reason."""

    def retry_after(self, source_queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Have the source queue hand the message out again in `seconds`, not at its visibility timeout."""


class QueueRecord:
    """One SQS message as Lambda's event source mapping hands it to the function (`raw_event`), read by name."""

    __slots__ = ("raw_event",)

    def __init__(self, raw_event: Mapping[str, Any]) -> None:
        self.raw_event = raw_event

    @property
    def body(self) -> str:
        body: str = self.raw_event["body"]
        return body

    @property
    def message_id(self) -> str:
        message_id: str = self.raw_event["messageId"]
        return message_id

    @property
    def event_source_arn(self) -> str | None:
        return self.raw_event.get("eventSourceARN")

    @property
    def receive_count(self) -> int:
        """How many times SQS has handed this message out, this time included."""
        return int((self.raw_event.get("attributes") or {}).get("ApproximateReceiveCount") or 1)


class BatchItemFailure(TypedDict):
    itemIdentifier: str


class PartialBatchResponse(TypedDict):
    batchItemFailures: list[BatchItemFailure]


def should_retry(record: QueueRecord, error: Exception, dead_letters: DeadLetterQueues) -> bool:
    """What becomes of a record its handler failed on: True to have SQS deliver it again (a batch item failure),
    False once it is in the DLQ with its reason."""
    source = record.event_source_arn or ""
    attempts = record.receive_count
    try:
        # (read with perseverance: on the last attempt, a failed read would let SQS move it without a reason)
        last_attempt = attempts >= persevering(lambda: dead_letters.max_receive_count(source))
    except Exception:
        logger.exception("could not read the redrive policy", extra={"queue": source})
        last_attempt = False
    retry = classify(error)
    if retry is Retry.PERMANENT or last_attempt:
        reason = describe(error)
        if retry is not Retry.PERMANENT:  # say it was the retries running out, not the message itself
            reason += f" ({retry} error, still failing after {attempts} attempts)"
        try:
            persevering(lambda: dead_letters.send(source, record.body, reason, attempts))
        except Exception:  # the DLQ is unreachable: retry the message instead of losing it
            logger.exception("could not dead-letter message", extra={"message_id": record.message_id})
            return True
        logger.warning("message dead-lettered", extra={"message_id": record.message_id, "reason": reason})
        return False
    logger.info(
        "message will be retried",
        extra={"message_id": record.message_id, "error": describe(error), "retry": str(retry)},
    )
    return True


def tries_in_place(context: LambdaContext) -> Callable[[Callable[[int], T]], T]:
    """Runs work (given the attempt, 0 first), and again at once over transient errors while the invocation has
    time to spare."""
    return lambda work: _tried(work, context, {})


def tried_in_place(
    handle_record: Callable[[QueueRecord], object], context: LambdaContext
) -> Callable[[QueueRecord], object]:
    """`handle_record`, tried again at once over transient errors while the invocation has time to spare.

    A further try sees the record as redelivered (its receive count one higher): an earlier try may have failed
    midway, which is what a handler asks the receive count (intake: finish a claim left without its incident).
    """
    return lambda record: _tried(
        lambda attempt: handle_record(record if attempt == 0 else _tried_again(record, attempt)),
        context,
        {"message_id": record.message_id},
    )


def _tried(work: Callable[[int], T], context: LambdaContext, about: dict[str, Any]) -> T:
    for attempt in range(TRIES_IN_PLACE):
        try:
            return work(attempt)
        except Exception as error:
            out_of_tries = attempt == TRIES_IN_PLACE - 1
            if (
                out_of_tries
                or not is_transient(error)
                or not getattr(error, "retry_in_place", True)
                or context.get_remaining_time_in_millis() < _TIME_KEPT_FOR_THE_REST_MS
            ):
                raise
            logger.info("tried again in place", extra={**about, "error": describe(error)})
            time.sleep(_BACKOFF_SECONDS * 2**attempt)
    raise AssertionError("unreachable")


def _tried_again(record: QueueRecord, attempt: int) -> QueueRecord:
    attributes = record.raw_event.get("attributes") or {}
    return QueueRecord(
        {
            **record.raw_event,
            "attributes": {**attributes, "ApproximateReceiveCount": str(record.receive_count + attempt)},
        }
    )


def process_queue_batch(
    event: dict[str, Any],
    context: LambdaContext,
    handle_record: Callable[[QueueRecord], object],
    dead_letters: DeadLetterQueues,
) -> PartialBatchResponse:
    """Every record handled; those to be delivered again reported, the rest of the batch carrying on regardless
    (a batch whose every record failed is reported too, not raised)."""
    handle = tried_in_place(handle_record, context)
    failures: list[BatchItemFailure] = []
    for record in _records(event):
        try:
            handle(record)
        except Exception as error:
            if should_retry(record, error, dead_letters):
                failures.append({"itemIdentifier": record.message_id})
    return {"batchItemFailures": failures}


def process_queue_records_at_once(
    event: dict[str, Any],
    context: LambdaContext,
    handle_record: Callable[[QueueRecord], object],
    dead_letters: DeadLetterQueues,
) -> PartialBatchResponse:
    """process_queue_batch, each record at once as a batch of its own: one slow receiver (up to its timeout) holds up
    no other record, and the invocation lasts about as long as its slowest record (webhooks, chat)."""
    from .concurrency import run_at_once

    answers = run_at_once(
        [
            partial(process_queue_batch, {"Records": [record]}, context, handle_record, dead_letters)
            for record in event.get("Records") or []
        ]
    )
    failures: list[BatchItemFailure] = []
    for answer in answers:
        if isinstance(answer, Exception):
            raise answer
        failures += answer["batchItemFailures"]
    return {"batchItemFailures": failures}


BatchHandler = Callable[[list[QueueRecord], Callable[[Callable[[int], Any]], Any]], Mapping[str, Exception]]


def process_queue_batch_at_once(
    event: dict[str, Any], context: LambdaContext, handle_batch: BatchHandler, dead_letters: DeadLetterQueues
) -> PartialBatchResponse:
    """For a handler that takes its batch whole (intake counts an alert's copies in one write):
    `handle_batch(records, tried)` does the work, running each unit of it through `tried` (the tries in place),
    and answers the error of each record that failed, by SQS message id. Those then go where failed records go
    (the DLQ with their reason, or back to the queue: should_retry); the others are done."""
    records = _records(event)
    failed = handle_batch(records, tries_in_place(context))
    failures: list[BatchItemFailure] = [
        {"itemIdentifier": r.message_id}
        for r in records
        if r.message_id in failed and should_retry(r, failed[r.message_id], dead_letters)
    ]
    return {"batchItemFailures": failures}


def _records(event: Any) -> list[QueueRecord]:
    records = event.get("Records") if isinstance(event, Mapping) else None
    if not isinstance(records, list) or not records:
        raise ValueError("not an SQS batch: the event has no Records")
    return [QueueRecord(raw) for raw in records]
