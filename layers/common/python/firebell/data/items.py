"""Keys and small helpers shared by the store's parts (data/store.py, data/outbox_store.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pynamodb.exceptions import TransactWriteError

# How long outbox entries, message markers and idempotency claims are kept (DynamoDB TTL deletes them after).
KEEP_DAYS = 14
OUTBOX_PENDING = "pending"  # the by-outbox index's key while an effect is not done


def incident_pk(incident_id: str) -> str:
    return f"INCIDENT#{incident_id}"


def incident_id_of(pk: str) -> str:
    return pk.removeprefix("INCIDENT#")


def effect_sk(effect_id: str) -> str:
    return f"EFFECT#{effect_id}"


def conditional_failure(error: Exception) -> bool:
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def failed_conditions(error: TransactWriteError) -> list[int]:
    """Positions of the transaction's items whose condition failed (empty: cancelled for another reason, or not
    cancelled at all: a timeout or a connection error)."""
    # (not error.cause_response_code: it raises AttributeError when the cause is one of botocore's HTTP errors,
    # e.g. a read timeout, whose `response` is None)
    response = getattr(error.cause, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return []
    return [
        i
        for i, reason in enumerate(error.cancellation_reasons or [])
        if reason and reason.code == "ConditionalCheckFailed"
    ]


def expiry(at: datetime, days: int = KEEP_DAYS) -> int:
    return int(at.timestamp()) + days * 86_400


def items_in_order(model: Any, keys: list[tuple[str, str]]) -> list[Any]:
    """The items at `keys` (from an index that carries keys only), in the keys' order; any gone since are left out."""
    found = {(record.pk, record.sk): record for record in model.batch_get(keys)} if keys else {}
    return [found[key] for key in keys if key in found]


def _facts_pk(year: int, month: int) -> str:
    return f"FACTS#{year:04d}-{month:02d}"


def facts_key(opened_at: datetime, incident_id: str) -> tuple[str, str]:
    """An incident's facts item: partitioned by the month it opened (UTC), in opening order within it."""
    utc = opened_at.astimezone(UTC)
    return _facts_pk(utc.year, utc.month), f"{utc.isoformat()}#{incident_id}"


def months_between(start: datetime, end: datetime) -> list[str]:
    """The facts partitions a period [start, end) touches."""
    first, last = start.astimezone(UTC), end.astimezone(UTC)
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(_facts_pk(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
