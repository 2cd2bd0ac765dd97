"""Page cursors: opaque to callers, bound to the query that made them.

A cursor is `base64url(JSON {"q": query, "k": position}) "." checksum`. The checksum (SHA-256 over the JSON)
catches a cursor edited or cut short; `q` catches one reused with another filter, which would otherwise
start a query from a position inside another index (DynamoDB refuses that, or returns a silently wrong page).
It is a checksum, not a MAC: whoever recomputes it can only point the same query somewhere else, which the
store checks against the key shape its index returns (data/store.py), and which reads nothing they could
not list anyway.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from .errors import InvalidCursor

MAX_CURSOR = 2_048


def _checksum(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()[:24]


def seal(position: Any, query: Any) -> str:
    payload = json.dumps({"q": query, "k": position}, separators=(",", ":"), sort_keys=True).encode()
    return f"{base64.urlsafe_b64encode(payload).decode().rstrip('=')}.{_checksum(payload)}"


def unseal(cursor: str, query: Any) -> Any:
    """The position sealed in `cursor`, or InvalidCursor if it was altered or made by another query."""
    encoded, _, checksum = cursor.partition(".")
    try:
        payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        document = json.loads(payload) if len(cursor) <= MAX_CURSOR and checksum == _checksum(payload) else None
    except (binascii.Error, ValueError):
        document = None
    if not isinstance(document, dict) or set(document) != {"q", "k"}:
        raise InvalidCursor(cursor)
    # The query as JSON would round-trip it (tuples become lists): compare like with like.
    if document["q"] != json.loads(json.dumps(query)):
        raise InvalidCursor(cursor, "was made for another filter: list again from the first page")
    return document["k"]
