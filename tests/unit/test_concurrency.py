"""Concurrent writers: optimistic locking never loses an update, references are never shared.

Lambda runs many instances at once against one table; here threads share one InMemoryIncidentStore
whose conditional writes behave like DynamoDB's.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from firebell.domain.enums import Status, TimelineKind
from firebell.domain.errors import ConcurrentUpdate, InvalidTransition
from firebell.domain.models import Incident
from firebell.domain.requests import IncidentCreate
from firebell.usecases.intake import AlarmOutcome
from tests.fakes import InMemoryIncidentStore

from .builders import ALARM_ARN, alarm, page_request
from .conftest import World, build_world, open_unclassified


@pytest.fixture
def racy(shipped_config) -> World:
    return build_world(shipped_config, store=YieldingStore())


def run_together(count: int, work: Callable[[int], object]) -> list[object]:
    """Start `count` threads at the same instant; results (or the exception raised) in thread order."""
    barrier = threading.Barrier(count)

    def one(n: int) -> object:
        barrier.wait()
        try:
            return work(n)
        except Exception as error:  # collected, asserted on by the caller
            return error

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(one, range(count)))


class InterleavingStore(InMemoryIncidentStore):
    """Lets another writer in between a read and the next commit of a change to an existing incident
    (exactly the race optimistic locking covers)."""

    def __init__(self) -> None:
        super().__init__()
        self.before_next_save: Callable[[], object] | None = None
        self.save_attempts = 0

    def commit(self, change):
        if not change.new:
            self.save_attempts += 1
            hook, self.before_next_save = self.before_next_save, None
            if hook:
                hook()
        return super().commit(change)


class YieldingStore(InMemoryIncidentStore):
    """Gives other threads a chance right after every read, widening the read→save window as a network
    round trip would; without it the GIL makes real races rare."""

    def get(self, incident_id: str) -> Incident | None:
        found = super().get(incident_id)
        time.sleep(0)
        return found


def with_retries(call: Callable[[], object], attempts: int = 3) -> object:
    """What the caller does with ConcurrentUpdate (SQS redelivers; an API client retries the 5xx)."""
    for _ in range(attempts - 1):
        try:
            return call()
        except ConcurrentUpdate:
            continue
    return call()


class AlwaysConflictingStore(InMemoryIncidentStore):
    def commit(self, change):
        if change.new:
            return super().commit(change)
        raise ConcurrentUpdate(change.incident_id)


# --- deterministic interleavings ----------------------------------------------------------------


def test_acknowledge_retries_over_a_concurrent_note(shipped_config):
    """Given bob adds a note between alice's read and her commit, when she commits, then her stale change is
    refused, she re-reads and decides again: acknowledged, and bob's note is still there (nothing lost)."""
    store = InterleavingStore()
    world = build_world(shipped_config, store=store)
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    store.before_next_save = lambda: world.service.add_note(incident_id, by="bob", text="looking")

    acknowledged = world.service.acknowledge(incident_id, by="alice")

    assert store.save_attempts == 3  # alice, bob's note inside her window, alice again
    assert (acknowledged.status, acknowledged.acknowledged_by) == (Status.ACKNOWLEDGED, "alice")
    assert world.service.get(incident_id) == acknowledged
    kinds = [e.kind for e in world.service.timeline(incident_id)]
    assert kinds.count(TimelineKind.NOTE) == 1 and kinds.count(TimelineKind.ACKNOWLEDGED) == 1


def test_an_alarm_repeat_does_not_touch_the_incident(shipped_config):
    """Given an acknowledgement in progress, when the alarm fires again meanwhile, then the repeat is counted on
    its dedup pointer only (no conflict with the acknowledgement), and the read shows both."""
    store = InterleavingStore()
    world = build_world(shipped_config, store=store)
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    store.before_next_save = lambda: world.service.handle_alarm(alarm("ALARM"))

    acknowledged = world.service.acknowledge(incident_id, by="alice")

    assert store.save_attempts == 1
    assert world.service.read(acknowledged).occurrences == 2


