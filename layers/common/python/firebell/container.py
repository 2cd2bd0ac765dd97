"""Which function this code runs as, and its environment.

In Lambda every function is a process of its own: its environment is os.environ, and caches are per process.
The local runtime runs every function's handler in one process; it says which function a call runs as
(`running_as`), so that each sees only its own environment and builds its own objects, as in AWS: a missing
variable fails locally too.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import TypeVar

T = TypeVar("T")
_running_as: ContextVar[tuple[str, Mapping[str, str]] | None] = ContextVar("firebell_function", default=None)
_every_per_function_cache: list[Callable[[], None]] = []


def current_function() -> str | None:
    """The function this call runs as locally (None in Lambda, and outside any function)."""
    found = _running_as.get()
    return found[0] if found else None


def environ() -> Mapping[str, str]:
    found = _running_as.get()
    return found[1] if found else os.environ


@contextmanager
def running_as(function: str, environment: Mapping[str, str]) -> Iterator[None]:
    token = _running_as.set((function, environment))
    try:
        yield
    finally:
        _running_as.reset(token)


def per_function(build: Callable[[], T]) -> Callable[[], T]:
    """functools.cache for a builder, one value per function (in Lambda: one per process)."""
    built: dict[str | None, T] = {}
    lock = threading.Lock()

    @wraps(build)
    def get() -> T:
        key = current_function()
        if key not in built:
            with lock:
                if key not in built:
                    built[key] = build()
        return built[key]

    get.cache_clear = built.clear  # type: ignore[attr-defined]
    _every_per_function_cache.append(built.clear)
    return get


def forget_everything_built() -> None:
    """Clear every per_function cache (tests change the environment between cases)."""
    for clear in _every_per_function_cache:
        clear()
