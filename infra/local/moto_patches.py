"""Where moto is weaker than the service it stands in for, locally.

DynamoDB applies each write to an item atomically and isolates transactions; moto runs a request in several
Python steps, so concurrent requests from threads can lose writes or fail with "dictionary changed size during
iteration". One lock around moto's DynamoDB handler gives back DynamoDB's guarantees (throughput is not what the
local runtime is for).

moto also backs up every table a TransactWriteItems touches by deep-copying it whole, before each transaction:
the time and memory grow with the table (a few thousand transactions on a few hundred incidents took a local
runtime past 20 GB). With the lock, backing up just the items the transaction writes is enough to roll back.

EventBridge delivers every event with its `account`; moto's default target input leaves it out.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_installed = False


def serialise_dynamodb() -> None:
    """Idempotent: every DynamoDB request moto serves in this process runs alone."""
    global _installed
    if _installed:
        return
    from moto.dynamodb.responses import DynamoHandler

    original = DynamoHandler.call_action

    def call_action(self):  # type: ignore[no-untyped-def]
        with _lock:
            return original(self)

    DynamoHandler.call_action = call_action  # type: ignore[method-assign]
    _back_up_items_not_tables()
    _installed = True


def _back_up_items_not_tables() -> None:
    import copy
    import types

    from moto.dynamodb import models
    from moto.dynamodb.models.table import Table

    # moto's transact_write_items deep-copies whole tables through its module's `copy`: hand it the table itself.
    models.copy = types.SimpleNamespace(
        deepcopy=lambda value, memo=None: value if isinstance(value, Table) else copy.deepcopy(value, memo),
        copy=copy.copy,
    )
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self, transact_items):  # type: ignore[no-untyped-def]
        backups = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            name = op.get("TableName")
            if name not in self.tables:
                continue
            table = self.get_table(name)
            key = op["Key"] if op_type != "Put" else {
                a: op["Item"][a] for a in (table.hash_key_attr, table.range_key_attr) if a is not None}
            current = self.get_item(name, key)
            backups.append((name, key, copy.deepcopy(current.to_json()["Attributes"]) if current else None))
        try:
            return original(self, transact_items)
        except Exception:
            for name, key, attributes in reversed(backups):  # put every item back as it was
                if attributes is not None:
                    self.put_item(name, attributes)
                elif self.get_item(name, key) is not None:
                    self.delete_item(name, key)
            raise

    models.DynamoDBBackend.transact_write_items = transact_write_items


def deliver_events_with_their_account() -> None:
    """Idempotent: events moto's EventBridge hands to a target carry `account`, as EventBridge's do."""
    from moto.events.utils import EventTemplateParser

    template = EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE
    if '"account"' not in template:
        EventTemplateParser.DEFAULT_EVENT_INPUT_TEMPLATE = template.replace('"source": "<source>", ', '"source": "<source>", "account": "<account>", ')
