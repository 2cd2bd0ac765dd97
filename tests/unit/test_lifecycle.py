"""Incident lifecycle: every Status × Action pair is either an allowed transition or a refusal with a reason."""

from __future__ import annotations

import itertools

import pytest

from firebell.domain.enums import Action, Status
from firebell.domain.errors import DomainError, InvalidTransition
from firebell.domain.lifecycle import is_open, next_status

ALLOWED = {
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

# The reason a caller reads in the 409 for every refused pair.
REFUSED = {
    (Status.ACKNOWLEDGED, Action.ACKNOWLEDGE): "it is already acknowledged",
    (Status.ON_HOLD, Action.ACKNOWLEDGE): "it is on hold (acknowledged); resume it instead",
    (Status.RESOLVED, Action.ACKNOWLEDGE): "it is resolved; reopen it first",
    (Status.CLOSED, Action.ACKNOWLEDGE): "it is closed",
    (Status.TRIGGERED, Action.HOLD): "acknowledge it before putting it on hold",
    (Status.ON_HOLD, Action.HOLD): "it is already on hold",
    (Status.RESOLVED, Action.HOLD): "it is resolved",
    (Status.CLOSED, Action.HOLD): "it is closed",
    (Status.TRIGGERED, Action.RESUME): "it is not on hold",
    (Status.ACKNOWLEDGED, Action.RESUME): "it is not on hold",
    (Status.RESOLVED, Action.RESUME): "it is resolved",
    (Status.CLOSED, Action.RESUME): "it is closed",
    (Status.TRIGGERED, Action.RETRIGGER): "it is already triggered",
    (Status.ON_HOLD, Action.RETRIGGER): "it is on hold; resume it first",
    (Status.RESOLVED, Action.RETRIGGER): "it is resolved",
    (Status.CLOSED, Action.RETRIGGER): "it is closed",
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

ALL_PAIRS = list(itertools.product(Status, Action))


def _id(pair) -> str:
    return f"{pair[0].value}-{pair[1].value}"


def test_every_pair_is_either_allowed_or_refused():
    """Given the 5 statuses × 7 actions, then each of the 35 pairs is classified exactly once."""
    assert len(ALL_PAIRS) == 35
    assert set(ALLOWED) | set(REFUSED) == set(ALL_PAIRS)
    assert not set(ALLOWED) & set(REFUSED)


@pytest.mark.parametrize(("current", "action"), list(ALLOWED), ids=[_id(p) for p in ALLOWED])
def test_allowed_transitions(current, action):
    """Given an incident in `current`, when `action` is applied, then it moves to the expected status."""
    assert next_status("INC-7", current, action) is ALLOWED[(current, action)]


@pytest.mark.parametrize(("current", "action"), list(REFUSED), ids=[_id(p) for p in REFUSED])
def test_refused_transitions_say_why(current, action):
    """Given an incident in `current`, when a disallowed `action` is applied, then InvalidTransition says why."""
    with pytest.raises(InvalidTransition) as caught:
        next_status("INC-7", current, action)

    error = caught.value
    assert isinstance(error, DomainError)  # the API maps it to 409
    assert error.status is current and error.action is action
    assert str(error) == f"cannot {action.value} INC-7: {REFUSED[(current, action)]}"


@pytest.mark.parametrize(("current", "action"), ALL_PAIRS, ids=[_id(p) for p in ALL_PAIRS])
def test_every_pair_either_moves_or_raises(current, action):
    """Given any pair, then next_status returns a Status or raises InvalidTransition: never anything else."""
    try:
        result = next_status("INC-1", current, action)
    except InvalidTransition as error:
        assert str(error).startswith(f"cannot {action.value} INC-1: ")
        assert (current, action) in REFUSED
    else:
        assert isinstance(result, Status) and (current, action) in ALLOWED


@pytest.mark.parametrize("status", list(Status))
def test_only_triggered_acknowledged_and_on_hold_are_open(status):
    """Given each status, then triggered, acknowledged and on-hold incidents count as open; resolved and
    closed ones do not."""
    assert is_open(status) is (status in (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.ON_HOLD))


def test_closed_is_terminal():
    """Given a closed incident, then no action at all is allowed on it."""
    for action in Action:
        with pytest.raises(InvalidTransition):
            next_status("INC-1", Status.CLOSED, action)


def test_on_hold_round_trip_and_retrigger():
    """Given an acknowledged incident, when held then resumed, then it is acknowledged again; an
    acknowledged incident re-triggered (ack timeout or manual escalation) is triggered and can be
    acknowledged once more."""
    held = next_status("INC-1", Status.ACKNOWLEDGED, Action.HOLD)
    resumed = next_status("INC-1", held, Action.RESUME)
    retriggered = next_status("INC-1", resumed, Action.RETRIGGER)
    assert (held, resumed, retriggered) == (Status.ON_HOLD, Status.ACKNOWLEDGED, Status.TRIGGERED)
    assert next_status("INC-1", retriggered, Action.ACKNOWLEDGE) is Status.ACKNOWLEDGED
