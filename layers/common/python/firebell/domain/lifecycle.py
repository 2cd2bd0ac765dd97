"""Incident lifecycle (ITIL): triggered → acknowledged ⇄ on hold → resolved → closed; reopen from resolved."""

from .enums import Action, Status
from .errors import InvalidTransition

_TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.TRIGGERED, Action.ACKNOWLEDGE): Status.ACKNOWLEDGED,
    (Status.ACKNOWLEDGED, Action.HOLD): Status.ON_HOLD,
    (Status.ON_HOLD, Action.RESUME): Status.ACKNOWLEDGED,
    (Status.ACKNOWLEDGED, Action.RETRIGGER): Status.TRIGGERED,
    (Status.TRIGGERED, Action.RESOLVE): Status.RESOLVED,
    (Status.ACKNOWLEDGED, Action.RESOLVE): Status.RESOLVED,
    (Status.ON_HOLD, Action.RESOLVE): Status.RESOLVED,
    (Status.RESOLVED, Action.CLOSE): Status.CLOSED,
    (Status.RESOLVED, Action.REOPEN): Status.TRIGGERED,
}

_WHY_NOT: dict[tuple[Status, Action], str] = {
    (Status.ACKNOWLEDGED, Action.ACKNOWLEDGE): "it is already acknowledged",
    (Status.ON_HOLD, Action.ACKNOWLEDGE): "it is on hold (acknowledged); resume it instead",
    (Status.RESOLVED, Action.ACKNOWLEDGE): "it is resolved; reopen it first",
    (Status.CLOSED, Action.ACKNOWLEDGE): "it is closed",
    (Status.TRIGGERED, Action.HOLD): "acknowledge it before putting it on hold",
    (Status.ON_HOLD, Action.HOLD): "it is already on hold",
    (Status.TRIGGERED, Action.RESUME): "it is not on hold",
    (Status.ACKNOWLEDGED, Action.RESUME): "it is not on hold",
    (Status.TRIGGERED, Action.RETRIGGER): "it is already triggered",
    (Status.ON_HOLD, Action.RETRIGGER): "it is on hold; resume it first",
    (Status.RESOLVED, Action.RESOLVE): "it is already resolved",
    (Status.CLOSED, Action.RESOLVE): "it is closed",
    (Status.TRIGGERED, Action.CLOSE): "only a resolved incident can be closed",
    (Status.ACKNOWLEDGED, Action.CLOSE): "only a resolved incident can be closed",
    (Status.ON_HOLD, Action.CLOSE): "only a resolved incident can be closed",
    (Status.CLOSED, Action.CLOSE): "it is already closed",
    (Status.TRIGGERED, Action.REOPEN): "it is still open",
    (Status.ACKNOWLEDGED, Action.REOPEN): "it is still open",
    (Status.ON_HOLD, Action.REOPEN): "it is still open",
    (Status.CLOSED, Action.REOPEN): "a closed incident cannot be reopened; open a new one",
}


def next_status(reference: str, current: Status, action: Action) -> Status:
    """The status after `action`, or InvalidTransition saying why the action is refused."""
    try:
        return _TRANSITIONS[(current, action)]
    except KeyError:
        reason = _WHY_NOT.get((current, action), f"it is {current}")
        raise InvalidTransition(reference, current, action, reason) from None


def is_open(status: Status) -> bool:
    return status in (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.ON_HOLD)
