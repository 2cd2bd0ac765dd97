"""Transient or permanent: what a retry may fix, for firebell's own errors (domain/errors.py) and for what AWS SDKs
raise. Queue consumers and the API decide retries and dead letters from this (firebell/batch.py, retrying.py).

Pure: no AWS SDK is imported at module level (botocore's exception types are looked up when classifying).
`Retry.UNKNOWN` is what was not raised on purpose (a bug): queue consumers retry it, and dead-letter it with
its reason when the queue's retries run out.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from .errors import FirebellError


class Retry(StrEnum):
    TRANSIENT = "transient"  # retry it: throttled, timed out, a race lost
    PERMANENT = "permanent"  # no retry can fix it: dead-letter it at once, or answer 4xx
    UNKNOWN = (
        "unknown"  # not raised on purpose (a bug, an unexpected answer): retried, dead-lettered when retries run out
    )


# ClientError codes a retry can fix (AWS's own retry classification, plus lost transaction races).
TRANSIENT_AWS_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "ThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "EC2ThrottledException",
        "TransactionConflictException",
        "TransactionInProgressException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerError",
        "InternalFailure",
        "InternalError",
        "RequestTimeout",
        "RequestTimeoutException",
        "PriorRequestNotComplete",
    }
)
# TransactionCanceledException reasons a retry can fix; any other reason (a validation error) is permanent.
TRANSIENT_CANCELLATION_REASONS = frozenset(
    {"TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
)


def _client_error_class(response: dict[str, Any]) -> Retry:
    error = response.get("Error") or {}
    code = str(error.get("Code") or "")
    if code == "TransactionCanceledException":
        reasons = [str(r.get("Code") or "None") for r in response.get("CancellationReasons") or []]
        if not reasons:  # without the list, botocore's message names them: "… reasons [None, TransactionConflict]"
            reasons = str(error.get("Message") or "").rpartition("[")[2].rstrip("]").replace(" ", "").split(",")
        if any(reason in TRANSIENT_CANCELLATION_REASONS for reason in reasons):
            return Retry.TRANSIENT
        if all(reason in ("None", "ConditionalCheckFailed") for reason in reasons):
            return Retry.UNKNOWN  # a lost condition means what its caller says; escaping here, it is a bug
        return Retry.PERMANENT  # e.g. ValidationError: the same items fail the same way
    if code == "ConditionalCheckFailedException":
        return Retry.UNKNOWN
    if code in TRANSIENT_AWS_CODES or int((response.get("ResponseMetadata") or {}).get("HTTPStatusCode") or 0) >= 500:
        return Retry.TRANSIENT
    return Retry.PERMANENT  # validation, access denied, not found: the same call fails the same way


def _botocore_network_errors() -> tuple[type[BaseException], ...]:
    try:
        from botocore.exceptions import ConnectionError as BotoConnectionError
        from botocore.exceptions import HTTPClientError
    except ImportError:  # pragma: no cover - botocore ships with every Lambda runtime
        return ()
    # EndpointConnectionError and ConnectTimeoutError are ConnectionErrors; ReadTimeoutError and
    # ConnectionClosedError are HTTPClientErrors.
    return (BotoConnectionError, HTTPClientError)


def classify(error: BaseException) -> Retry:
    if isinstance(error, FirebellError):
        return Retry.TRANSIENT if error.transient else Retry.PERMANENT
    if isinstance(error, json.JSONDecodeError | ValidationError):
        return Retry.PERMANENT  # a malformed or invalid message stays so
    response = getattr(error, "response", None)
    if isinstance(response, dict) and "Error" in response:  # botocore's ClientError
        return _client_error_class(response)
    if isinstance(error, (TimeoutError, ConnectionError, *_botocore_network_errors())):
        return Retry.TRANSIENT
    # pynamodb wraps what botocore raised (PutError, TransactWriteError, …) in `cause`: judge by that.
    cause = getattr(error, "cause", None)
    if isinstance(cause, BaseException) and cause is not error:
        return classify(cause)
    return Retry.UNKNOWN


def is_transient(error: BaseException) -> bool:
    """True if retrying the same operation may succeed."""
    return classify(error) is Retry.TRANSIENT


def is_permanent(error: BaseException) -> bool:
    """True if no retry can fix it."""
    return classify(error) is Retry.PERMANENT
