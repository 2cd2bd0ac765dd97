"""The storm bench's counting (bench/storm.py): every DynamoDB call the process makes, and what each unit of
intake's work did with its alarms and cost.

A unit is what intake decides at once: a group of one alarm's copies in a batch (AlertIntake.handle_group, one
write for all of them) where intake has groups, else one alarm (AlertIntake.handle_alarm, as before them); the
same bench measures both. Calls are counted at botocore's `BaseClient._make_api_call` (pynamodb calls it
directly, every boto3 client method goes through it; SDK retries inside one call are not separate calls) and
charged to the unit being handled, also when the unit makes them on threads of its own (firebell/concurrency.py
runs them in a copy of its context), so writes per alarm are measured, never derived.
"""

from __future__ import annotations

import threading
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"})
READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"})


def writes(operations: Counter[str]) -> int:
    return sum(n for op, n in operations.items() if op in WRITE_OPERATIONS)


def reads(operations: Counter[str]) -> int:
    return sum(n for op, n in operations.items() if op in READ_OPERATIONS)


class DynamoCalls:
    """Every DynamoDB API call made in this process (pynamodb's, the adapters', boto3's), by operation; calls made
    inside `charge` (on its thread, or on threads started there in a copy of its context) are also charged to it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._charged: ContextVar[Counter[str] | None] = ContextVar("charged", default=None)
        self.by_operation: Counter[str] = Counter()
        self._original: Any = None

    def install(self) -> None:
        from botocore.client import BaseClient

        self._original = original = BaseClient._make_api_call
        calls = self

        def _make_api_call(client, operation_name, api_params):  # type: ignore[no-untyped-def]
            if client.meta.service_model.service_name == "dynamodb":
                calls._count(operation_name)
            return original(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original  # type: ignore[method-assign]
            self._original = None

    def _count(self, operation: str) -> None:
        charged = self._charged.get()
        with self._lock:
            self.by_operation[operation] += 1
            if charged is not None:
                charged[operation] += 1

    @contextmanager
    def charge(self) -> Iterator[Counter[str]]:
        """The DynamoDB calls made inside the block."""
        charged: Counter[str] = Counter()
        token = self._charged.set(charged)
        try:
            yield charged
        finally:
            self._charged.reset(token)

    def snapshot(self) -> Counter[str]:
        with self._lock:
            return Counter(self.by_operation)


class AlarmLedger:
    """Per (storm|distinct, outcome of the unit): units, alarms, and the DynamoDB calls charged to them. A group's
    outcome is its first alarm's (the others are its repeats); a unit that raised is "failed"."""

    def __init__(self, calls: DynamoCalls, storm_arn: str) -> None:
        self._calls = calls
        self._storm_arn = storm_arn
        self._lock = threading.Lock()
        self.rows: dict[tuple[str, str], dict[str, Any]] = defaultdict(
            lambda: {
                "units": 0,
                "alarms": 0,
                "operations": Counter(),
                "units_by_writes": Counter(),
                "units_by_alarms": Counter(),
            }
        )
        self.unit = ""
        self._original: tuple[str, Any] | None = None

    def install(self) -> None:
        from firebell.usecases.intake import AlertIntake

        ledger = self
        if hasattr(AlertIntake, "handle_group"):
            self.unit, original = "group", AlertIntake.handle_group

            def handle_group(service, group, redelivered):  # type: ignore[no-untyped-def]
                with ledger._charged(group.dedup_key, len(group.arrivals)) as outcome:
                    results = original(service, group, redelivered)
                    outcome.append(str(results[0][0]))
                return results

            self._original = ("handle_group", original)
            AlertIntake.handle_group = handle_group  # type: ignore[method-assign]
            return
        self.unit, original = "alarm", AlertIntake.handle_alarm

        def handle_alarm(service, alarm, message_id=None, redelivered=False):  # type: ignore[no-untyped-def]
            with ledger._charged(alarm.arn, 1) as outcome:
                result = original(service, alarm, message_id=message_id, redelivered=redelivered)
                outcome.append(str(result[0]))
            return result

        self._original = ("handle_alarm", original)
        AlertIntake.handle_alarm = handle_alarm  # type: ignore[method-assign]

    def uninstall(self) -> None:
        from firebell.usecases.intake import AlertIntake

        if self._original is not None:
            setattr(AlertIntake, *self._original)
            self._original = None

    @contextmanager
    def _charged(self, dedup_key: str, alarms: int) -> Iterator[list[str]]:
        outcome: list[str] = []
        try:
            with self._calls.charge() as charged:
                yield outcome
        finally:
            self._record(
                "storm" if dedup_key == self._storm_arn else "distinct",
                outcome[0] if outcome else "failed",
                alarms,
                charged,
            )

    def _record(self, kind: str, outcome: str, alarms: int, operations: Counter[str]) -> None:
        with self._lock:
            row = self.rows[(kind, outcome)]
            row["units"] += 1
            row["alarms"] += alarms
            row["operations"].update(operations)
            row["units_by_writes"][writes(operations)] += 1
            row["units_by_alarms"][alarms] += 1

    def summary(self) -> list[dict[str, Any]]:
        rows = []
        for (kind, outcome), row in sorted(self.rows.items()):
            ops: Counter[str] = row["operations"]
            rows.append(
                {
                    "alarms": kind,
                    "outcome": outcome,
                    "units": row["units"],
                    "count": row["alarms"],
                    "dynamodb_writes": writes(ops),
                    "dynamodb_reads": reads(ops),
                    "writes_per_alarm": round(writes(ops) / row["alarms"], 4),
                    "reads_per_alarm": round(reads(ops) / row["alarms"], 4),
                    "by_operation": dict(sorted(ops.items())),
                    "units_by_write_count": {str(k): v for k, v in sorted(row["units_by_writes"].items())},
                    "units_by_alarm_count": {str(k): v for k, v in sorted(row["units_by_alarms"].items())},
                }
            )
        return rows

    def storm_writes_per_alarm(self) -> float | None:
        """Every write charged to the stormed alarm (its opening and failed units too) over its alarms."""
        storm = [row for (kind, _), row in self.rows.items() if kind == "storm"]
        alarms = sum(row["alarms"] for row in storm)
        return round(sum(writes(row["operations"]) for row in storm) / alarms, 4) if alarms else None
