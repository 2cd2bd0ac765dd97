"""A queue batch's alerts, grouped so that the copies of one alert cost one write (AlertIntake.handle_batch).

Per alert (its dedup key), in arrival order: consecutive triggers form one group, counted in one write; any
other signal (a recovery, an acknowledgement, a state to record) is a group of its own and ends the run, so an
OK between two ALARMs keeps them apart, and the groups of one alert keep their order. Signals of other alerts in
between end nothing: one alert's signals are not ordered against another's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

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
    def triggered_at(self) -> datetime | None:
        """When the source says the alert last changed to firing: the latest of the copies' times (a run of
        triggers may hold two firings whose recovery in between arrives late)."""
        times = [utc(a.signal.changed_at) for a in self.arrivals if a.signal.changed_at is not None]
        return max(times) if times else None

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


def utc(moment: datetime) -> datetime:
    """A source's time in UTC; one without an offset is taken as UTC (CloudWatch's are)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def out_of_order(changed_at: datetime | None, latest: datetime | None) -> bool:
    """A signal whose state change (by the source's clock) is older than the latest one already applied: it arrived
    out of order (SNS and SQS do not keep order; a failed delivery comes back later) and must not undo that one."""
    return changed_at is not None and latest is not None and utc(changed_at) < utc(latest)
