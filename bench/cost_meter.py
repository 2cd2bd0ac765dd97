"""Counting what one incident asks of AWS on the local runtime, for bench/cost.py.

Every SDK call made in this process passes botocore's `BaseClient._make_api_call`; it is counted by service and
operation and charged to who made it: a function's invocation (LocalFunction.invoke, wrapped here), Lambda's
event source mapping (the queue pollers' receive/delete), Step Functions' own service integrations (moto's
engine, in its execution threads) or the bench driver (only its alarm notifications are billable: CloudWatch
publishes them). A scheduled function's invocations and its look-ups (the outbox relay's Query) are fixed costs,
counted apart; the effects it then carries out are the incident's.

DynamoDB bills capacity units, which moto does not compute (it answers a constant ConsumedCapacity). They are
computed here from moto's own items, inside its request lock, with the item before and after each write:
table writes round the larger image up to 1 KB (2 units each in a transaction), every global secondary index
whose entry appears, disappears, changes key or changes a projected attribute is written too (its entry: the
projected attributes, the keys and 100 bytes, rounded up to 1 KB; a key change is a delete and a put), and
reads round what was read up to 4 KB (half a unit when eventually consistent, two in a transaction).
Source: https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations
and .../CapacityUnitCalculations.html. A Query is charged for the items it returned (none of firebell's
incident-path queries filters), and a GSI write in a transaction at the standard rate.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections import Counter, defaultdict
from typing import Any

CALLER_HEADER = "X-Firebell-Caller"


def _caller(operation: str) -> str:
    from infra.local.faults import current_function  # (the runtime marks each handler invocation's thread)
    from infra.topology import TOPOLOGY

    function = current_function()
    if function and TOPOLOGY.function(function).trigger.kind == "schedule":
        # A scheduled function's own look-up is a fixed cost; what it then does for an incident is that incident's.
        return f"fixed:{function}" if operation == "Query" else f"function:{function}"
    if function:
        return f"function:{function}"
    name = threading.current_thread().name
    if name.startswith("poller-"):
        return "event-source-mapping"
    if threading.current_thread() is threading.main_thread():
        return "driver"
    return "stepfunctions-engine"


# --- DynamoDB item sizes (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").split("e")[0].split("E")[0].strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def value_size(value: dict) -> int:
    ((kind, data),) = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(data)
    if kind == "B":
        return len(base64.b64decode(data)) if isinstance(data, str) else len(data)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(n) for n in data)
    if kind == "BS":
        return sum(len(base64.b64decode(b)) for b in data)
    if kind == "L":
        return 3 + sum(1 + value_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + value_size(v) for k, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict | None) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in (item or {}).items())


def _units(size: int, per: int) -> int:
    return max(1, math.ceil(size / per))


class _Index:
    def __init__(self, name: str, keys: list[str], table_keys: list[str], projection: dict) -> None:
        self.name = name
        self.keys = keys
        self.table_keys = table_keys
        self.kind = projection.get("ProjectionType", "ALL")
        self.non_key = set(projection.get("NonKeyAttributes", []))

    def entry(self, item: dict | None) -> dict | None:
        if not item or any(k not in item for k in self.keys):
            return None  # sparse: only items with every index key are in it
        if self.kind == "ALL":
            return item
        kept = set(self.keys) | set(self.table_keys) | (self.non_key if self.kind == "INCLUDE" else set())
        return {k: v for k, v in item.items() if k in kept}

    def write_units(self, before: dict | None, after: dict | None) -> int:
        old, new = self.entry(before), self.entry(after)
        if old == new:
            return 0
        if old is None or new is None:
            return _units(item_size(old or new) + 100, 1024)
        if any(old[k] != new[k] for k in self.keys):
            return _units(item_size(old) + 100, 1024) + _units(item_size(new) + 100, 1024)
        return _units(item_size(new) + 100, 1024)


class DynamoCapacity:
    """Capacity units per caller, per table and per index, computed from moto's items (see the module doc)."""

    def __init__(self, account: str, region: str) -> None:
        self._account, self._region = account, region
        self.write_units: Counter[str] = Counter()  # (caller) → table write units
        self.index_write_units: Counter[tuple[str, str]] = Counter()  # (caller, index)
        self.read_units: Counter[str] = Counter()
        self.item_writes: Counter[tuple[str, str]] = Counter()  # (caller, sk prefix): how often each kind was written
        self.kind_write_units: Counter[tuple[str, str]] = Counter()  # (caller, sk prefix): their table write units
        self.armed = False

    def install(self) -> None:
        """Before infra.local.moto_patches.serialise_dynamodb: it then wraps this, and this runs inside its lock."""
        from moto.dynamodb.responses import DynamoHandler

        original = DynamoHandler.call_action
        meter = self

        def call_action(handler):  # type: ignore[no-untyped-def]
            if not meter.armed:
                return original(handler)
            operation = handler.get_endpoint_name(handler.headers) or ""
            body = json.loads(handler.body or "{}")
            caller = handler.headers.get(CALLER_HEADER, "unknown")
            writes = meter._writes(operation, body)
            before = [meter._item(table, key) for table, key, _ in writes]
            response = original(handler)
            failed = isinstance(response, tuple) and int(response[0]) >= 400
            after = [meter._item(table, key) for table, key, _ in writes]
            meter._charge(caller, operation, body, writes, before, after, failed, response)
            return response

        DynamoHandler.call_action = call_action  # type: ignore[method-assign]

    # --- moto's tables -----------------------------------------------------------------------------

    def _table(self, name: str) -> Any:
        from moto.dynamodb.models import dynamodb_backends

        return dynamodb_backends[self._account][self._region].tables[name]

    def _key_names(self, table_name: str) -> list[str]:
        table = self._table(table_name)
        return [table.hash_key_attr] + ([table.range_key_attr] if table.range_key_attr else [])

    def _key_of(self, table_name: str, item: dict) -> dict:
        return {n: item[n] for n in self._key_names(table_name)}

    def _item(self, table_name: str, key: dict) -> dict | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        table = self._table(table_name)
        hash_key = DynamoType(key[table.hash_key_attr])
        range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        found = table.get_item(hash_key, range_key)
        return found.to_json()["Attributes"] if found else None

    def _indexes(self, table_name: str) -> list[_Index]:
        table_keys = self._key_names(table_name)
        return [
            _Index(i.name, [k["AttributeName"] for k in i.schema], table_keys, i.projection)
            for i in self._table(table_name).global_indexes
        ]

    def _writes(self, operation: str, body: dict) -> list[tuple[str, dict, bool]]:
        """(table, key, transactional) of every item the request may write."""
        if operation in ("PutItem",):
            return [(body["TableName"], self._key_of(body["TableName"], body["Item"]), False)]
        if operation in ("UpdateItem", "DeleteItem"):
            return [(body["TableName"], body["Key"], False)]
        if operation == "BatchWriteItem":
            return [
                (
                    table,
                    self._key_of(table, r["PutRequest"]["Item"]) if "PutRequest" in r else r["DeleteRequest"]["Key"],
                    False,
                )
                for table, requests in body["RequestItems"].items()
                for r in requests
            ]
        if operation == "TransactWriteItems":
            found = []
            for entry in body["TransactItems"]:
                ((kind, op),) = entry.items()
                key = self._key_of(op["TableName"], op["Item"]) if kind == "Put" else op["Key"]
                found.append((op["TableName"], key, True))
            return found
        return []

    # --- charging -------------------------------------------------------------------------------------

    def _charge(
        self,
        caller: str,
        operation: str,
        body: dict,
        writes: list,
        before: list,
        after: list,
        failed: bool,
        response: Any,
    ) -> None:
        for (table, key, transactional), old, new in zip(writes, before, after, strict=True):
            units = (2 if transactional else 1) * _units(max(item_size(old), item_size(new)), 1024)
            kind = (key.get("sk", {}).get("S", "") or "").split("#")[0] or "?"
            self.write_units[caller] += units
            self.kind_write_units[(caller, kind)] += units
            if failed:
                continue  # a failed condition costs the write, changes no index
            self.item_writes[(caller, kind)] += 1
            for index in self._indexes(table):
                self.index_write_units[(caller, index.name)] += index.write_units(old, new)
        if operation in ("GetItem", "Query", "BatchGetItem", "TransactGetItems", "Scan") and not failed:
            self.read_units[caller] += self._read_units(
                operation, body, json.loads(response[2]) if isinstance(response, tuple) else {}
            )

    @staticmethod
    def _read_units(operation: str, body: dict, answer: dict) -> float:
        factor = 1.0 if body.get("ConsistentRead") else 0.5
        if operation == "GetItem":
            return factor * _units(item_size(answer.get("Item")), 4096)
        if operation in ("Query", "Scan"):
            return factor * _units(sum(item_size(i) for i in answer.get("Items", [])), 4096)
        if operation == "BatchGetItem":
            consistent = {t: r.get("ConsistentRead", False) for t, r in body.get("RequestItems", {}).items()}
            return sum(
                (1.0 if consistent.get(t) else 0.5) * _units(item_size(i), 4096)
                for t, items in answer.get("Responses", {}).items()
                for i in items
            )
        return sum(2 * _units(item_size(r.get("Item")), 4096) for r in answer.get("Responses", []))


