"""Runs independent pieces of work at once, each on a thread of its own that carries the caller's context.

For work that mostly waits on AWS (a publish, a workflow start): their round trips overlap instead of adding up
(issue 10: a new incident's effects after its first page). Plain threads, not concurrent.futures: its import costs
more than the few threads a change needs. Each thread runs in a copy of the caller's context variables (the
function it runs as, locally: firebell/container.py); what else it needs from its caller (the trace entity its AWS
calls are recorded under: firebell/tracing.py, whose X-Ray context is per thread) is carried by the carriers
registered here.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")
# Each: called in the caller's thread, it returns what to call in a worker before the work and what after.
Carrier = Callable[[], tuple[Callable[[], None], Callable[[], None]]]
_carriers: list[Carrier] = []


def carry_into_threads(carrier: Carrier) -> None:
    """Have every thread started here take on what `carrier` captures of its caller."""
    if carrier not in _carriers:
        _carriers.append(carrier)


def run_at_once(work: Sequence[Callable[[], T]]) -> list[T | Exception]:
    """Each callable's result, or the exception it raised, in `work`'s order. The first runs in the caller's thread
    (one thread fewer); with one callable or none, nothing is started."""
    results: list[T | Exception] = [None] * len(work)  # type: ignore[list-item]

    def run(position: int) -> None:
        try:
            results[position] = work[position]()
        except Exception as error:
            results[position] = error

    carried = [carrier() for carrier in _carriers]

    def in_worker(position: int) -> None:
        for enter, _ in carried:
            enter()
        try:
            run(position)
        finally:
            for _, leave in carried:
                leave()

    threads = [
        threading.Thread(
            target=contextvars.copy_context().run,
            args=(in_worker, position),
            name=f"firebell-at-once-{position}",
            daemon=True,
        )
        for position in range(1, len(work))
    ]
    for thread in threads:
        thread.start()
    if work:
        run(0)
    for thread in threads:
        thread.join()
    return results
