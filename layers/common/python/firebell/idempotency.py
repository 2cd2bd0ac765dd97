"""Idempotent requests: an operation retried with the same Idempotency-Key runs once, and every retry gets the
first run's result (powertools idempotency, records in the idempotency table, DynamoDB).

- The record's key is the caller (the IAM principal API Gateway authenticated) and the header's value: two
  callers who happen to choose the same key never see each other's result.
- The request body is recorded with it (a hash): the same key with a different body is refused
  (IdempotencyKeyReused), never answered with the result of another request.
- While the first request is still running, a duplicate is refused (IdempotencyInProgress). The in-progress lock
  lasts at most the Lambda invocation's remaining time, so a crashed request does not hold its key for long.
- A completed record lasts RECORD_SECONDS (24 h); the table's TTL then deletes it, and the key may be used again.

Nothing here touches AWS at import time, nor imports powertools' idempotency package (which imports boto3):
wiring.idempotency_store() builds the persistence layer on first use.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .domain.errors import IdempotencyInProgress, IdempotencyKeyReused

__all__ = ["IdempotencyInProgress", "IdempotencyKeyReused", "Outcome", "dynamodb_store", "run_once"]

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
    from aws_lambda_powertools.utilities.typing import LambdaContext

RECORD_SECONDS = 24 * 3600
# infra/topology.py renders the idempotency table from these two.
KEY_ATTRIBUTE = "id"  # the table's hash key
EXPIRY_ATTRIBUTE = "expiration"  # the table's TTL attribute




@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    replayed: bool  # True: the result of an earlier request with the same key; the operation did not run


def dynamodb_store(table_name: str, region: str) -> BasePersistenceLayer:
    """powertools' DynamoDB persistence layer on the idempotency table, with the shared botocore client."""
    if not table_name:
        raise RuntimeError("IDEMPOTENCY_TABLE_NAME is not set: this function has no idempotency table")
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from .adapters.aws import client

    return DynamoDBPersistenceLayer(
        table_name=table_name,
        key_attr=KEY_ATTRIBUTE,
        expiry_attr=EXPIRY_ATTRIBUTE,
        boto3_client=client("dynamodb", region),
    )


def run_once(
    *,
    scope: str,
    key: str,
    caller: str,
    body: dict[str, Any],
    operation: Callable[[], dict[str, Any]],
    store: BasePersistenceLayer,
    lambda_context: LambdaContext | None,
) -> Outcome:
    """Run `operation` unless (caller, key) ran before within RECORD_SECONDS: then return that run's result.

    `scope` names the operation (the records' key prefix); `operation` returns a JSON-serialisable dict.
    """
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
    from aws_lambda_powertools.utilities.idempotency.exceptions import (
        IdempotencyAlreadyInProgressError,
        IdempotencyValidationError,
    )

    replayed = False

    def mark_replayed(response: Any, _record: Any) -> Any:
        nonlocal replayed
        replayed = True
        return response

    config = IdempotencyConfig(
        event_key_jmespath="[caller, key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_SECONDS,
        response_hook=mark_replayed,
    )
    if lambda_context is not None:
        # The in-progress lock expires with this invocation (a timed-out request must not hold its key).
        config.register_lambda_context(lambda_context)

    # Decorated here, at call time: the store is built on first use, never at import.
    @idempotent_function(data_keyword_argument="request", persistence_store=store, config=config, key_prefix=scope)
    def once(request: dict[str, Any]) -> dict[str, Any]:
        return operation()

    try:
        result = once(request={"caller": caller, "key": key, "body": body})
    except IdempotencyValidationError as error:
        raise IdempotencyKeyReused(
            f"Idempotency-Key {key!r} was already used with a different request body; use a new key for a new request"
        ) from error
    except IdempotencyAlreadyInProgressError as error:
        raise IdempotencyInProgress(
            f"a request with Idempotency-Key {key!r} is still being processed; retry it in a few seconds"
        ) from error
    return Outcome(result=result, replayed=replayed)
