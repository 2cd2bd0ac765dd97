"""Where moto is weaker than the service it stands in for, locally.

DynamoDB applies each write to an item atomically and isolates transactions; moto runs a request in several
Python steps (and TransactWriteItems deep-copies every table), so concurrent requests from threads can lose
writes or fail with "dictionary changed size during iteration". One lock around moto's DynamoDB handler gives
back DynamoDB's guarantees (throughput is not what the local runtime is for).
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
    _installed = True
