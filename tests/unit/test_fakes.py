"""The fakes keep the semantics of the AWS adapters the use cases rely on (the store's own contract, shared with
DynamoDB, is tests/contract/test_store_contract.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from firebell.data.store import InvalidCursor
from firebell.domain.enums import Priority, Source, Status
from firebell.domain.models import Incident
from firebell.ports import DedupState, IncidentFilter
from tests.fakes import FakeWorkflows, FixedClock, InMemoryIncidentStore, OutboxMessenger, RecordingDeadLetters

T0 = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def new_incident(n: int, opened_at: datetime = T0, **fields) -> Incident:
    return Incident(
        incident_id=f"01ID{n:04d}",
        reference=f"INC-{n}",
        title=f"incident {n}",
        source=Source.API,
        reporter="erin",
        opened_at=opened_at,
        last_seen_at=opened_at,
        **fields,
    )


@pytest.fixture
def store() -> InMemoryIncidentStore:
    return InMemoryIncidentStore()


def test_references_count_up_from_one(store):
    """Given a fresh store, then references are INC-1, INC-2, INC-3."""
    assert [store.next_reference() for _ in range(3)] == ["INC-1", "INC-2", "INC-3"]


def test_record_signal_claims_a_free_key_then_counts(store):
    """Given a free key, when three signals arrive, then the first claims it for its candidate (count 1,
    first_seen = last_seen = its time) and the others only count and move last_seen; nobody else claims."""
    first = store.record_signals("arn:alarm", "A", T0, [None])
    assert first == DedupState(
        incident_id="A",
        occurrences=1,
        first_seen=T0,
        last_seen=T0,
        created=False,
        resolved_at=None,
        last_logged_at=None,
        claimed=True,
        previous_seen=T0,
        counted=1,
    )
    second = store.record_signals("arn:alarm", "B", T0 + timedelta(minutes=1), [None])
    third = store.record_signals("arn:alarm", "C", T0 + timedelta(minutes=2), [None])
    assert (second.incident_id, second.occurrences, second.claimed) == ("A", 2, False)
    assert (third.incident_id, third.occurrences, third.first_seen, third.last_seen, third.claimed) == (
        "A",
        3,
        T0,
        T0 + timedelta(minutes=2),
        False,
    )
    assert store.dedup_state("arn:alarm") == replace(third, counted=0)  # a read never claims, nor counts
    assert store.dedup_state("arn:other") is None
    assert store.calls["record_signals"] == 3 and store.writes() == 3


def test_record_signal_is_atomic_under_threads(store):
    """Given 40 threads signalling one key at once, then exactly one claims it and the count is 40."""
    barrier = threading.Barrier(40)

    def signal(n: int):
        barrier.wait()
        return store.record_signals("arn:alarm", f"cand-{n}", T0, [None])

    with ThreadPoolExecutor(max_workers=40) as pool:
        states = list(pool.map(signal, range(40)))

    claimed = [s for s in states if s.claimed]
    assert len(claimed) == 1
    assert {s.incident_id for s in states} == {claimed[0].incident_id}
    assert sorted(s.occurrences for s in states) == list(range(1, 41))
    assert store.dedup_state("arn:alarm").occurrences == 40


def test_get_returns_copies(store):
    """Given a stored incident, when the caller mutates what it read, then the store is unchanged."""
    store.create(new_incident(1))
    read = store.get("01ID0001")
    read.title = "changed behind the store's back"
    assert store.get("01ID0001").title == "incident 1"
    assert store.get_by_reference("INC-1").incident_id == "01ID0001"
    assert store.get_by_reference("INC-2") is None


def test_list_filters_and_pages_newest_first(store):
    """Given 7 incidents, when listed 3 at a time with a filter, then pages are newest first and complete."""
    for n in range(1, 8):
        store.create(
            new_incident(
                n,
                opened_at=T0 + timedelta(minutes=n),
                status=Status.RESOLVED if n % 2 else Status.TRIGGERED,
                priority=Priority.P1 if n <= 4 else Priority.P3,
                team="platform" if n != 6 else "payments",
            )
        )

    seen, cursor = [], None
    while True:
        page = store.list(IncidentFilter(), limit=3, cursor=cursor)
        seen.append([i.reference for i in page.items])
        if not (cursor := page.cursor):
            break
    assert seen == [["INC-7", "INC-6", "INC-5"], ["INC-4", "INC-3", "INC-2"], ["INC-1"]]

    def refs(**filters) -> list[str]:
        return [i.reference for i in store.list(IncidentFilter(**filters), limit=50, cursor=None).items]

    assert refs(status=Status.TRIGGERED) == ["INC-6", "INC-4", "INC-2"]
    assert refs(priority=Priority.P1, status=Status.RESOLVED) == ["INC-3", "INC-1"]
    assert refs(team="payments") == ["INC-6"]
    assert store.list(IncidentFilter(), limit=7, cursor=None).cursor is None


@pytest.mark.parametrize("cursor", ["not-base64!!", "bm90IGpzb24=", "W10="])
def test_list_refuses_foreign_cursor(store, cursor):
    """Given a cursor the store never returned, then InvalidCursor (the API's 400)."""
    with pytest.raises(InvalidCursor):
        store.list(IncidentFilter(), limit=5, cursor=cursor)


def test_workflows_start_is_idempotent_per_machine_and_name():
    """Given the same execution name started twice on a machine, then the same id comes back (both starts are
    recorded); the same name on another machine is another execution."""
    workflows = FakeWorkflows()
    first = workflows.start("escalation", "01HX", {"incident_id": "01HX", "levels": [1, 2]})
    assert workflows.start("escalation", "01HX", {"incident_id": "01HX"}) == first
    other = workflows.start("sla", "01HX", {"incident_id": "01HX"})
    assert other != first
    assert first == "arn:aws:states:us-east-1:123456789012:execution:firebell-escalation:01HX"
    assert [(s.machine, s.name) for s in workflows.starts] == [
        ("escalation", "01HX"),
        ("escalation", "01HX"),
        ("sla", "01HX"),
    ]
    assert workflows.started("escalation")[0].payload == {"incident_id": "01HX", "levels": [1, 2]}
    assert workflows.names("sla") == ["01HX"]


def test_workflows_input_must_be_json():
    """Given a payload Step Functions could not take (a datetime), then start refuses it, as json.dumps would."""
    with pytest.raises(TypeError):
        FakeWorkflows().start("sla", "x", {"at": T0})


def test_workflows_answer_a_token_once():
    """Given a token, then answer is True the first time and False afterwards (or once its wait expired);
    every call is recorded."""
    workflows = FakeWorkflows()
    assert workflows.answer("t1", "acknowledged") is True
    assert workflows.answer("t1", "stop") is False
    assert workflows.answer("t2", "touched") is True
    workflows.expire("t3")
    assert workflows.answer("t3", "escalate") is False
    assert workflows.answers == [("t1", "acknowledged"), ("t1", "stop"), ("t2", "touched"), ("t3", "escalate")]
    assert workflows.outcomes("t1") == ["acknowledged", "stop"]


def test_workflows_record_stops_and_failures():
    workflows = FakeWorkflows()
    workflows.stop("arn:x", "resolved")
    workflows.stop("arn:x", "again")  # stopping a stopped execution is fine
    assert workflows.stops == [("arn:x", "resolved"), ("arn:x", "again")]
    workflows.fail_next_start(RuntimeError("ThrottlingException"))
    with pytest.raises(RuntimeError):
        workflows.start("escalation", "a", {})
    assert workflows.start("escalation", "a", {}).endswith(":a") and len(workflows.starts) == 1
    workflows.fail_next_start(RuntimeError("throttled"), machine="sla")
    workflows.start("escalation", "b", {})  # another machine is not affected
    with pytest.raises(RuntimeError):
        workflows.start("sla", "b", {})


def test_messenger_and_clock():
    messenger = OutboxMessenger()
    assert messenger.send_email("s@x", "a@x", "subject", "body") != messenger.send_sms("+15550100001", "text")
    assert messenger.recipients() == ["a@x", "+15550100001"]

    clock = FixedClock(datetime(2024, 1, 1, tzinfo=UTC))
    assert clock() == clock() == datetime(2024, 1, 1, tzinfo=UTC)
    assert clock.advance(minutes=5) == datetime(2024, 1, 1, 0, 5, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.set(datetime(2024, 1, 1))


def test_dead_letter_sink_records_and_can_be_unreachable():
    sink = RecordingDeadLetters(max_receives=3)
    assert sink.max_receive_count("arn:aws:sqs:us-east-1:123456789012:q") == 3
    sink.send("arn:aws:sqs:us-east-1:123456789012:q", "{}", "why", 2)
    assert (sink.sent[0].source_queue_arn, sink.sent[0].reason, sink.sent[0].attempts) == (
        "arn:aws:sqs:us-east-1:123456789012:q",
        "why",
        2,
    )
    sink.unreachable = sink.policy_unreadable = True
    with pytest.raises(ConnectionError):
        sink.send("q", "{}", "why", 2)
    with pytest.raises(ConnectionError):
        sink.max_receive_count("q")


def test_unit_tests_cannot_reach_the_network():
    """Given the autouse guard, when anything tries to connect a socket, then it fails at once."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock, pytest.raises(RuntimeError, match="network"):
        sock.connect(("127.0.0.1", 9))
