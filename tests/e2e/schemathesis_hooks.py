"""Loaded into schemathesis's own process (SCHEMATHESIS_HOOKS): one ast.parse at a time.

Python 3.11 keeps the AST constructor's recursion depth in interpreter-wide state, so two threads parsing at
once can raise "SystemError: AST constructor recursion depth mismatch" (cpython gh-106905).
Hypothesis parses lambda sources to describe filtered strategies, and `--workers 2` runs two threads doing it:
the run then ends with a runtime error in schemathesis itself, not a finding about the API.
"""

from __future__ import annotations

import ast
import functools
import threading

_one_parse_at_a_time = threading.Lock()
_parse = ast.parse


@functools.wraps(_parse)
def _serialised_parse(*args, **kwargs):  # type: ignore[no-untyped-def]
    with _one_parse_at_a_time:
        return _parse(*args, **kwargs)


ast.parse = _serialised_parse  # type: ignore[assignment]


# --- Slack's routes: signed as Slack signs, so that schemathesis reaches what is behind the signature ----------
# (tests/e2e/test_schemathesis.py passes the local runtime's Slack signing secret. A body sent again gets a
# timestamp (within Slack's 5 minutes) it was not signed with before, so that no signature repeats: a repeat is
# a replay, refused.)

import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402
from collections.abc import Mapping  # noqa: E402
from urllib.parse import urlencode  # noqa: E402

import schemathesis  # noqa: E402

_SECRET = os.environ.get("FIREBELL_SLACK_SIGNING_SECRET", "")
_signed: dict[bytes, set[int]] = {}  # body → the timestamps it was signed with
_signed_lock = threading.Lock()


@schemathesis.hook
def before_call(context, case, kwargs):  # type: ignore[no-untyped-def]
    if not (_SECRET and case.path.startswith("/chat/slack/")):
        return
    body = case.body
    if isinstance(body, Mapping):  # (as requests would encode it: each value a string)
        body = urlencode({str(k): v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
    elif not isinstance(body, (str, bytes)):
        try:
            body = json.dumps(body)  # (an array or a scalar: sent as JSON, as schemathesis would)
        except TypeError:
            body = ""  # (no body at all: schemathesis's NOT_SET)
    case.body = body
    raw = body.encode() if isinstance(body, str) else body
    with _signed_lock:
        used = _signed.setdefault(hashlib.sha256(raw).digest(), set())
        now = int(time.time())
        fresh = next(now - age for age in range(240) if now - age not in used)
        used.add(fresh)
    timestamp = str(fresh)
    signature = "v0=" + hmac.new(_SECRET.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
    case.headers = {**(case.headers or {}), "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
