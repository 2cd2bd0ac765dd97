"""A queue batch's alerts, grouped so that the copies of one alert cost one write (AlertIntake.handle_batch).

Per alert (its dedup key), in arrival order: consecutive triggers form one group, counted in one write; any
other signal (a recovery, an acknowledgement, a state to record) is a group of its own and ends the run, so an
OK between two ALARMs keeps them apart, and the groups of one alert keep their order. Signals of other alerts in
between end nothing: one alert's signals are not ordered against another's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .models import Signal


@dataclass(frozen=True, slots=True)
class Arrival:
    """One alert as a queue delivered it."""

    signal: Signal
    message_id: str | None = None  # the notification's id, the same on every redelivery (it counts once)
    redelivered: bool = False  # an earlier attempt at it may have failed midway


@dataclass(frozen=True, slots=True)
class SignalGroup:
    positions: tuple[int, ...]  # where its arrivals are in the batch, ascending
    arrivals: tuple[Arrival, ...]

    @property
    def signal(self) -> Signal:
        """The first arrival's signal: the one that opens, reopens or resolves; the rest are its repeats."""
        return self.arrivals[0].signal

    @property
    def dedup_key(self) -> str:
        return self.arrivals[0].signal.dedup_key

    @property
    def message_ids(self) -> list[str | None]:
        return [arrival.message_id for arrival in self.arrivals]

    @property
    def redelivered(self) -> bool:
        return any(arrival.redelivered for arrival in self.arrivals)


def group_arrivals(arrivals: Sequence[Arrival], limit: int) -> list[SignalGroup]:
    """The batch's groups, ordered by their first arrival; a run of triggers longer than `limit` is split."""
    groups: list[list[int]] = []
    runs: dict[str, list[int]] = {}  # per alert, the run of triggers still open
    for position, arrival in enumerate(arrivals):
        key = arrival.signal.dedup_key
        if arrival.signal.action != "trigger":
            runs.pop(key, None)
            groups.append([position])
            continue
        run = runs.get(key)
        if run is not None and len(run) < limit:
            run.append(position)
            continue
        runs[key] = run = [position]
        groups.append(run)
    return [SignalGroup(tuple(group), tuple(arrivals[p] for p in group)) for group in groups]
