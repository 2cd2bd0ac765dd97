"""SQS consumers: partial batch responses (powertools), and a dead-letter queue that says why.

A message no retry can fix (a malformed payload, PermanentMessageError) or one on its last allowed
attempt is sent to its queue's DLQ with the reason as a message attribute and removed from the source
queue; the rest of the batch carries on. The DLQ and the retry budget are the source queue's own redrive
policy (one definition, in infra/topology.py), which also stays as the backstop for a crashed function.
"""

import json
from collections.abc import Callable
from typing import Protocol

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import ValidationError

from .domain.errors import DomainError, PermanentMessageError

PERMANENT_ERRORS = (ValidationError, json.JSONDecodeError, PermanentMessageError, DomainError)

logger = Logger(child=True)


def describe(error: BaseException) -> str:
    """One line a person reading the DLQ can act on, naming the offending fields."""
    if isinstance(error, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(part) for part in e['loc']) or '(body)'}: {e['msg']}" for e in error.errors(include_url=False)
        )
        return f"ValidationError ({error.title}): {problems}"
    return f"{type(error).__name__}: {error}"


class DeadLetterQueues(Protocol):
    def max_receive_count(self, source_queue_arn: str) -> int:
        """How many receives the source queue allows before its redrive policy moves a message."""

    def send(self, source_queue_arn: str, body: str, reason: str, attempts: int) -> None:
        """Put `body` on the source queue's dead-letter queue, with the reason."""


class DeadLetteringProcessor(BatchProcessor):
    def __init__(self, dead_letters: DeadLetterQueues) -> None:
        super().__init__(event_type=EventType.SQS, raise_on_entire_batch_failure=False, logger=logger)
        self._dead_letters = dead_letters

    def failure_handler(self, record: SQSRecord, exception):  # type: ignore[override]
        error = exception[1]
        source = record.event_source_arn or ""
        attempts = int(record.attributes.approximate_receive_count or 1)
        try:
            last_attempt = attempts >= self._dead_letters.max_receive_count(source)
        except Exception:
            logger.exception("could not read the redrive policy", extra={"queue": source})
            last_attempt = False
        if isinstance(error, PERMANENT_ERRORS) or last_attempt:
            reason = describe(error)
            try:
                self._dead_letters.send(source, record.body, reason, attempts)
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
    dead_letters: DeadLetterQueues,
) -> PartialItemFailureResponse:
    processor = DeadLetteringProcessor(dead_letters)
    return process_partial_response(event=event, record_handler=handle_record, processor=processor, context=context)
