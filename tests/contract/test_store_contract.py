"""The store contract: one suite, run against the in-memory fake (tests/fakes.py) and DynamoIncidentStore on
moto's DynamoDB (the table rendered from the topology). Where the fake says what DynamoDB does, the unit
tests that use it mean something."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from firebell.data.packing import unpack
from firebell.data.store import DynamoIncidentStore, InvalidCursor
from firebell.domain.enums import EventType, Priority, Source, Status, TimelineKind
from firebell.domain.errors import ConcurrentUpdate, IdempotencyKeyTaken, OnceKeyUsed
from firebell.domain.models import Incident
from firebell.outbox import Change, DedupMark, Effect, EffectKind, EffectStatus, IdempotencyClaim, UseOnce
from firebell.ports import SIGNALS_PER_WRITE, IncidentFilter
from infra.local.moto_patches import serialise_dynamodb
from infra.local.render import create_table
from infra.topology import TOPOLOGY
from tests.fakes import InMemoryIncidentStore

T0 = datetime(2026, 5, 1, 10, 0, tzinfo=UTC)
KEY = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:disk"


@pytest.fixture(params=["fake", "dynamodb"])
def store(request, monkeypatch) -> Iterator:
    if request.param == "fake":
        yield InMemoryIncidentStore()
        return
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    serialise_dynamodb()
    with mock_aws():
        spec = TOPOLOGY.tables[0]
        table = create_table(boto3.client("dynamodb", region_name="us-east-1"), spec)
        yield DynamoIncidentStore(table, "us-east-1")


def new_change(n: int = 1, at: datetime = T0, **fields) -> Change:
    incident = Incident(
        incident_id=f"01ID{n:022d}",
        reference=f"INC-{n}",
        title=f"incident {n}",
        source=Source.API,
        reporter="erin",
        opened_at=at,
        last_seen_at=at,
        **fields,
    )
    change = Change(incident, at, new=True)
    change.log(TimelineKind.OPENED, "erin", "opened")
    change.publish(EventType.OPENED)
    return change


def test_references_count_up_from_one(store):
    assert [store.next_reference() for _ in range(3)] == ["INC-1", "INC-2", "INC-3"]


def test_a_new_incident_commits_with_its_timeline_and_effects_at_version_one(store):
    committed = store.commit(new_change())
    assert committed.version == 1 and store.get(committed.incident_id) == committed
    assert [e.kind for e in store.timeline(committed.incident_id)] == [TimelineKind.OPENED]
    (effect,) = store.pending_effects(committed.incident_id)
    assert (effect.effect_id, effect.kind) == (f"{committed.incident_id}:1:00", EffectKind.PUBLISH)
    with pytest.raises(ConcurrentUpdate):
        store.commit(new_change())  # the same id again


def test_a_change_is_conditional_on_the_version_it_read_and_all_or_nothing(store):
    incident = store.commit(new_change())
    first, second = Change(incident, T0), Change(incident, T0)
    first.set(title="first")
    first.log(TimelineKind.NOTE, "alice", "a")
    second.set(title="second")
    second.log(TimelineKind.NOTE, "bob", "b")
    second.answer("token", "stop")

    assert store.commit(first).version == 2
    with pytest.raises(ConcurrentUpdate):
        store.commit(second)

    assert store.get(incident.incident_id).title == "first"
    assert [e.actor for e in store.timeline(incident.incident_id) if e.kind is TimelineKind.NOTE] == ["alice"]
    assert len(store.pending_effects(incident.incident_id)) == 1  # only the opening's publish


def test_the_committed_change_is_stamped_with_its_id(store):
    incident = store.commit(new_change())
    change = Change(incident, T0)
    change.set(title="x")
    assert store.commit(change).last_change == change.change_id == store.get(incident.incident_id).last_change


def test_a_used_once_key_fails_the_whole_change(store):
    incident = store.commit(new_change())
    change = Change(incident, T0)
    change.once.append(UseOnce(key="ACKLINK#n1", expires_at=T0 + timedelta(hours=1)))
    change.set(status=Status.ACKNOWLEDGED)
    store.commit(change)
    again = Change(store.get(incident.incident_id), T0)
    again.once.append(UseOnce(key="ACKLINK#n1", expires_at=T0 + timedelta(hours=1)))
    again.set(title="changed")
    with pytest.raises(OnceKeyUsed):
        store.commit(again)
    assert store.get(incident.incident_id).title == "incident 1"


def test_an_idempotency_key_binds_one_incident(store):
    change = new_change(1)
    change.idempotency = IdempotencyClaim(
        key="caller|k1", incident_id=change.incident_id, fingerprint="f", expires_at=T0 + timedelta(days=1)
    )
    store.commit(change)
    other = new_change(2)
    other.idempotency = IdempotencyClaim(
        key="caller|k1", incident_id=other.incident_id, fingerprint="f", expires_at=T0 + timedelta(days=1)
    )
    with pytest.raises(IdempotencyKeyTaken):
        store.commit(other)
    assert store.idempotent_incident("caller|k1") == (change.incident_id, "f")
    assert store.get(other.incident_id) is None
    assert store.idempotent_incident("caller|other") is None


def test_record_signal_claims_then_counts_and_a_message_counts_once(store):
    first = store.record_signals(KEY, "01A", T0, ["sns:m1"])
    assert (first.incident_id, first.occurrences, first.claimed, first.created, first.replayed) == (
        "01A",
        1,
        True,
        False,
        False,
    )
    again = store.record_signals(KEY, "01B", T0 + timedelta(seconds=1), ["sns:m1"])  # redelivered: not counted
    assert (again.incident_id, again.occurrences, again.claimed, again.replayed) == ("01A", 1, True, True)
    copy = store.record_signals(KEY, "01C", T0 + timedelta(seconds=2), ["sns:m2"])  # a genuine copy
    assert (copy.occurrences, copy.claimed, copy.replayed) == (2, False, False)
    plain = store.record_signals(KEY, "01D", T0 + timedelta(seconds=3), [None])  # no message identity (HTTP)
    assert (plain.occurrences, plain.claimed, plain.last_seen) == (3, False, T0 + timedelta(seconds=3))


def test_record_signals_keeps_when_the_source_says_the_alert_fired(store):
    # (the time a late recovery is judged against: AlertIntake ignores one older than it)
    fired = T0 - timedelta(minutes=3)
    assert store.record_signals(KEY, "01A", T0, ["sns:m1"], fired).triggered_at == fired
    assert store.record_signals(KEY, "01B", T0, [None]).triggered_at == fired  # a source without a time keeps it
    again = T0 + timedelta(minutes=1)
    assert store.record_signals(KEY, "01C", T0, [None], again).triggered_at == again
    assert store.dedup_state(KEY).triggered_at == again


def test_record_signals_counts_a_batchs_notifications_in_one_write_each_once(store):
    first = store.record_signals(KEY, "01A", T0, ["sns:m1", "sns:m2", "sns:m3"])
    assert (first.incident_id, first.occurrences, first.claimed, first.counted, first.replayed) == (
        "01A",
        3,
        True,
        3,
        False,
    )
    # m2 and m3 redelivered with a new m4 (twice in the batch) and a copy without identity: m4 and the copy count
    at = T0 + timedelta(seconds=1)
    again = store.record_signals(KEY, "01B", at, ["sns:m2", "sns:m4", "sns:m3", "sns:m4", None])
    assert (again.incident_id, again.occurrences, again.claimed, again.counted, again.replayed, again.last_seen) == (
        "01A",
        5,
        False,
        2,
        False,
        at,
    )
    assert again.previous_seen == T0
    # every one counted before (the claimer's among them): nothing counted, and the claim is still this batch's
    replay = store.record_signals(KEY, "01C", T0 + timedelta(seconds=2), ["sns:m1", "sns:m4"])
    assert (replay.occurrences, replay.claimed, replay.counted, replay.replayed) == (5, True, 0, True)
    assert replay.last_seen == at


def test_record_signals_takes_as_many_notifications_as_one_transaction_holds(store):
    full = store.record_signals(KEY, "01A", T0, [f"sns:{n}" for n in range(SIGNALS_PER_WRITE)])
    assert (full.occurrences, full.counted) == (SIGNALS_PER_WRITE, SIGNALS_PER_WRITE)
    with pytest.raises(ValueError):
        store.record_signals(KEY, "01B", T0, [f"sns:more-{n}" for n in range(SIGNALS_PER_WRITE + 1)])
    with pytest.raises(ValueError):
        store.record_signals(KEY, "01B", T0, [])
    assert store.dedup_state(KEY).occurrences == SIGNALS_PER_WRITE


def test_record_signal_tells_the_silence_each_occurrence_broke(store):
    """previous_seen: when the alert fired before this notification (a long gap re-notifies an acknowledged incident)."""
    first = store.record_signals(KEY, "01A", T0, ["sns:m1"])
    assert first.previous_seen == T0
    later = store.record_signals(KEY, "01B", T0 + timedelta(hours=3), ["sns:m2"])
    assert (later.previous_seen, later.last_seen) == (T0, T0 + timedelta(hours=3))
    # A redelivery of the latest notification still knows the silence it broke; one of an older notification does not
    assert store.record_signals(KEY, "01C", T0 + timedelta(hours=4), ["sns:m2"]).previous_seen == T0
    assert store.record_signals(KEY, "01C", T0 + timedelta(hours=4), ["sns:m1"]).previous_seen is None
    plain = store.record_signals(KEY, "01D", T0 + timedelta(hours=5), [None])
    assert plain.previous_seen == T0 + timedelta(hours=3)


def test_dedup_marks_commit_with_the_change_and_skip_a_pointer_that_moved_on(store):
    store.record_signals(KEY, "01ID0000000000000000000001", T0, [None])
    change = new_change(1, dedup_key=KEY)
    change.dedup.append(DedupMark(dedup_key=KEY, incident_id=change.incident_id, created=True))
    incident = store.commit(change)
    assert store.dedup_state(KEY).created is True

    resolve = Change(incident, T0)
    resolve.dedup.append(DedupMark(dedup_key=KEY, incident_id=incident.incident_id, resolved_at=T0))
    incident = store.commit(resolve)
    assert store.dedup_state(KEY).resolved_at == T0

    assert store.replace_dedup(KEY, incident.incident_id, "01NEW", T0) is True
    assert store.replace_dedup(KEY, incident.incident_id, "01OTHER", T0) is False
    close = Change(incident, T0)
    close.set(status=Status.CLOSED)
    close.dedup.append(DedupMark(dedup_key=KEY, incident_id=incident.incident_id, release=True))
    assert store.commit(close).status is Status.CLOSED  # the mark is dropped: the key feeds 01NEW now
    assert store.dedup_state(KEY).incident_id == "01NEW"


def test_log_repeat_is_a_compare_and_set_with_its_line(store):
    store.record_signals(KEY, "01A", T0, [None])
    entry = (
        new_change(1).entries[0].model_copy(update={"incident_id": "01A", "kind": TimelineKind.OCCURRENCE, "at": T0})
    )
    assert store.log_repeat(KEY, "01A", None, entry) is True
    assert store.log_repeat(KEY, "01A", None, entry) is False  # the slot was taken
    later = entry.model_copy(update={"at": T0 + timedelta(minutes=5)})
    assert store.log_repeat(KEY, "01A", T0, later) is True
    assert store.dedup_state(KEY).last_logged_at == later.at
    assert [e.at for e in store.timeline("01A")] == [T0, later.at]


def test_an_effect_is_claimed_once_released_and_completed_with_its_lines(store):
    incident = store.commit(new_change())
    (effect,) = store.pending_effects(incident.incident_id)
    assert store.claim_effect(effect, T0, T0 + timedelta(seconds=60)) is True
    assert store.claim_effect(effect, T0 + timedelta(seconds=1), T0 + timedelta(seconds=61)) is False  # leased
    assert store.claim_effect(effect, T0 + timedelta(seconds=61), T0 + timedelta(seconds=121)) is True  # lease ran out
    store.release_effect(effect)
    assert store.claim_effect(effect, T0 + timedelta(seconds=62), T0 + timedelta(seconds=122)) is True
    line = (
        new_change()
        .entries[0]
        .model_copy(update={"incident_id": incident.incident_id, "kind": TimelineKind.NOTIFICATION_SENT})
    )
    store.complete_effect(effect, EffectStatus.DONE, "published", [line])
    store.complete_effect(effect, EffectStatus.DONE, "published", [line])  # a retry whose first answer was lost
    assert [e.kind for e in store.timeline(incident.incident_id)].count(TimelineKind.NOTIFICATION_SENT) == 1
    assert store.claim_effect(effect, T0 + timedelta(hours=1), T0 + timedelta(hours=2)) is False
    assert store.pending_effects(incident.incident_id) == []
    assert TimelineKind.NOTIFICATION_SENT in [e.kind for e in store.timeline(incident.incident_id)]


def test_a_change_committed_with_its_claim_holds_its_effects_for_its_committer_only(store):
    """Given a change committed with its effects claimed until T0+60 s (the committing function runs them at once),
    then nobody else can claim them before that, its committer can extend the claim, and the relay still lists
    them (not done) and may take them once the claim ran out."""
    change = new_change()
    change.claimed_until = T0 + timedelta(seconds=60)
    incident = store.commit(change)
    (effect,) = store.pending_effects(incident.incident_id)
    assert [e.effect_id for e in store.outbox(T0 + timedelta(seconds=10))] == [effect.effect_id]
    assert store.claim_effect(effect, T0 + timedelta(seconds=1), T0 + timedelta(seconds=61)) is False
    assert (
        store.claim_effect(
            effect, T0 + timedelta(seconds=2), T0 + timedelta(seconds=62), ours_until=T0 + timedelta(seconds=59)
        )
        is False
    )
    assert (
        store.claim_effect(
            effect, T0 + timedelta(seconds=3), T0 + timedelta(seconds=63), ours_until=T0 + timedelta(seconds=60)
        )
        is True
    )
    assert (
        store.claim_effect(effect, T0 + timedelta(seconds=64), T0 + timedelta(seconds=124)) is True
    )  # the extension ran out


def test_effects_completed_together_are_each_done_once(store):
    """Given a change with three effects claimed at its commit, one of them completed already (a retry whose answer
    was lost), when the three are completed together, then all are done and none is pending."""
    change = new_change()
    change.publish(EventType.CLASSIFIED)
    change.publish(EventType.ACKNOWLEDGED)
    change.claimed_until = T0 + timedelta(seconds=60)
    incident = store.commit(change)
    first, *others = store.pending_effects(incident.incident_id)
    store.complete_effect(first, EffectStatus.DONE, "published")

    store.complete_effects([(first, "published"), *((e, "published") for e in others)])

    assert store.pending_effects(incident.incident_id) == []
    assert {status for _, status in store.effects(incident.incident_id)} == {EffectStatus.DONE}
    assert store.outbox(T0 + timedelta(hours=1)) == []


def test_the_outbox_lists_what_is_not_done_oldest_first(store):
    a = store.commit(new_change(1, at=T0))
    b = store.commit(new_change(2, at=T0 + timedelta(seconds=5)))
    assert [e.incident_id for e in store.outbox(T0 + timedelta(seconds=10))] == [a.incident_id, b.incident_id]
    assert [e.incident_id for e in store.outbox(T0 + timedelta(seconds=1))] == [a.incident_id]
    (effect,) = store.pending_effects(a.incident_id)
    store.claim_effect(effect, T0, T0 + timedelta(seconds=60))
    store.complete_effect(effect, EffectStatus.DONE, "ok")
    assert [e.incident_id for e in store.outbox(T0 + timedelta(seconds=10))] == [b.incident_id]


def test_list_filters_and_pages_newest_first(store):
    for n in range(1, 6):
        store.commit(new_change(n, at=T0 + timedelta(minutes=n)))
    first = store.list(IncidentFilter(status=Status.TRIGGERED), 2, None)
    second = store.list(IncidentFilter(status=Status.TRIGGERED), 2, first.cursor)
    assert [i.reference for i in first.items + second.items] == ["INC-5", "INC-4", "INC-3", "INC-2"]
    with pytest.raises(InvalidCursor):
        store.list(IncidentFilter(), 2, "not-a-cursor!")


@pytest.mark.parametrize("status", [None, Status.TRIGGERED])
def test_list_filters_on_priority_team_and_reporter_and_gives_whole_incidents(store, status):
    """The indexes carry only what the list filters on (data/records.py): each filter still finds its incidents,
    with or without a status, and each item is the whole incident."""
    shapes = [("P1", "platform", "erin"), ("P2", "platform", "dave"), ("P1", "payments", "dave")]
    committed = []
    for n, (priority, team, reporter) in enumerate(shapes, start=1):
        change = new_change(n, at=T0 + timedelta(minutes=n), priority=priority, team=team)
        change.set(reporter=reporter)
        committed.append(store.commit(change))
    for filters, wanted in (
        ({"priority": Priority.P1}, ["INC-3", "INC-1"]),
        ({"team": "platform"}, ["INC-2", "INC-1"]),
        ({"reporter": "dave"}, ["INC-3", "INC-2"]),
        ({"priority": Priority.P1, "team": "payments"}, ["INC-3"]),
    ):
        page = store.list(IncidentFilter(status=status, **filters), 10, None)
        assert [i.reference for i in page.items] == wanted, filters
    assert store.list(IncidentFilter(status=status), 10, None).items == committed[::-1]


@pytest.mark.parametrize(
    "other",
    [
        IncidentFilter(),
        IncidentFilter(status=Status.ACKNOWLEDGED),
        IncidentFilter(status=Status.TRIGGERED, team="payments"),
    ],
)
def test_a_cursor_reused_with_another_filter_or_altered_is_refused(store, other):
    for n in range(1, 4):
        store.commit(new_change(n, at=T0 + timedelta(minutes=n)))
    cursor = store.list(IncidentFilter(status=Status.TRIGGERED), 1, None).cursor
    with pytest.raises(InvalidCursor, match="another filter"):
        store.list(other, 1, cursor)
    encoded, _, checksum = cursor.partition(".")
    altered = f"{encoded[:-2]}{'A' if encoded[-2] != 'A' else 'B'}{encoded[-1]}.{checksum}"
    for tampered in (altered, encoded, cursor + "0"):
        with pytest.raises(InvalidCursor):
            store.list(IncidentFilter(status=Status.TRIGGERED), 1, tampered)


def test_get_by_reference(store):
    incident = store.commit(new_change(7))
    assert store.get_by_reference("INC-7") == incident
    assert store.get_by_reference("INC-8") is None


def test_an_sms_window_counts_each_effect_once_then_holds_until_its_digest_closes_it(store):
    """The SMS digest's store (domain/sms_digest.py): at most `limit` SMS counted per person and window (a retried
    effect counts once), then holds; closing the window commits the digest's effect and refuses later holds."""
    assert [store.count_sms("alice", 7, f"i:{n}:00", 2, T0) for n in (1, 2, 1, 3)] == [True, True, True, False]
    assert store.count_sms("alice", 8, "i:3:00", 2, T0) is True  # the next window starts again
    assert store.count_sms("bob", 7, "i:3:00", 2, T0) is True  # and every person has their own
    held = {
        "effect_id": "i:3:00",
        "incident_id": "i",
        "text": "firebell INC-3 P4 triggered: disk",
        "why": "level 1",
        "held_at": T0.isoformat(),
        "guard": None,
    }
    later = {**held, "effect_id": "i:4:00", "held_at": (T0 + timedelta(seconds=1)).isoformat()}
    assert store.hold_sms("alice", 7, "i:4:00", later, T0) and store.hold_sms("alice", 7, "i:3:00", held, T0)
    assert store.hold_sms("alice", 7, "i:3:00", held, T0)  # a retried hold keeps one
    assert store.held_sms("alice", 7) == [held, later]

    effect = Effect(
        effect_id="sms-digest-alice-7:1:00",
        incident_id="sms-digest-alice-7",
        kind=EffectKind.SMS,
        payload={"to": "+15550100001", "person": "alice", "text": "", "why": "SMS digest", "digest": {"window": 7}},
    )
    assert store.close_digest("alice", 7, effect, T0 + timedelta(hours=1)) is True
    assert store.close_digest("alice", 7, effect, T0 + timedelta(hours=1)) is False
    assert [e.effect_id for e in store.pending_effects("sms-digest-alice-7")] == [effect.effect_id]
    assert store.hold_sms("alice", 7, "i:5:00", {**held, "effect_id": "i:5:00"}, T0) is False
    assert len(store.held_sms("alice", 7)) == 2