def test_classification_retries_over_a_concurrent_acknowledgement(shipped_config):
    """Given an incident opened unclassified (before classification moved into the opening change), when alice
    acknowledges while the classify function classifies it, then both the classification and the
    acknowledgement survive, and the escalation's first page is skipped rather than sent."""
    store = InterleavingStore()
    world = build_world(shipped_config, store=store)
    incident = open_unclassified(world, "database deadlock")
    store.before_next_save = lambda: world.service.acknowledge(incident.incident_id, by="alice")

    classified = world.service.classify(incident.incident_id)

    assert classified.priority == "P1" and classified.status is Status.ACKNOWLEDGED
    assert classified.acknowledged_by == "alice"
    assert world.service.page(page_request(incident.incident_id, 1, ["alice"], token="t1")) == []
    assert world.workflows.answers == [("t1", "acknowledged")]
    assert "alice@example.com" not in world.messenger.recipients()


def test_acknowledge_loses_to_a_concurrent_resolution(shipped_config):
    """Given bob resolves between alice's read and her save, when her acknowledgement retries, then it is
    refused (a resolved incident cannot be acknowledged) instead of overwriting the resolution."""
    store = InterleavingStore()
    world = build_world(shipped_config, store=store)
    incident = world.service.report(IncidentCreate(title="x", reporter="erin"))
    store.before_next_save = lambda: world.service.resolve(incident.incident_id, by="bob", notes="fixed")

    with pytest.raises(InvalidTransition, match="it is resolved"):
        world.service.acknowledge(incident.incident_id, by="alice")

    assert world.service.get(incident.incident_id).resolved_by == "bob"


def test_gives_up_after_too_many_conflicts(shipped_config):
    """Given a store where every save conflicts, then the service gives up with ConcurrentUpdate (a retry)."""
    world = build_world(shipped_config, store=AlwaysConflictingStore())
    incident = world.service.report(IncidentCreate(title="x", reporter="erin"))
    with pytest.raises(ConcurrentUpdate, match="too many concurrent updates"):
        world.service.acknowledge(incident.incident_id, by="alice")


# --- real threads -------------------------------------------------------------------------------


def test_references_are_unique_under_concurrency(racy, busy_switching):
    """Given 50 people reporting at the same instant, then the incidents are INC-1..INC-50, none shared."""
    world = racy
    results = run_together(50, lambda n: world.service.report(IncidentCreate(title=f"report {n}", reporter=f"user{n}")))

    assert not [r for r in results if isinstance(r, Exception)]
    references = [r.reference for r in results]
    assert sorted(references, key=lambda r: int(r[4:])) == [f"INC-{n}" for n in range(1, 51)]
    assert len({r.incident_id for r in results}) == 50
    assert len(world.store.all_incidents()) == 50
    assert world.events.types().count("incident.opened") == 50


def test_acknowledge_and_occurrences_together_lose_nothing(racy, busy_switching):
    """Given 20 repeats of the alarm and alice's acknowledgement at the same time, then all 21 occurrences
    are counted (the API shows 21), the storm is one line on the timeline, and alice acknowledged it."""
    world = racy
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))

    def work(n: int):
        if n == 0:
            return with_retries(lambda: world.service.acknowledge(incident_id, by="alice"))
        return world.service.handle_alarm(alarm("ALARM"))

    results = run_together(21, work)

    assert not [r for r in results if isinstance(r, Exception)]
    assert results[1:] == [(AlarmOutcome.DEDUPLICATED, incident_id)] * 20
    final = world.service.get(incident_id)
    assert (final.status, final.acknowledged_by) == (Status.ACKNOWLEDGED, "alice")
    assert world.service.read(final).occurrences == 21 == world.store.dedup_state(ALARM_ARN).occurrences
    timeline = world.store.timeline(incident_id)
    assert sum(e.kind is TimelineKind.OCCURRENCE for e in timeline) == 1  # the clock stands still: one log slot
    assert sum(e.kind is TimelineKind.ACKNOWLEDGED for e in timeline) == 1


