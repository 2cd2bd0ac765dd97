"""Incident lifecycle: triggered → acknowledged → resolved → closed, reopen from resolved."""

from .enums import Action, Status
from .errors import InvalidTransition

_TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.TRIGGERED, Action.ACKNOWLEDGE): Status.ACKNOWLEDGED,
    (Status.TRIGGERED, Action.RESOLVE): Status.RESOLVED,
    (Status.ACKNOWLEDGED, Action.RESOLVE): Status.RESOLVED,
    (Status.RESOLVED, Action.CLOSE): Status.CLOSED,
    (Status.RESOLVED, Action.REOPEN): Status.TRIGGERED,
}

_WHY_NOT: dict[tuple[Status, Action], str] = {
    (Status.ACKNOWLEDGED, Action.ACKNOWLEDGE): "it is already acknowledged",
    (Status.RESOLVED, Action.ACKNOWLEDGE): "it is resolved; reopen it first",
    (Status.CLOSED, Action.ACKNOWLEDGE): "it is closed",
    (Status.RESOLVED, Action.RESOLVE): "it is already resolved",
    (Status.CLOSED, Action.RESOLVE): "it is closed",
    (Status.TRIGGERED, Action.CLOSE): "only a resolved incident can be closed",
    (Status.ACKNOWLEDGED, Action.CLOSE): "only a resolved incident can be closed",
    (Status.CLOSED, Action.CLOSE): "it is already closed",
    (Status.TRIGGERED, Action.REOPEN): "it is still open",
    (Status.ACKNOWLEDGED, Action.REOPEN): "it is still open",
    (Status.CLOSED, Action.REOPEN): "a closed incident cannot be reopened; open a new one",
}


def next_status(reference: str, current: Status, action: Action) -> Status:
    """The status after `action`, or InvalidTransition saying why the action is refused."""
    try:
        return _TRANSITIONS[(current, action)]
    except KeyError:
        reason = _WHY_NOT.get((current, action), f"not allowed from {current}")
        raise InvalidTransition(reference, current, action, reason) from None


def is_open(status: Status) -> bool:
    return status in (Status.TRIGGERED, Status.ACKNOWLEDGED)