def test_items_written_before_documents_were_packed_are_read_and_packed_when_saved_again(store):
    """Given an incident and its effect as they were written before issue 10 packed documents (`document`, plain
    JSON), then they read as before, and the next commit writes the incident packed (a put replaces the item)."""
    if isinstance(store, InMemoryIncidentStore):
        pytest.skip("DynamoDB's items only")
    incident = store.commit(new_change())
    client = boto3.client("dynamodb", region_name="us-east-1")
    table = TOPOLOGY.tables[0].name
    table = next(name for name in client.list_tables()["TableNames"] if table in name)
    for item in client.scan(TableName=table)["Items"]:
        if "packed" in item:
            document = unpack(item.pop("packed")["B"])
            if item["sk"]["S"] == "INCIDENT":  # the id was an attribute of its own, the reporter in the document too
                item["incident_id"] = {"S": incident.incident_id}
                document["reporter"] = item["reporter"]["S"]
            item["document"] = {"S": json.dumps(document)}
            client.put_item(TableName=table, Item=item)
    assert "packed" not in str(client.scan(TableName=table)["Items"])

    assert store.get(incident.incident_id) == incident
    (effect,) = store.pending_effects(incident.incident_id)
    assert [e.effect_id for e in store.outbox(T0 + timedelta(seconds=10))] == [effect.effect_id]
    change = Change(incident, T0)
    change.set(title="renamed")
    assert store.commit(change).title == "renamed" and store.get(incident.incident_id).title == "renamed"
    stored = client.get_item(
        TableName=table, Key={"pk": {"S": f"INCIDENT#{incident.incident_id}"}, "sk": {"S": "INCIDENT"}}
    )["Item"]
    assert "packed" in stored and "document" not in stored and "incident_id" not in stored


