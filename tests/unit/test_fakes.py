"""The fakes keep the semantics of the AWS adapters the service relies on (so service tests mean something)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest

from firebell.data.store import InvalidCursor
from firebell.domain.enums import Priority, Source, Status, TimelineKind
from firebell.domain.errors import ConcurrentUpdate
from firebell.domain.models import Incident, TimelineEntry
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


def test_create_stores_version_one_and_refuses_duplicates(store):
    """Given a new incident, when created twice, then the first gets version 1 and the second is refused."""
    created = store.create(new_incident(1))
    assert created.version == 1
    with pytest.raises(ConcurrentUpdate, match="already exists"):
        store.create(new_incident(1))


def test_save_is_conditional_on_version(store):
    """Given two readers of version 1, when both save, then the first wins (version 2) and the second is refused."""
    store.create(new_incident(1))
    first, second = store.get("01ID0001"), store.get("01ID0001")

    saved = store.save(first.model_copy(update={"title": "first"}))
    assert saved.version == 2
    with pytest.raises(ConcurrentUpdate):
        store.save(second.model_copy(update={"title": "second"}))
    assert store.get("01ID0001").title == "first"


def test_save_of_unversioned_copy_over_existing_is_refused(store):
    """Given a stored incident, when an incident with version 0 is saved over it, then it is refused."""
    store.create(new_incident(1))
    with pytest.raises(ConcurrentUpdate):
        store.save(new_incident(1))


def test_record_signal_claims_a_free_key_then_counts(store):
    """Given a free key, when three signals arrive, then the first claims it for its candidate (count 1,
    first_seen = last_seen = its time) and the others only count and move last_seen; nobody else claims."""
    first = store.record_signal("arn:alarm", "A", T0)
    assert first == DedupState(
        incident_id="A", occurrences=1, first_seen=T0, last_seen=T0, created=False, resolved_at=None,
        last_logged_at=None, claimed=True,
    )
    second = store.record_signal("arn:alarm", "B", T0 + timedelta(minutes=1))
    third = store.record_signal("arn:alarm", "C", T0 + timedelta(minutes=2))
    assert (second.incident_id, second.occurrences, second.claimed) == ("A", 2, False)
    assert (third.incident_id, third.occurrences, third.first_seen, third.last_seen, third.claimed) == (
        "A", 3, T0, T0 + timedelta(minutes=2), False)
    assert store.dedup_state("arn:alarm") == third  # a read never claims
    assert store.dedup_state("arn:other") is None
    assert store.calls["record_signal"] == 3 and store.writes() == 3


def test_record_signal_is_atomic_under_threads(store):
    """Given 40 threads signalling one key at once, then exactly one claims it and the count is 40."""
    barrier = threading.Barrier(40)

    def signal(n: int):
        barrier.wait()
        return store.record_signal("arn:alarm", f"cand-{n}", T0)

    with ThreadPoolExecutor(max_workers=40) as pool:
        states = list(pool.map(signal, range(40)))

    claimed = [s for s in states if s.claimed]
    assert len(claimed) == 1
    assert {s.incident_id for s in states} == {claimed[0].incident_id}
    assert sorted(s.occurrences for s in states) == list(range(1, 41))
    assert store.dedup_state("arn:alarm").occurrences == 40


def test_mark_dedup_is_conditional_on_the_incident(store):
    """Given a key feeding A, then marks for A apply (created, resolved_at set/cleared) and marks for B or a
    missing key are refused without creating anything."""
    store.record_signal("arn:alarm", "A", T0)
    later = T0 + timedelta(minutes=5)

    assert store.mark_dedup("arn:alarm", "B", created=True) is False
    assert store.mark_dedup("arn:missing", "A", created=True) is False
    assert store.dedup_keys() == {"arn:alarm": "A"}
    assert store.mark_dedup("arn:alarm", "A", created=True) is True
    assert store.mark_dedup("arn:alarm", "A", resolved_at=later) is True
    state = store.dedup_state("arn:alarm")
    assert (state.created, state.resolved_at) == (True, later)
    assert store.mark_dedup("arn:alarm", "A", created=True) is True
    assert store.dedup_state("arn:alarm").resolved_at == later  # False (the default) leaves it alone
    with pytest.raises(ValueError, match="cannot be empty"):  # as pynamodb: an update must change something
        store.mark_dedup("arn:alarm", "A")
    assert store.mark_dedup("arn:alarm", "A", resolved_at=None) is True
    assert store.dedup_state("arn:alarm").resolved_at is None
    assert store.dedup_state("arn:alarm").created is True


def test_mark_dedup_logged_before_is_a_compare_and_set(store):
    """Given a key never logged, then only a mark expecting "never logged" (None) sets the log time; after it,
    only a mark expecting that exact time moves it on; two racers expecting the same time: one wins."""
    store.record_signal("arn:alarm", "A", T0)
    t1, t2 = T0 + timedelta(minutes=1), T0 + timedelta(minutes=6)

    assert store.mark_dedup("arn:alarm", "A", logged_at=t1, logged_before=t2) is False
    assert store.mark_dedup("arn:alarm", "A", logged_at=t1, logged_before=None) is True
    assert store.mark_dedup("arn:alarm", "A", logged_at=t1, logged_before=None) is False  # it exists now
    assert store.dedup_state("arn:alarm").last_logged_at == t1
    assert store.mark_dedup("arn:alarm", "A", logged_at=t2, logged_before=t1) is True
    assert store.mark_dedup("arn:alarm", "A", logged_at=t2 + timedelta(seconds=1), logged_before=t1) is False
    assert store.dedup_state("arn:alarm").last_logged_at == t2
    assert store.mark_dedup("arn:alarm", "B", logged_at=t2, logged_before=t2) is False  # the incident still counts


def test_replace_dedup_points_the_key_at_a_new_incident(store):
    """Given a key feeding A (created, resolved, logged, counted 3), when replaced for B, then it feeds B from
    scratch; a second replace expecting A (a racer) is refused, and so is a replace of a missing key."""
    for minute in range(3):
        store.record_signal("arn:alarm", "A", T0 + timedelta(minutes=minute))
    store.mark_dedup("arn:alarm", "A", created=True, resolved_at=T0, logged_at=T0, logged_before=None)
    later = T0 + timedelta(hours=1)

    assert store.replace_dedup("arn:alarm", "A", "B", later) is True
    assert store.dedup_state("arn:alarm") == DedupState(
        incident_id="B", occurrences=1, first_seen=later, last_seen=later, created=False, resolved_at=None,
        last_logged_at=None, claimed=False,
    )
    assert store.replace_dedup("arn:alarm", "A", "C", later) is False
    assert store.replace_dedup("arn:missing", "A", "C", later) is False
    assert store.dedup_keys() == {"arn:alarm": "B"}
    assert store.record_signal("arn:alarm", "D", later).occurrences == 2


def test_release_only_by_the_incident_it_feeds(store):
    """Given a key feeding A, then B cannot release it, A can, and the next signal claims it afresh."""
    store.record_signal("arn:alarm", "A", T0)
    store.release_dedup_key("arn:alarm", "B")
    assert store.dedup_keys() == {"arn:alarm": "A"}
    store.release_dedup_key("arn:alarm", "A")
    assert store.dedup_keys() == {} and store.dedup_state("arn:alarm") is None
    store.release_dedup_key("arn:alarm", "A")  # already gone: fine
    fresh = store.record_signal("arn:alarm", "B", T0 + timedelta(hours=2))
    assert (fresh.incident_id, fresh.occurrences, fresh.claimed, fresh.created) == ("B", 1, True, False)


def test_sync_occurrences_only_upwards_and_bumps_version(store):
    """Given an incident counting 1, when synced to 5, then count, last_seen_at and version move (a stale full
    save is refused); syncing to 3 or 5 again, or a missing incident, changes nothing."""
    store.create(new_incident(1))
    stale = store.get("01ID0001")
    later = T0 + timedelta(minutes=3)

    store.sync_occurrences("01ID0001", 5, later)
    current = store.get("01ID0001")
    assert (current.occurrences, current.version, current.last_seen_at) == (5, 2, later)
    with pytest.raises(ConcurrentUpdate):  # a full save of the stale copy would lose the count
        store.save(stale)

    store.sync_occurrences("01ID0001", 3, later + timedelta(minutes=1))
    store.sync_occurrences("01ID0001", 5, later + timedelta(minutes=1))
    assert store.get("01ID0001") == current
    store.sync_occurrences("nope", 9, later)
    assert store.get("nope") is None


def test_calls_are_counted_reads_and_writes(store):
    """Given a few port calls, then `calls` counts each by name and `writes` only the writing ones."""
    store.create(new_incident(1))
    store.get("01ID0001")
    store.dedup_state("k")
    store.record_signal("k", "A", T0)
    assert store.calls == {"create": 1, "get": 1, "dedup_state": 1, "record_signal": 1}
    assert store.writes() == 2


def test_timeline_is_ordered_by_time_then_insertion(store):
    """Given entries appended out of time order, then the timeline reads back in time order."""

    def entry(minute: int, message: str) -> TimelineEntry:
        return TimelineEntry(incident_id="X", at=T0 + timedelta(minutes=minute), kind=TimelineKind.NOTE, actor="a", message=message)

    for minute, message in [(5, "c"), (1, "a"), (5, "d"), (3, "b")]:
        store.append_timeline(entry(minute, message))
    store.append_timeline(TimelineEntry(incident_id="Y", at=T0, kind=TimelineKind.NOTE, actor="a", message="other"))

    assert [e.message for e in store.timeline("X")] == ["a", "b", "c", "d"]
    assert store.timeline("nobody") == []


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
    assert [(s.machine, s.name) for s in workflows.starts] == [("escalation", "01HX"), ("escalation", "01HX"), ("sla", "01HX")]
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


def test_consume_once(store):
    """Given a key, then the first presentation wins and every later one is refused, whatever its expiry."""
    assert store.consume_once("ACKLINK#n1", T0) is True
    assert store.consume_once("ACKLINK#n1", T0 + timedelta(days=1)) is False
    assert store.consume_once("ACKLINK#n2", T0) is True


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
    assert (sink.sent[0].source_queue_arn, sink.sent[0].reason, sink.sent[0].attempts) == ("arn:aws:sqs:us-east-1:123456789012:q", "why", 2)
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
