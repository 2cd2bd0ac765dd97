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
