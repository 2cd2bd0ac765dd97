"""The cyclic garbage collector during a function's init and first event (issue 10: cold start).

The import makes some 300,000 objects that live as long as the container (modules, classes, pydantic's and
botocore's tables), and next to no garbage; left on, the collector walks them again and again while they are made
(~160 collections, ~35 ms of a cold start: a third of `import botocore.session`). So each handler module calls
begin() before its imports and done() after them: no collections in between, then what the import made is frozen
(gc.freeze: kept out of every later collection, the first event's and each warm one's) and collecting resumes,
rarely at first: the first event also makes mostly what stays (clients, validators, the X-Ray recorder), ~50
collections (~6 ms) at the usual pace. The handler, wrapped by first_event(), restores the usual pace once its
first event is handled. What the import left as garbage in cycles stays, frozen: bench/memory shows no difference.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable
from typing import Any

# Allocations between two young collections during the first event (the interpreter's default is 700).
FIRST_EVENT_THRESHOLD = 50_000
_USUAL = gc.get_threshold()
_enabled_before = True
_first_event_pending = False


def begin() -> None:
    global _enabled_before
    _enabled_before = gc.isenabled()
    gc.disable()


def done() -> None:
    global _first_event_pending
    gc.freeze()
    gc.set_threshold(FIRST_EVENT_THRESHOLD, *_USUAL[1:])
    _first_event_pending = True
    if _enabled_before:
        gc.enable()


def first_event(handler: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """`handler`, after whose first event the collector keeps its usual pace."""

    @functools.wraps(handler)
    def handle(event: Any, context: Any) -> Any:
        global _first_event_pending
        try:
            return handler(event, context)
        finally:
            if _first_event_pending:
                _first_event_pending = False
                gc.set_threshold(*_USUAL)

    return handle
