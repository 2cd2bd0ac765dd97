"""SQS consumers: partial batch responses (powertools), and a dead-letter queue that says why.

A message no retry can fix (a malformed payload, PermanentMessageError) or one that has used up its
retries is sent to the function's DLQ with the reason as a message attribute and is removed from the
source queue; the rest of the batch carries on. The queue's own redrive policy stays as the backstop
for a crashed function.
"""

import json
from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from .domain.errors import DomainError, PermanentMessageError

PERMANENT_ERRORS = (ValidationError, json.JSONDecodeError, PermanentMessageError, DomainError)

logger = Logger(child=True)


class DeadLetterSink:
    def send(self, body: str, reason: str, source: str, attempts: int) -> None: ...


class DeadLetteringProcessor(BatchProcessor):
    def __init__(self, dead_letters: DeadLetterSink, max_receive_count: int) -> None:
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
        self._dead_letters = dead_letters
        self._max_receive_count = max_receive_count

    def failure_handler(self, record: SQSRecord, exception):  # type: ignore[override]
        error = exception[1]
        attempts = int(record.attributes.approximate_receive_count or 1)
        if isinstance(error, PERMANENT_ERRORS) or attempts >= self._max_receive_count:
            reason = f"{type(error).__name__}: {error}"
            try:
                self._dead_letters.send(record.body, reason, source=record.event_source_arn or "", attempts=attempts)
            except Exception:  # the DLQ is unreachable: retry the message instead of losing it
                logger.exception("could not dead-letter message", extra={"message_id": record.message_id})
                return super().failure_handler(record, exception)
            logger.warning("message dead-lettered", extra={"message_id": record.message_id, "reason": reason})
            return self.success_handler(record, result=None)
        return super().failure_handler(record, exception)


def process_queue_batch(
    event: dict,
    context: LambdaContext,
    handle_record: Callable[[SQSRecord], object],
    dead_letters: DeadLetterSink,
    max_receive_count: int,
) -> PartialItemFailureResponse:
    processor = DeadLetteringProcessor(dead_letters, max_receive_count)
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
