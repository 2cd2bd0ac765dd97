"""SLA clocks: response and resolution targets per priority, at-risk and breach moments, pause and resume.

Every duration is multiplied by `time_scale` (1 in AWS; the local runtime shrinks minutes to seconds).
"""

from datetime import UTC, datetime, timedelta
from typing import Any

from .enums import Priority
from .models import SlaClock, SlaTimer
from .rules import Rules


def state_machine_time(moment: datetime) -> str:
    """RFC 3339 in UTC with an uppercase Z, as TimestampPath wants, rounded UP to the second: Wait
    states are second-grained, and a wake-up must never come before the moment it stands for."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        utc = utc.replace(microsecond=0) + timedelta(seconds=1)
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def scaled(minutes: float, time_scale: float) -> timedelta:
    return timedelta(minutes=minutes * time_scale)


def _timer(target_minutes: float, start: datetime, at_risk_share: float, time_scale: float) -> SlaTimer:
    return SlaTimer(
        target_minutes=target_minutes,
        at_risk_at=start + scaled(target_minutes * at_risk_share, time_scale),
        due_at=start + scaled(target_minutes, time_scale),
    )


def start_clock(priority: Priority, opened_at: datetime, rules: Rules, time_scale: float = 1.0) -> SlaClock:
    target = rules.sla_targets[priority]
    share = rules.process.sla_at_risk_share
    return SlaClock(
        response=_timer(target.response_minutes, opened_at, share, time_scale),
        resolution=_timer(target.resolution_minutes, opened_at, share, time_scale),
    )


def pause(clock: SlaClock, at: datetime) -> SlaClock:
    return clock if clock.paused_since else clock.model_copy(update={"paused_since": at})


def resume(clock: SlaClock, at: datetime) -> SlaClock:
    """Shift every unmet moment by the time spent paused, and re-arm (a new generation)."""
    if clock.paused_since is None:
        return clock
    pause_length = at - clock.paused_since

    def shifted(timer: SlaTimer) -> SlaTimer:
        if timer.met_at or timer.breached_at:
            return timer
        return timer.model_copy(
            update={"at_risk_at": timer.at_risk_at + pause_length, "due_at": timer.due_at + pause_length}
        )

    return clock.model_copy(
        update={
            "response": shifted(clock.response),
            "resolution": shifted(clock.resolution),
            "paused_since": None,
            "paused_seconds": clock.paused_seconds + pause_length.total_seconds(),
            "generation": clock.generation + 1,
        }
    )


def meet(clock: SlaClock, which: str, at: datetime) -> SlaClock:
    timer: SlaTimer = getattr(clock, which)
    if timer.met_at:
        return clock
    return clock.model_copy(update={which: timer.model_copy(update={"met_at": at})})


def pending_moments(clock: SlaClock, update_due: datetime | None = None) -> list[tuple[datetime, str, str]]:
    """(when, clock, moment) of each moment still to come: either SLA target's next ("at_risk" or "breach"; none
    while paused) and the next stakeholder update round's ("updates", "due")."""
    moments = []
    if clock.paused_since is None:
        for which in ("response", "resolution"):
            timer: SlaTimer = getattr(clock, which)
            if timer.met_at or timer.breached_at:
                continue
            moments.append(
                (timer.due_at, which, "breach") if timer.at_risk_notified_at else (timer.at_risk_at, which, "at_risk")
            )
    if update_due is not None:
        moments.append((update_due, "updates", "due"))
    return moments


def next_moment(clock: SlaClock, update_due: datetime | None = None) -> tuple[str, str, datetime] | None:
    """The earliest pending moment as (clock, moment, when); None when nothing is left to wait for. The SLA
    state machine waits for one moment a run."""
    moments = pending_moments(clock, update_due)
    if not moments:
        return None
    at, which, moment = min(moments)
    return which, moment, at


def wake_input(incident_id: str, generation: int, clock: str, moment: str, at: datetime) -> dict[str, Any]:
    """Input of the SLA state machine: the one moment it waits for."""
    return {
        "incident_id": incident_id,
        "generation": generation,
        "clock": clock,
        "moment": moment,
        "at": state_machine_time(at),
    }
