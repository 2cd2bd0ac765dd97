"""The state machines and the code agree on the strings between them (domain/enums.py): the message types
every machine sends, and the task outcomes every Choice after a wait tests. Both ways: nothing a machine uses is
unknown to the code, and nothing in the enums is unused by the machines."""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydantic import BaseModel

from firebell.domain import workflow_messages
from firebell.domain.enums import OUTCOMES_FOR, MessageType, TaskOutcome

from .conftest import ROOT

MACHINES = sorted((ROOT / "infra" / "statemachines").glob("*.asl.json"))
SEND = "arn:aws:states:::sqs:sendMessage"
SEND_AND_WAIT = "arn:aws:states:::sqs:sendMessage.waitForTaskToken"


@dataclass(frozen=True)
class Send:
    machine: str
    state: str
    message_type: str
    queue: str
    waits: bool
    outcome_path: str | None  # where the answer lands ($.answer → $.answer.outcome)
    next_state: str | None


def walk(states: dict[str, dict]) -> Iterator[tuple[str, dict, dict[str, dict]]]:
    """Every state, with the States block it lives in (Parallel branches and Map iterators included)."""
    for name, state in states.items():
        yield name, state, states
        for branch in state.get("Branches", []):
            yield from walk(branch["States"])
        for key in ("Iterator", "ItemProcessor"):
            if key in state:
                yield from walk(state[key]["States"])


def sends(path: Path) -> list[Send]:
    found = []
    for name, state, _ in walk(json.loads(path.read_text(encoding="utf-8"))["States"]):
        if state.get("Type") != "Task" or state.get("Resource") not in (SEND, SEND_AND_WAIT):
            continue
        body = state["Parameters"]["MessageBody"]
        assert "type" in body, f"{path.name} {name}: the message type must be a literal, not a path"
        waits = state["Resource"] == SEND_AND_WAIT
        result_path = state.get("ResultPath")
        found.append(
            Send(
                path.name,
                name,
                body["type"],
                state["Parameters"]["QueueUrl"],
                waits,
                f"{result_path}.outcome" if waits and result_path else None,
                state.get("Next"),
            )
        )
    return found


def choice_rules(path: Path) -> Iterator[tuple[str, dict, dict[str, dict]]]:
    for name, state, block in walk(json.loads(path.read_text(encoding="utf-8"))["States"]):
        if state.get("Type") == "Choice":
            for rule in state["Choices"]:
                yield name, rule, block


ALL_SENDS = [s for path in MACHINES for s in sends(path)]


def test_the_machines_are_found():
    assert {p.name.removesuffix(".asl.json") for p in MACHINES} >= {
        "escalation",
        "sla",
        "reminder",
        "resolution",
        "quiet",
        "maintenance",
    }
    assert ALL_SENDS


@pytest.mark.parametrize("send", ALL_SENDS, ids=lambda s: f"{s.machine}:{s.state}")
def test_every_message_type_sent_is_a_known_type_with_a_model(send: Send):
    assert send.message_type in set(MessageType), (
        f"{send.machine} {send.state} sends unknown type {send.message_type!r}"
    )
    assert MessageType(send.message_type) in MODEL_TYPES, (
        f"no model in domain/workflow_messages.py accepts {send.message_type!r}"
    )


@pytest.mark.parametrize("send", ALL_SENDS, ids=lambda s: f"{s.machine}:{s.state}")
def test_a_machine_waits_exactly_on_the_messages_that_get_an_answer(send: Send):
    assert (MessageType(send.message_type) in OUTCOMES_FOR) == send.waits, (
        f"{send.machine} {send.state}: {send.message_type!r} "
        + (
            "waits for a task token but OUTCOMES_FOR gives it no answers"
            if send.waits
            else "is in OUTCOMES_FOR but nothing waits for it"
        )
    )


@pytest.mark.parametrize("path", MACHINES, ids=lambda p: p.name)
def test_every_choice_on_an_outcome_tests_an_answer_the_waited_message_may_get(path: Path):
    waits = {s.state: s for s in sends(path) if s.waits}
    for choice_name, rule, _block in choice_rules(path):
        variable = rule.get("Variable", "")
        if not variable.endswith(".outcome"):
            continue
        assert "StringEquals" in rule, f"{path.name} {choice_name}: outcomes are compared with StringEquals"
        value = rule["StringEquals"]
        assert value in set(TaskOutcome), f"{path.name} {choice_name}: unknown outcome {value!r}"
        # The Choice tests the answer to the wait just before it.
        (wait,) = [s for s in waits.values() if s.next_state == choice_name and s.outcome_path == variable]
        assert TaskOutcome(value) in OUTCOMES_FOR[MessageType(wait.message_type)], (
            f"{path.name} {choice_name} expects {value!r} after {wait.message_type!r}, which never gets it"
        )


def outcomes_named_by_choices() -> set[str]:
    return {
        rule["StringEquals"]
        for path in MACHINES
        for _, rule, _ in choice_rules(path)
        if rule.get("Variable", "").endswith(".outcome")
    }