def test_the_facts_a_change_carries_are_found_by_the_month_the_incident_opened(store):
    from firebell.domain.facts import IncidentFacts, Notice

    def facts_of_the_change(change: Change) -> IncidentFacts:
        incident = change.incident
        return IncidentFacts(
            incident_id=incident.incident_id,
            reference=incident.reference,
            title=incident.title,
            opened_at=incident.opened_at,
            source=incident.source.value,
            notices=[Notice(person="alice", at=incident.opened_at, channel="sms", paging=True)],
        )

    opened = [
        T0.replace(month=4, day=30, hour=23, minute=59),
        T0,
        T0.replace(day=31, hour=23, minute=59, second=59),
        T0.replace(month=6, day=1, hour=0),
    ]
    for n, at in enumerate(opened, start=1):
        change = new_change(n, at)
        if n != 2:  # (INC-2 did not close: no facts)
            change.facts = facts_of_the_change(change)
        store.commit(change)

    may = store.facts_between(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    assert [f.reference for f in may] == ["INC-3"]
    spring = store.facts_between(datetime(2026, 4, 30, 23, 59, tzinfo=UTC), datetime(2026, 6, 1, 0, 0, 1, tzinfo=UTC))
    assert [f.reference for f in spring] == ["INC-1", "INC-3", "INC-4"]
    assert spring[0].notices == [Notice(person="alice", at=opened[0], channel="sms", paging=True)]


def test_added_facts_are_stored_only_where_an_incident_has_none(store):
    from firebell.domain.facts import IncidentFacts

    first = IncidentFacts(incident_id="i1", reference="INC-1", title="first", opened_at=T0, source="api")
    assert store.add_facts(first) is True
    assert store.add_facts(first.model_copy(update={"title": "second"})) is False
    assert [f.title for f in store.facts_between(T0, T0 + timedelta(seconds=1))] == ["first"]


def test_the_most_recent_facts_come_newest_first_from_this_month_and_the_last(store):
    from firebell.domain.facts import IncidentFacts

    # T0 is in May: March's is too old, June's (after `before`) not yet; April's and May's count
    opened = [
        T0.replace(month=3, day=31),
        T0.replace(month=4, day=1),
        T0.replace(month=4, day=30),
        T0,
        T0.replace(day=20),
        T0.replace(month=6, day=2),
    ]
    for n, at in enumerate(opened, start=1):
        change = new_change(n, at)
        change.facts = IncidentFacts(
            incident_id=change.incident_id, reference=change.incident.reference, title="t", opened_at=at, source="api"
        )
        store.commit(change)

    before = T0.replace(day=21)
    assert [f.reference for f in store.recent_facts(before, 10)] == ["INC-5", "INC-4", "INC-3", "INC-2"]
    assert [f.reference for f in store.recent_facts(before, 3)] == ["INC-5", "INC-4", "INC-3"]
    assert [f.reference for f in store.recent_facts(T0.replace(month=1, day=5), 3)] == [] and store.recent_facts(
        before, 1
    )[0].reference == "INC-5"


def test_the_closing_change_of_an_alerts_incident_keeps_its_facts_as_the_alerts_last_fix(store):
    from firebell.domain.facts import IncidentFacts

    assert store.last_fix(KEY) is None
    for n in (1, 2):
        change = new_change(n, T0 + timedelta(days=n), dedup_key=KEY)
        change.facts = IncidentFacts(
            incident_id=change.incident_id,
            reference=change.incident.reference,
            title="disk",
            opened_at=change.now,
            source="cloudwatch_alarm",
            resolution_notes=f"fix {n}",
        )
        store.commit(change)
    assert store.last_fix(KEY).resolution_notes == "fix 2"  # the later one replaced it
    assert store.last_fix("another alert") is None
    change = new_change(3, T0 + timedelta(days=3), dedup_key=KEY)  # resolved by the alert's own recovery: not a fix
    change.facts = IncidentFacts(
        incident_id=change.incident_id,
        reference=change.incident.reference,
        title="disk",
        opened_at=change.now,
        source="cloudwatch_alarm",
        resolution_notes="Threshold Crossed: recovered",
        auto_resolved=True,
    )
    store.commit(change)
    assert store.last_fix(KEY).resolution_notes == "fix 2"


def test_effects_completed_together_are_marked_at_once(store, monkeypatch):
    """Given three effects claimed at their commit, when they are completed together, then their done marks are sent
    at once (each mark waits here until the other two have begun: one round trip, not three)."""
    if isinstance(store, InMemoryIncidentStore):
        pytest.skip("DynamoDB's round trips only")
    change = new_change()
    change.publish(EventType.CLASSIFIED)
    change.publish(EventType.ACKNOWLEDGED)
    change.claimed_until = T0 + timedelta(seconds=60)
    incident = store.commit(change)
    effects = store.pending_effects(incident.incident_id)
    assert len(effects) == 3
    met = threading.Barrier(3, timeout=10)
    complete = type(store).complete_effect

    def meeting(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        met.wait()
        return complete(self, *args, **kwargs)

    monkeypatch.setattr(type(store), "complete_effect", meeting)

    store.complete_effects([(e, "published") for e in effects])

    assert not met.broken and store.pending_effects(incident.incident_id) == []
