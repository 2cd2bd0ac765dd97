"""A call retried in place over transient errors (throttling, timeouts, 5xx), with a short backoff: for the few
writes whose failure would cost more than a retry (marking a sent page done, dead-lettering with a reason)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from .domain.failures import is_transient

T = TypeVar("T")


def persevering(call: Callable[[], T], attempts: int = 5) -> T:
    for attempt in range(attempts):
        try:
            return call()
        except Exception as error:
            if attempt == attempts - 1 or not is_transient(error):
                raise
            time.sleep(0.05 * 2**attempt)
    raise AssertionError("unreachable")