# Accepted from runs started before their machine stopped sending them (a Standard run keeps its definition).
NO_LONGER_SENT = {
    MessageType.ESCALATION_EXHAUSTED,  # now the escalation's last step: escalation.page without a level
    MessageType.SLA_AT_RISK,
    MessageType.SLA_BREACHED,  # now sla.wake, which names its moment
}


def test_every_message_type_is_sent_by_some_machine():
    assert set(MessageType) - NO_LONGER_SENT == {MessageType(s.message_type) for s in ALL_SENDS}


def caught_answers(path: Path) -> Iterator[tuple[str, str, str]]:
    """(state, error, next state) for every catcher of a waiting state that catches one of firebell's answers."""
    waits = {s.state: s for s in sends(path) if s.waits}
    for name, state, _ in walk(json.loads(path.read_text(encoding="utf-8"))["States"]):
        for catcher in state.get("Catch", []):
            for error in catcher["ErrorEquals"]:
                if error.startswith("firebell."):
                    assert name in waits, f"{path.name} {name} catches {error!r} but waits for no answer"
                    yield name, error, catcher["Next"]


@pytest.mark.parametrize("path", MACHINES, ids=lambda p: p.name)
def test_every_answer_a_machine_catches_is_one_the_waited_message_may_get_and_is_never_retried(path: Path):
    from firebell.adapters.aws import ROUTED_AS_ERRORS, answer_error

    waits = {s.state: s for s in sends(path) if s.waits}
    states = {name: state for name, state, _ in walk(json.loads(path.read_text(encoding="utf-8"))["States"])}
    for name, error, _ in caught_answers(path):
        outcome = error.removeprefix("firebell.")
        assert outcome in ROUTED_AS_ERRORS and answer_error(outcome) == error, (
            f"{path.name} {name}: {error!r} is not sent as an error"
        )
        assert TaskOutcome(outcome) in OUTCOMES_FOR[MessageType(waits[name].message_type)]
        # States.TaskFailed matches every error but States.Timeout: an answer must meet a retrier that never retries first.
        first = next(
            r
            for r in states[name].get("Retry", [])
            if error in r["ErrorEquals"] or "States.TaskFailed" in r["ErrorEquals"] or "States.ALL" in r["ErrorEquals"]
        )
        assert error in first["ErrorEquals"] and first["MaxAttempts"] == 0, (
            f"{path.name} {name} would retry (send again) on {error!r}"
        )
    for name, wait in waits.items():  # every answer sent as an error to a state that waits is caught by it
        from firebell.adapters.aws import ROUTED_AS_ERRORS as routed

        expected = {answer_error(o) for o in OUTCOMES_FOR[MessageType(wait.message_type)] if o in routed}
        assert expected <= {e for n, e, _ in caught_answers(path) if n == name}, (
            f"{path.name} {name} does not catch all of {expected}"
        )


def test_every_outcome_answers_a_message_some_machine_waits_on():
    waited = {MessageType(s.message_type) for s in ALL_SENDS if s.waits}
    assert set(OUTCOMES_FOR) == waited
    assert set(TaskOutcome) == set().union(*OUTCOMES_FOR.values())


def test_every_outcome_a_machine_tells_apart_is_tested_and_the_rest_end_the_wait():
    """Outcomes a Choice names or a catcher catches (sent as errors) steer the machine; the others (stop, done,
    reopened) take the Default or end the wait."""
    from firebell.adapters.aws import ROUTED_AS_ERRORS

    caught = {error.removeprefix("firebell.") for path in MACHINES for _, error, _ in caught_answers(path)}
    assert caught == ROUTED_AS_ERRORS
    assert not outcomes_named_by_choices() & caught
    assert outcomes_named_by_choices() | caught == {
        TaskOutcome.ACKNOWLEDGED,
        TaskOutcome.ESCALATE,
        TaskOutcome.TOUCHED,
        TaskOutcome.WAIT,
    }


def model_types() -> set[MessageType]:
    """Message types the models in domain/workflow_messages.py accept (their `type: Literal[...]`)."""
    accepted: set[MessageType] = set()
    for model in vars(workflow_messages).values():
        if isinstance(model, type) and issubclass(model, BaseModel) and "type" in model.model_fields:
            for value in typing.get_args(model.model_fields["type"].annotation):
                if isinstance(value, MessageType):
                    accepted.add(value)
    return accepted


MODEL_TYPES = model_types()


def test_every_message_type_has_a_model():
    assert set(MessageType) == MODEL_TYPES


def test_notify_and_classify_accept_what_their_queue_gets():
    from functions.classify.app import ClassifyMessage
    from functions.notify.app import NotifyMessage

    for send in ALL_SENDS:
        adapter = NotifyMessage if send.queue == "${NotifyQueueUrl}" else ClassifyMessage
        schema = json.dumps(adapter.json_schema())
        assert f'"{send.message_type}"' in schema, f"{send.queue} consumer does not accept {send.message_type!r}"