def test_two_people_acknowledging_at_once(racy, busy_switching):
    """Given alice and bob acknowledge the same paged incident at the same instant, then exactly one wins,
    the other is told it is already acknowledged, and the page is answered once."""
    world = racy
    incident = world.service.report(IncidentCreate(title="database deadlock", reporter="erin"))
    world.service.classify(incident.incident_id)
    world.service.page(page_request(incident.incident_id, 1, ["alice"], token="token-1"))

    results = run_together(
        2, lambda n: with_retries(lambda: world.service.acknowledge(incident.incident_id, by=["alice", "bob"][n]))
    )

    winners = [r for r in results if isinstance(r, Incident)]
    losers = [r for r in results if isinstance(r, InvalidTransition)]
    assert len(winners) == 1 and len(losers) == 1
    assert "already acknowledged" in str(losers[0])
    assert world.service.get(incident.incident_id).acknowledged_by == winners[0].acknowledged_by
    assert world.workflows.answers == [("token-1", "acknowledged")]
    assert world.events.types().count("incident.acknowledged") == 1


def test_same_alarm_delivered_concurrently_is_one_incident(racy: World, busy_switching):
    """Given 10 instances receive the same firing alarm at once, then there is one incident, announced (and
    classified) once, its level 1 paged once, counting 10 occurrences, and every delivery names it; none fails
    (a repeat never conflicts)."""
    world = racy

    results = run_together(10, lambda _: world.service.handle_alarm(alarm("ALARM")))

    assert not [r for r in results if isinstance(r, Exception)]
    (incident,) = world.store.all_incidents()
    assert world.service.read(incident).occurrences == 10
    assert sorted(outcome.value for outcome, _ in results) == ["deduplicated"] * 9 + ["opened"]
    assert {incident_id for _, incident_id in results} == {incident.incident_id}
    assert world.events.types() == ["incident.opened", "incident.classified"]
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]


def test_acknowledge_by_link_and_api_at_once(racy, busy_switching):
    """Given alice clicks her acknowledgement link while bob acknowledges over the API, then exactly one wins
    and the other is told it is already acknowledged."""
    world = racy
    incident = world.service.report(IncidentCreate(title="database deadlock", reporter="erin"))
    world.service.classify(incident.incident_id)
    token = world.service.acknowledge_link(world.service.get(incident.incident_id), "alice").rsplit("/", 1)[1]

    def work(n: int):
        if n == 0:
            return with_retries(lambda: world.service.acknowledge_by_link(token))
        return with_retries(lambda: world.service.acknowledge(incident.incident_id, by="bob"))

    results = run_together(2, work)

    assert sum(isinstance(r, Incident) for r in results) == 1
    assert sum(isinstance(r, InvalidTransition) and "already acknowledged" in str(r) for r in results) == 1
    assert world.events.types().count("incident.acknowledged") == 1


def test_many_clicks_on_one_ack_link_acknowledge_once(racy, busy_switching):
    """Given the same link clicked 10 times at once (a mail scanner, an impatient engineer), then the link is
    consumed once: one acknowledgement, nine refusals."""
    from firebell.domain.ack_links import InvalidAckLink

    world = racy
    incident = world.service.report(IncidentCreate(title="x", reporter="erin"))
    token = world.service.acknowledge_link(world.service.get(incident.incident_id), "alice").rsplit("/", 1)[1]

    results = run_together(10, lambda n: with_retries(lambda: world.service.acknowledge_by_link(token)))

    assert sum(isinstance(r, Incident) for r in results) == 1
    # Refused as a used link, or (had the winner committed before they decided) as already acknowledged.
    assert sum(isinstance(r, (InvalidAckLink, InvalidTransition)) for r in results) == 9
    assert world.events.types().count("incident.acknowledged") == 1
