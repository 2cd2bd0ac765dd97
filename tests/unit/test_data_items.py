"""data/items.py: which items of a refused transaction failed their condition, whatever pynamodb wrapped."""

from __future__ import annotations

from botocore.exceptions import EndpointConnectionError, ReadTimeoutError
from pynamodb.exceptions import CancellationReason, TransactWriteError, VerboseClientError

from firebell.data.items import failed_conditions


def test_the_positions_whose_condition_failed() -> None:
    codes = ["ConditionalCheckFailed", None, "ConditionalCheckFailed"]
    cause = VerboseClientError(
        {"Error": {"Code": "TransactionCanceledException", "Message": "cancelled"}},
        "TransactWriteItems",
        cancellation_reasons=[CancellationReason(code=c) if c else None for c in codes],
    )
    assert failed_conditions(TransactWriteError("Failed to write transaction items", cause)) == [0, 2]


def test_a_timeout_or_a_lost_connection_is_no_failed_condition() -> None:
    # botocore's HTTP errors carry `response = None`: pynamodb's cause_response_code raises on them
    for cause in (
        ReadTimeoutError(endpoint_url="https://dynamodb"),
        EndpointConnectionError(endpoint_url="https://dynamodb"),
    ):
        assert failed_conditions(TransactWriteError("Failed to write transaction items", cause)) == []