class CallMeter:
    """Every SDK call in this process, by caller, service and operation; Lambda invocations and their duration."""

    def __init__(self) -> None:
        self.calls: Counter[tuple[str, str, str]] = Counter()  # (caller, service, operation)
        self.sms = 0
        self.invocations: Counter[tuple[str, str]] = Counter()  # (function, trigger kind)
        self.gb_seconds: defaultdict[tuple[str, str], float] = defaultdict(float)
        self.armed = False
        self._lock = threading.Lock()

    def install(self) -> None:
        import botocore.client
        import botocore.endpoint

        from infra.local import lambdas

        meter = self
        make_api_call = botocore.client.BaseClient._make_api_call
        create_request = botocore.endpoint.Endpoint.create_request

        def counted(client, operation_name, api_params):  # type: ignore[no-untyped-def]
            answer = make_api_call(client, operation_name, api_params)
            if meter.armed:
                service, caller = client.meta.service_model.service_name, _caller(operation_name)
                if (
                    caller == "event-source-mapping"
                    and operation_name == "ReceiveMessage"
                    and not answer.get("Messages")
                ):
                    caller += "-idle"  # Lambda's pollers ask all the time: a fixed cost, not an incident's
                with meter._lock:
                    meter.calls[(caller, service, operation_name)] += 1
                    if service == "sns" and operation_name == "Publish" and "PhoneNumber" in api_params:
                        meter.sms += 1
            return answer

        def tagged(endpoint, params, operation_model=None):  # type: ignore[no-untyped-def]
            params.setdefault("headers", {})[CALLER_HEADER] = _caller(operation_model.name if operation_model else "")
            return create_request(endpoint, params, operation_model)

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[method-assign]
        botocore.endpoint.Endpoint.create_request = tagged  # type: ignore[method-assign]
        invoke = lambdas.LocalFunction.invoke

        def timed(function, event):  # type: ignore[no-untyped-def]
            trigger = function.spec.trigger.kind
            started = time.perf_counter()
            try:
                return invoke(function, event)
            finally:
                if meter.armed:
                    # Lambda bills each invocation's duration rounded up to the millisecond, times its memory.
                    billed_ms = math.ceil((time.perf_counter() - started) * 1000)
                    with meter._lock:
                        meter.invocations[(function.spec.name, trigger)] += 1
                        meter.gb_seconds[(function.spec.name, trigger)] += (
                            billed_ms / 1000 * function.spec.memory_mb / 1024
                        )

        lambdas.LocalFunction.invoke = timed  # type: ignore[method-assign]
