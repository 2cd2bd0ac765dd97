"""Alert intake from any monitoring tool (IncidentService.handle_signal), with fakes: one write per duplicate,
exact counts on the dedup pointer, a throttled timeline, returning after recovery, the acknowledge/resolve/record actions, claims
whose writer crashed, and the pointer following the incident through resolve, reopen and close."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from firebell import workflows as machines
from firebell.domain.directory import FirebellConfig
from firebell.domain.enums import Source, Status, TimelineKind
from firebell.domain.models import Signal
from firebell.domain.requests import IncidentCreate
from firebell.ports import DedupState
from firebell.usecases.intake import AlarmOutcome
from tests.fakes import InMemoryIncidentStore

from .builders import ALARM_ARN, alarm, confirming, page_request, watch_request
from .conftest import World, build_world
from .test_concurrency import YieldingStore, run_together

KEY = "pagerduty:checkout:disk-full-web-1"


def signal(action: str = "trigger", key: str = KEY, **fields: Any) -> Signal:
    """A PagerDuty-style event as the integrations API normalises it."""
    values: dict[str, Any] = {
        "source": Source.PAGERDUTY,
        "action": action,
        "dedup_key": key,
        "summary": "Disk 95% full on web-1",
        "actor": "pagerduty",
    }
    return Signal(**(values | fields))


def with_process(config: FirebellConfig, **process: Any) -> FirebellConfig:
    """The shipped config with some rules.process values changed (validated as YAML would be)."""
    rules = config.rules.model_dump(mode="json")
    rules["process"].update(process)
    return FirebellConfig.model_validate(
        {"directory": config.directory.model_dump(mode="json", exclude_none=True), "rules": rules}
    )


def occurrence_entries(world: World, incident_id: str):
    return [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.OCCURRENCE]


def pointer(world: World, key: str = KEY) -> DedupState:
    state = world.store.dedup_state(key)
    assert state is not None, f"no dedup pointer for {key}"
    return state


class StormBeforeCreateStore(YieldingStore):
    """The incident is created only once the whole storm has been counted: every other copy arrives while the
    claimer's create is in flight (a network round trip), whatever the machine's pace."""

    def __init__(self, storm: int) -> None:
        super().__init__()
        self._storm = storm
        self._counted = threading.Condition()

    def record_signals(self, *args, **kwargs):
        state = super().record_signals(*args, **kwargs)
        with self._counted:
            self._counted.notify_all()
        return state

    def commit(self, change):
        if change.new:
            with self._counted:  # (the others never wait for the create: they answer deduplicated at once)
                assert self._counted.wait_for(lambda: self.dedup_state(KEY).occurrences >= self._storm, timeout=30)
        return super().commit(change)


class HookedStore(InMemoryIncidentStore):
    """Runs `hooks[method]` once, just before that port method does its work (a concurrent writer gets in)."""

    def __init__(self) -> None:
        super().__init__()
        self.hooks: dict[str, Callable[[], object]] = {}

    def _run_hook(self, method: str) -> None:
        hook = self.hooks.pop(method, None)
        if hook is not None:
            hook()

    def commit(self, change):
        if any(m.resolved_at is not None for m in change.dedup):  # resolve marking the pointer
            self._run_hook("mark_resolved")
        if any(m.release for m in change.dedup):  # close releasing the key
            self._run_hook("release_dedup_key")
        return super().commit(change)

    def replace_dedup(self, *args, **kwargs):
        self._run_hook("replace_dedup")
        return super().replace_dedup(*args, **kwargs)


# --- a storm is one incident ----------------------------------------------------------------------


@pytest.mark.parametrize("storm", [2, 25, 60])
def test_storm_of_identical_triggers_is_one_incident_counting_every_one(shipped_config, busy_switching, storm):
    """Given `storm` instances receive the same trigger at the same instant, then there is exactly one incident,
    one incident.opened (and one classification), every delivery names that incident, the pointer counts `storm`
    and the API shows `storm` occurrences; the timeline has the opening and at most one repeat line."""
    world = build_world(shipped_config, store=StormBeforeCreateStore(storm))

    results = run_together(storm, lambda _: world.service.handle_signal(signal()))

    assert not [r for r in results if isinstance(r, Exception)]
    (incident,) = world.store.all_incidents()
    assert sorted(outcome.value for outcome, _ in results) == ["deduplicated"] * (storm - 1) + ["opened"]
    assert {incident_id for _, incident_id in results} == {incident.incident_id}
    assert world.events.types() == ["incident.opened", "incident.classified"]
    assert (pointer(world).occurrences, pointer(world).created, pointer(world).incident_id) == (
        storm,
        True,
        incident.incident_id,
    )
    shown = world.service.read(world.service.get(incident.incident_id))
    assert (shown.reference, shown.occurrences) == ("INC-1", storm)
    assert len(occurrence_entries(world, incident.incident_id)) <= 1
    assert world.store.calls["next_reference"] == 1 and world.store.calls["commit"] == 1


def test_storm_after_the_incident_is_written(shipped_config, busy_switching):
    """Given an open incident, when 40 repeats arrive at once, then each is counted exactly once (41), the
    timeline gets exactly one repeat line, and the incident's own count was raised by that line's writer."""
    world = build_world(shipped_config, store=YieldingStore())
    _, incident_id = world.service.handle_signal(signal())

    results = run_together(40, lambda _: world.service.handle_signal(signal()))

    assert results == [(AlarmOutcome.DEDUPLICATED, incident_id)] * 40
    assert world.service.read(world.service.get(incident_id)).occurrences == 41 == pointer(world).occurrences
    (entry,) = occurrence_entries(world, incident_id)
    logged = int(entry.message.split("fired again: ")[1].split(" ")[0])
    assert 2 <= logged <= 41
    assert world.store.calls["log_repeat"] <= 40  # at most one log attempt each


# --- the timeline is throttled, the count is exact --------------------------------------------------


def test_repeats_are_logged_at_most_once_per_occurrence_log_minutes(world):
    """Given an open incident (opened 10:00), when it repeats 10 times at 10:01, again at 10:05:59 and at
    10:06:00 (5 minutes after the last line), then the timeline has a repeat line at 10:01 (count 2) and at
    10:06 (count 13), nothing in between; the API shows every occurrence throughout."""
    _, incident_id = world.service.handle_signal(signal())
    world.clock.advance(minutes=1)
    for _ in range(10):
        world.service.handle_signal(signal())
    assert [e.message for e in occurrence_entries(world, incident_id)] == [
        "Disk 95% full on web-1 fired again: 2 occurrences since 10:00:00 UTC"
    ]
    assert world.service.read(world.service.get(incident_id)).occurrences == 11

    world.clock.advance(minutes=4, seconds=59)
    world.service.handle_signal(signal())
    assert len(occurrence_entries(world, incident_id)) == 1
    assert world.service.read(world.service.get(incident_id)).occurrences == 12

    world.clock.advance(seconds=1)
    world.service.handle_signal(signal())

    first, second = occurrence_entries(world, incident_id)
    assert (first.at, second.at) == (datetime.fromisoformat("2026-05-01T10:01:00+00:00"), world.clock())
    assert second.message == "Disk 95% full on web-1 fired again: 13 occurrences since 10:00:00 UTC"
    assert (pointer(world).occurrences, pointer(world).last_logged_at) == (13, world.clock())
    shown = world.service.read(world.service.get(incident_id))
    assert (shown.occurrences, shown.last_seen_at) == (13, world.clock())


def test_occurrence_log_minutes_comes_from_the_rules(shipped_config):
    """Given rules.process.occurrence_log_minutes = 1, then repeats a minute apart are each on the timeline
    and those 30 s apart are not."""
    world = build_world(with_process(shipped_config, occurrence_log_minutes=1))
    _, incident_id = world.service.handle_signal(signal())
    for _ in range(6):
        world.clock.advance(seconds=30)
        world.service.handle_signal(signal())

    assert [e.at.strftime("%H:%M:%S") for e in occurrence_entries(world, incident_id)] == [
        "10:00:30",
        "10:01:30",
        "10:02:30",
    ]


def test_read_shows_the_exact_count_and_last_seen(world):
    """Given 5 repeats, then the stored incident still says 1 (repeats touch only the dedup pointer) but the
    API view says 6 and when it was last seen; reading is not writing."""
    _, incident_id = world.service.handle_signal(signal())
    world.clock.advance(minutes=1)
    for _ in range(5):
        world.clock.advance(seconds=10)
        world.service.handle_signal(signal())
    stored = world.service.get(incident_id)
    writes = world.store.writes()

    shown = world.service.read(stored)

    assert stored.occurrences == 1
    assert (shown.occurrences, shown.last_seen_at) == (6, world.clock())
    assert world.store.writes() == writes


# --- what a duplicate costs -------------------------------------------------------------------------


def test_a_duplicate_costs_exactly_one_store_write_and_no_read(world):
    """Given an open incident whose first repeat is already on the timeline, when 25 more repeats arrive within
    occurrence_log_minutes, then each costs exactly one store call: the record_signal write; no read, and the
    service hands back the incident ID it got from that write."""
    _, incident_id = world.service.handle_signal(signal())
    world.service.handle_signal(signal())
    world.store.calls.clear()
    events, starts, paged = world.events.types(), len(world.workflows.starts), world.messenger.recipients()

    for n in range(25):
        world.clock.advance(seconds=10)
        assert world.service.handle_signal(signal()) == (AlarmOutcome.DEDUPLICATED, incident_id)
        assert world.store.calls == {"record_signals": n + 1}

    assert world.store.writes() == 25
    # (nothing but the opening announced, started or paged anything)
    assert (
        world.events.types() == events
        and len(world.workflows.starts) == starts
        and world.messenger.recipients() == paged
    )


def test_a_duplicate_due_a_timeline_line_costs_two_writes(world):
    """Given an open incident, when its first repeat arrives (due a timeline line), then it costs the count and
    one transaction taking the log slot with its timeline entry: two writes, no read."""
    world.service.handle_signal(signal())
    world.store.calls.clear()

    world.service.handle_signal(signal())

    assert world.store.calls == {"record_signals": 1, "log_repeat": 1}


def test_a_redelivered_duplicate_costs_its_write_only(world):
    """Given a classified incident, when a repeat is redelivered, then it costs its one write and announces
    nothing (the opening's announcement is the outbox's business, not the repeats')."""
    _, incident_id = world.service.handle_signal(signal())
    world.service.handle_signal(signal())
    world.service.classify(incident_id)
    world.store.calls.clear()

    world.service.handle_signal(signal(), redelivered=True)

    assert world.store.calls == {"record_signals": 1}
    assert world.events.types() == ["incident.opened", "incident.classified"]


# --- returning after recovery: the one reopen rule (rules.yaml: confirmation_window_minutes) ----------


def resolved_at_ten(world: World) -> str:
    """INC-1 opened 10:00 from a trigger, classified, resolved by the source's resolve at 10:00."""
    _, incident_id = world.service.handle_signal(signal())
    world.service.classify(incident_id)
    assert world.service.handle_signal(signal("resolve")) == (AlarmOutcome.RESOLVED, incident_id)
    return incident_id


def closed_with_its_pointer_left_resolved(world: World) -> str:
    """INC-1 resolved at 10:00 and closed, its key still marked resolved (as a pointer written before closing
    released it): the next trigger finds a closed incident behind the key and must replace it."""
    incident_id = resolved_at_ten(world)
    left = dict(world.store._dedup[KEY])
    world.service.resolution_window_closed(incident_id)
    world.store.seed_pointer(KEY, **left)
    world.clock.advance(minutes=61)
    return incident_id


@pytest.mark.parametrize(
    "after", [timedelta(seconds=1), timedelta(minutes=30, seconds=1), timedelta(minutes=59, seconds=59)]
)
def test_trigger_while_the_incident_is_resolved_reopens(world, after):
    """Given INC-1 resolved at 10:00, its confirmation window (60 minutes) open, when it triggers again at any
    time before the window closes it, then INC-1 is reopened, escalates again, and the pointer is no longer
    marked resolved."""
    incident_id = resolved_at_ten(world)
    world.clock.advance(after)

    assert world.service.handle_signal(signal()) == (AlarmOutcome.REOPENED, incident_id)

    reopened = world.service.get(incident_id)
    assert (reopened.status, reopened.reopened_count) == (Status.TRIGGERED, 1)
    (entry,) = [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.REOPENED]
    assert (
        entry.message
        == f"Reopened by pagerduty: Disk 95% full on web-1 fired again {after.total_seconds():.0f}s after it recovered"
    )
    assert world.workflows.names(machines.ESCALATION) == [incident_id, f"{incident_id}-2"]
    assert (pointer(world).incident_id, pointer(world).resolved_at) == (incident_id, None)
    assert len(world.store.all_incidents()) == 1
    assert world.events.types().count("incident.reopened") == 1


def test_trigger_after_the_window_closed_the_incident_opens_a_new_one(world):
    """Given INC-1 resolved at 10:00 and closed by its confirmation window, when it triggers again, then INC-2
    is opened and the key feeds INC-2 from a count of 1; the next resolve resolves INC-2."""
    first = resolved_at_ten(world)
    world.clock.advance(minutes=60)
    world.service.resolution_window_closed(first)

    outcome, second = world.service.handle_signal(signal())

    assert outcome is AlarmOutcome.OPENED and second != first
    assert world.service.get(second).reference == "INC-2"
    assert world.service.get(first).status is Status.CLOSED
    state = pointer(world)
    assert (state.incident_id, state.occurrences, state.created, state.resolved_at, state.first_seen) == (
        second,
        1,
        True,
        None,
        world.clock(),
    )
    assert world.service.handle_signal(signal("resolve")) == (AlarmOutcome.RESOLVED, second)


def test_a_pointer_left_resolved_for_a_closed_incident_is_replaced(world):
    """Given INC-1 closed but its key still marked resolved, when it triggers, then INC-2 is opened and fed."""
    first = closed_with_its_pointer_left_resolved(world)

    outcome, second = world.service.handle_signal(signal())

    assert outcome is AlarmOutcome.OPENED and second != first
    assert world.store.dedup_keys() == {KEY: second}
    assert world.events.types().count("incident.opened") == 2


def test_manual_resolution_also_opens_the_window(world):
    """Given INC-1 resolved by a person, when the source triggers again 5 minutes later, then INC-1 reopens."""
    _, incident_id = world.service.handle_signal(signal())
    world.service.resolve(incident_id, by="alice", notes="cleaned /var/log")
    assert pointer(world).resolved_at == world.clock()
    world.clock.advance(minutes=5)

    assert world.service.handle_signal(signal()) == (AlarmOutcome.REOPENED, incident_id)


def test_the_window_is_the_rules_confirmation_window_at_the_time_scale(shipped_config):
    """Given confirmation_window_minutes = 60 at the local runtime's default time scale 0.01, then resolving
    starts a 36-second confirmation window, a trigger 35 s later reopens, and once the window has closed the
    incident a trigger opens a new one. No other window decides it (there used to be a shorter flapping one)."""
    world = build_world(shipped_config, time_scale=0.01)
    first = resolved_at_ten(world)
    (window,) = world.workflows.started(machines.RESOLUTION)
    assert window.payload["confirmation_seconds"] == 36
    world.clock.advance(seconds=35)
    assert world.service.handle_signal(signal()) == (AlarmOutcome.REOPENED, first)

    world.service.handle_signal(signal("resolve"))
    world.clock.advance(seconds=36)
    world.service.resolution_window_closed(first)
    outcome, second = world.service.handle_signal(signal())
    assert outcome is AlarmOutcome.OPENED and second != first


def test_storm_returning_while_resolved_reopens_once(shipped_config, busy_switching):
    """Given INC-1 resolved, when 20 triggers arrive at once 45 minutes later, then INC-1 is reopened exactly
    once (one reopened event, one new escalation), the others are counted against it."""
    world = build_world(shipped_config, store=YieldingStore())
    incident_id = resolved_at_ten(world)
    world.clock.advance(minutes=45)
    before = pointer(world).occurrences

    results = run_together(20, lambda _: world.service.handle_signal(signal()))

    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(outcome.value for outcome, _ in results) == ["deduplicated"] * 19 + ["reopened"]
    assert {i for _, i in results} == {incident_id}
    assert world.events.types().count("incident.reopened") == 1
    assert world.workflows.names(machines.ESCALATION) == [incident_id, f"{incident_id}-2"]
    assert world.service.get(incident_id).status is Status.TRIGGERED
    assert pointer(world).occurrences == before + 20 and pointer(world).resolved_at is None


def test_storm_returning_to_a_closed_incident_opens_exactly_one_new_incident(shipped_config, busy_switching):
    """Given INC-1 closed with its key left resolved, when 20 triggers arrive at once, then exactly one new
    incident is opened and announced, and the key feeds it."""
    world = build_world(shipped_config, store=YieldingStore())
    first = closed_with_its_pointer_left_resolved(world)

    results = run_together(20, lambda _: world.service.handle_signal(signal()))

    assert not [r for r in results if isinstance(r, Exception)]
    opened = [i for outcome, i in results if outcome is AlarmOutcome.OPENED]
    assert len(opened) == 1 and opened[0] != first
    assert len(world.store.all_incidents()) == 2
    assert world.events.types().count("incident.opened") == 2
    assert pointer(world).incident_id == opened[0]


def test_two_triggers_racing_to_replace_a_closed_incident_are_both_counted_on_the_new_one(shipped_config):
    """Given INC-1 closed with its key left resolved, when a second trigger replaces the pointer between the
    first trigger's count and its own replace, then both triggers concern INC-2, which counts 2 occurrences."""
    store = HookedStore()
    world = build_world(shipped_config, store=store)
    first = closed_with_its_pointer_left_resolved(world)
    racer: list[tuple] = []
    store.hooks["replace_dedup"] = lambda: racer.append(world.service.handle_signal(signal()))

    outcome, concerned = world.service.handle_signal(signal())

    ((racer_outcome, second),) = racer
    assert racer_outcome is AlarmOutcome.OPENED and second != first
    assert (outcome, concerned) == (AlarmOutcome.DEDUPLICATED, second)
    assert world.service.read(world.service.get(second)).occurrences == 2


def test_trigger_between_resolve_and_marking_the_pointer_is_not_lost(shipped_config):
    """Given a person resolving INC-1, when the source triggers again just after the resolution is saved but
    before the pointer is marked, then INC-1 ends up triggered again (or a new incident is open)."""
    store = HookedStore()
    world = build_world(shipped_config, store=store)
    _, incident_id = world.service.handle_signal(signal())
    world.service.classify(incident_id)
    racer: list[tuple] = []
    store.hooks["mark_resolved"] = lambda: racer.append(world.service.handle_signal(signal()))

    world.service.resolve(incident_id, by="alice", notes="cleaned up")

    assert racer  # the trigger did get in between
    open_incidents = [i for i in world.store.all_incidents() if i.status is Status.TRIGGERED]
    assert len(open_incidents) == 1


# --- acknowledge, resolve and record actions --------------------------------------------------------


def test_acknowledge_action_acknowledges_as_the_source(world):
    """Given a paged incident, when the source says acknowledge, then it is acknowledged by the source's actor,
    paging stops, and a second acknowledge is ignored (not an error)."""
    _, incident_id = world.service.handle_signal(signal())
    world.service.classify(incident_id)
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))

    assert world.service.handle_signal(signal("acknowledge", actor="pagerduty:bob")) == (
        AlarmOutcome.ACKNOWLEDGED,
        incident_id,
    )

    acknowledged = world.service.get(incident_id)
    assert (acknowledged.status, acknowledged.acknowledged_by) == (Status.ACKNOWLEDGED, "pagerduty:bob")
    assert world.workflows.outcomes("token-1") == ["acknowledged"]
    assert world.events.types()[-1] == "incident.acknowledged"
    assert world.service.handle_signal(signal("acknowledge")) == (AlarmOutcome.IGNORED, incident_id)
    assert world.events.types().count("incident.acknowledged") == 1


def test_resolve_action_resolves_automatically_with_the_details(world):
    """Given an open incident, when the source resolves it with details, then it is auto-resolved with notes
    '<summary> recovered: <details>'; without details the notes are just '<summary> recovered'."""
    _, first = world.service.handle_signal(signal())
    assert world.service.handle_signal(signal("resolve", details="usage 40%")) == (AlarmOutcome.RESOLVED, first)
    resolved = world.service.get(first)
    assert (resolved.status, resolved.auto_resolved, resolved.resolved_by) == (Status.RESOLVED, True, "pagerduty")
    assert resolved.resolution_notes == "Disk 95% full on web-1 recovered: usage 40%"

    other = "pagerduty:checkout:disk-full-web-2"
    _, second = world.service.handle_signal(signal(key=other, summary="Disk 95% full on web-2"))
    world.service.handle_signal(signal("resolve", key=other, summary="Disk 95% full on web-2"))
    assert world.service.get(second).resolution_notes == "Disk 95% full on web-2 recovered"


def test_resolve_action_of_a_resolved_incident_is_ignored(world):
    _, incident_id = world.service.handle_signal(signal())
    world.service.handle_signal(signal("resolve"))
    assert world.service.handle_signal(signal("resolve")) == (AlarmOutcome.IGNORED, incident_id)
    assert world.events.types().count("incident.resolved") == 1


def test_record_action_is_a_timeline_line_only(world):
    """Given an open incident, when the source sends a record, then the timeline says what it said; no page,
    no event, no occurrence counted."""
    _, incident_id = world.service.handle_signal(signal())
    writes, events, paged = world.store.writes(), world.events.types(), world.messenger.recipients()

    assert world.service.handle_signal(signal("record", details="inode usage 80%")) == (
        AlarmOutcome.RECORDED,
        incident_id,
    )
    assert world.service.handle_signal(signal("record")) == (AlarmOutcome.RECORDED, incident_id)

    lines = [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.ALARM_STATE]
    assert [(e.actor, e.message) for e in lines] == [
        ("pagerduty", "Disk 95% full on web-1: inode usage 80%"),
        ("pagerduty", "Disk 95% full on web-1"),
    ]
    assert world.store.writes() == writes + 2  # one timeline entry each
    assert pointer(world).occurrences == 1
    assert world.events.types() == events and world.messenger.recipients() == paged


@pytest.mark.parametrize("action", ["acknowledge", "resolve", "record"])
def test_actions_for_an_unknown_key_are_ignored(world, action):
    """Given nothing was ever triggered for a key, then acknowledge/resolve/record of it change nothing and
    leave no pointer behind."""
    assert world.service.handle_signal(signal(action)) == (AlarmOutcome.IGNORED, None)
    assert world.store.all_incidents() == [] and world.store.dedup_keys() == {} and world.events.published == []


def test_trigger_carries_what_the_source_said(world):
    """Given a trigger with service, impact, urgency, labels, custom details and links, then the incident
    keeps them all and is reported by the source."""
    sent = signal(
        details="df says 95%",
        service="checkout",
        impact="high",
        urgency="low",
        labels={"host": "web-1", "severity": "warning"},
        custom_details={"free_gb": 2.5, "mounts": ["/", "/var"]},
        links=[{"href": "https://grafana.example.com/d/disk", "text": "dashboard"}],
    )
    _, incident_id = world.service.handle_signal(sent)

    incident = world.service.get(incident_id)
    assert (incident.source, incident.reporter, incident.title, incident.description) == (
        Source.PAGERDUTY,
        "pagerduty",
        "Disk 95% full on web-1",
        "df says 95%",
    )
    assert (incident.service, incident.impact, incident.urgency, incident.dedup_key) == ("checkout", "high", "low", KEY)
    assert incident.labels == {"host": "web-1", "severity": "warning"}
    assert incident.custom_details == {"free_gb": 2.5, "mounts": ["/", "/var"]}
    assert incident.links == [{"href": "https://grafana.example.com/d/disk", "text": "dashboard"}]
    opened = world.store.timeline(incident_id)[0]
    assert (opened.kind, opened.actor) == (TimelineKind.OPENED, "pagerduty")
    assert opened.message.startswith("INC-1 opened from ") and opened.message.endswith(": Disk 95% full on web-1")


def test_keys_of_different_sources_never_meet(world):
    """Given the same alert name from PagerDuty, Alertmanager and CloudWatch (keys namespaced by source), then
    each is its own incident, and resolving one leaves the others open."""
    _, pd = world.service.handle_signal(signal(key="pagerduty:checkout:web-1"))
    _, am = world.service.handle_signal(
        signal(key="alertmanager:3f2a9c", source=Source.ALERTMANAGER, actor="alertmanager")
    )
    _, cw = world.service.handle_alarm(alarm("ALARM"))

    assert len({pd, am, cw}) == 3
    world.service.handle_signal(
        signal("resolve", key="alertmanager:3f2a9c", source=Source.ALERTMANAGER, actor="alertmanager")
    )
    assert [world.service.get(i).status for i in (pd, am, cw)] == [Status.TRIGGERED, Status.RESOLVED, Status.TRIGGERED]
    assert world.store.dedup_keys() == {"pagerduty:checkout:web-1": pd, "alertmanager:3f2a9c": am, ALARM_ARN: cw}


# --- a claim whose writer crashed -----------------------------------------------------------------------


class CrashingStore(InMemoryIncidentStore):
    """The first `create` dies (the Lambda timed out or was throttled right after claiming the key)."""

    def __init__(self) -> None:
        super().__init__()
        self.crash_next_create = True

    def commit(self, change):
        if change.new and self.crash_next_create:
            self.crash_next_create = False
            raise TimeoutError("Task timed out after 10.00 seconds")
        return super().commit(change)


def test_claim_whose_writer_crashed_is_finished_on_redelivery(shipped_config):
    """Given the first delivery claimed the key and died before writing the incident, when another first
    delivery arrives at once it leaves the claim alone, and when the crashed message is redelivered it opens
    the incident under the claimed id, marks the pointer written and announces (and classifies) it once; the OK
    that follows resolves it."""
    store = CrashingStore()
    world = build_world(shipped_config, store=store)
    with pytest.raises(TimeoutError):
        world.service.handle_signal(signal())
    claimed = pointer(world)
    assert (claimed.created, claimed.occurrences) == (False, 1)
    assert world.service.handle_signal(signal()) == (AlarmOutcome.DEDUPLICATED, claimed.incident_id)
    assert world.store.all_incidents() == []

    world.clock.advance(seconds=5)
    assert world.service.handle_signal(signal(), redelivered=True) == (AlarmOutcome.OPENED, claimed.incident_id)

    (incident,) = world.store.all_incidents()
    assert incident.incident_id == claimed.incident_id
    assert world.service.read(incident).occurrences == 3
    assert pointer(world).created is True
    assert world.events.types() == ["incident.opened", "incident.classified"]
    assert world.service.handle_signal(signal("resolve")) == (AlarmOutcome.RESOLVED, incident.incident_id)


def test_two_redeliveries_finishing_one_claim_write_one_incident(shipped_config, busy_switching):
    """Given a claim whose writer crashed, when 8 redeliveries finish it at once, then one incident is written
    and opened once (the conditional create settles the race): announced, classified and paged once."""
    world = build_world(shipped_config, store=YieldingStore())
    world.store.record_signals(KEY, "01CRASHED00000000000000000", world.clock(), [None])

    results = run_together(8, lambda _: world.service.handle_signal(signal(), redelivered=True))

    assert not [r for r in results if isinstance(r, Exception)]
    assert [i.incident_id for i in world.store.all_incidents()] == ["01CRASHED00000000000000000"]
    assert sorted(outcome.value for outcome, _ in results) == ["deduplicated"] * 7 + ["opened"]
    assert {i for _, i in results} == {"01CRASHED00000000000000000"}
    assert [e.kind for e in world.store.timeline("01CRASHED00000000000000000")].count(TimelineKind.OPENED) == 1
    assert world.events.types() == ["incident.opened", "incident.classified"]  # committed once, announced once
    assert len([e for e in world.store.timeline("01CRASHED00000000000000000") if e.kind is TimelineKind.PAGED]) == 1
    assert pointer(world).created is True


# --- the pointer follows the incident: resolve, reopen, close ----------------------------------------


def test_pointer_follows_resolve_reopen_and_close(world):
    """Given a signal incident, then resolving it marks the pointer resolved_at (same key, same incident),
    reopening clears it, resolving again sets it anew, and closing releases the key so the next trigger opens
    INC-2."""
    _, incident_id = world.service.handle_signal(signal())
    world.service.classify(incident_id)
    world.clock.advance(minutes=10)

    world.service.resolve(incident_id, by="alice", notes="cleaned up")
    assert (pointer(world).incident_id, pointer(world).resolved_at) == (incident_id, world.clock())

    world.clock.advance(minutes=5)
    world.service.reopen(incident_id, by="erin", reason="still full")
    assert (pointer(world).incident_id, pointer(world).resolved_at) == (incident_id, None)

    world.clock.advance(minutes=5)
    world.service.handle_signal(signal("resolve"))
    assert pointer(world).resolved_at == world.clock()
    world.service.resolution_confirming(confirming(incident_id, "c1"))

    world.clock.advance(minutes=60)
    world.service.resolution_window_closed(incident_id)
    assert world.store.dedup_keys() == {}

    outcome, second = world.service.handle_signal(signal())
    assert outcome is AlarmOutcome.OPENED and world.service.get(second).reference == "INC-2"


def test_resolving_a_reported_incident_touches_no_pointer(world):
    """Given an incident a person reported (no dedup key), when resolved, reopened and closed, then no pointer
    is read or written."""
    incident = world.service.report(IncidentCreate(title="Checkout is slow", reporter="erin"))
    world.service.resolve(incident.incident_id, by="alice", notes="fixed")
    world.service.reopen(incident.incident_id, by="erin", reason="not fixed")
    world.service.resolve(incident.incident_id, by="alice", notes="fixed now")
    world.service.resolution_window_closed(incident.incident_id)

    assert not {m for m in world.store.calls if "dedup" in m}


def test_closed_incident_keeps_its_exact_count(world):
    """Given a storm of 10 triggers (one logged repeat), when the incident resolves and its window closes, then
    the API still shows 10 occurrences."""
    _, incident_id = world.service.handle_signal(signal())
    for _ in range(9):
        world.service.handle_signal(signal())
    world.service.handle_signal(signal("resolve"))
    assert world.service.read(world.service.get(incident_id)).occurrences == 10
    world.clock.advance(minutes=60)

    world.service.resolution_window_closed(incident_id)

    assert world.service.read(world.service.get(incident_id)).occurrences == 10


def test_incident_replaced_after_closing_keeps_its_exact_count(world):
    _, first = world.service.handle_signal(signal())
    for _ in range(9):
        world.service.handle_signal(signal())
    world.service.handle_signal(signal("resolve"))
    world.clock.advance(minutes=60)
    world.service.resolution_window_closed(first)

    world.service.handle_signal(signal())

    assert world.service.read(world.service.get(first)).occurrences == 10


def test_closing_again_after_a_replacement_keeps_the_new_pointer(shipped_config):
    """Given INC-1's key replaced by INC-2 (INC-1 closed, its key left resolved), when INC-1's confirmation
    window closes again (a redelivered close), then INC-2's pointer survives (release is conditional on INC-1)."""
    world = build_world(shipped_config)
    first = closed_with_its_pointer_left_resolved(world)
    _, second = world.service.handle_signal(signal())

    world.service.resolution_window_closed(first)

    assert world.store.dedup_keys() == {KEY: second}
    assert pointer(world).created is True


def test_trigger_while_the_incident_is_being_closed_is_not_lost(shipped_config):
    """Given a 10-minute confirmation window, when the source triggers while the close is being decided, then an
    incident is open for it afterwards: the trigger reopens INC-1 (it is still resolved) and the close, deciding
    again, finds nothing to close."""
    store = HookedStore()
    world = build_world(with_process(shipped_config, confirmation_window_minutes=10), store=store)
    first = resolved_at_ten(world)
    world.clock.advance(minutes=10)
    racer: list[tuple] = []
    store.hooks["release_dedup_key"] = lambda: racer.append(world.service.handle_signal(signal()))

    world.service.resolution_window_closed(first)

    assert racer == [(AlarmOutcome.REOPENED, first)]  # the trigger did get in between
    assert [i.reference for i in world.store.all_incidents() if i.status is Status.TRIGGERED] == ["INC-1"]


def test_pointer_written_before_the_upgrade_still_resolves_its_incident(world):
    """Given an alarm incident opened before the upgrade (its pointer holds only incident_id), when the alarm
    returns to OK, then the incident is resolved."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.store.seed_pointer(ALARM_ARN, incident_id=incident_id)  # the old DEDUP item shape

    assert world.service.handle_alarm(alarm("OK")) == (AlarmOutcome.RESOLVED, incident_id)


# --- an acknowledged incident's alert back after a long silence (Alertmanager #3959) ------------------------


def acknowledged_alarm_incident(world: World) -> str:
    """A classified checkout alarm incident, level 1 paged and acknowledged by alice at 10:00, its watch running."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"), message_id="sns:first")
    world.service.classify(incident_id)
    execution = world.store.get(incident_id).escalation.execution_arn
    world.service.page(
        page_request(incident_id, 1, ["alice"], token="page-1").model_copy(update={"execution": execution})
    )
    world.service.acknowledge(incident_id, by="alice")
    world.service.watch(watch_request(incident_id, "watch-1"))
    world.messenger.emails.clear()
    world.messenger.sms.clear()
    return incident_id


def test_a_repeat_inside_the_silence_window_is_counted_only(world):
    incident_id = acknowledged_alarm_incident(world)
    world.clock.advance(minutes=59)

    world.service.handle_alarm(alarm("ALARM"), message_id="sns:soon")

    incident = world.store.get(incident_id)
    assert incident.status is Status.ACKNOWLEDGED and incident.escalation.runs == 1
    assert pointer(world, ALARM_ARN).occurrences == 2 and world.messenger.recipients() == []


def test_an_acknowledged_incidents_alert_back_after_a_long_silence_pages_again(world):
    """Alertmanager #3959: the alert of an acknowledged incident fired again after a long silence and nobody heard of
    it. Given INC-1 acknowledged at 10:00 whose alarm (no OK action: it never resolved it) fires again at 12:30, then the
    incident is re-triggered, the acknowledgement watch ends and a new escalation run pages level 1; a redelivery of
    that notification starts nothing more."""
    incident_id = acknowledged_alarm_incident(world)
    world.clock.advance(hours=2, minutes=30)

    assert world.service.handle_alarm(alarm("ALARM"), message_id="sns:back") == (AlarmOutcome.DEDUPLICATED, incident_id)

    incident = world.store.get(incident_id)
    assert incident.status is Status.TRIGGERED and incident.escalation.runs == 2
    assert world.workflows.outcomes("watch-1") == ["stop"]
    assert len(world.workflows.started(machines.ESCALATION)) == 2
    (entry,) = [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.RETRIGGERED]
    assert entry.message.endswith("fired again after 2h30m of silence while acknowledged by alice: paging again")
    execution = incident.escalation.execution_arn
    paged = world.service.page(
        page_request(incident_id, 1, ["alice"], token="page-2").model_copy(update={"execution": execution})
    )
    assert {(d.channel, d.person) for d in paged} == {("email", "alice"), ("sms", "alice")}

    world.service.handle_alarm(alarm("ALARM"), message_id="sns:back", redelivered=True)
    assert world.store.get(incident_id).escalation.runs == 2 and len(world.workflows.started(machines.ESCALATION)) == 2


def test_the_silence_that_renotifies_comes_from_the_rules(shipped_config):
    world = build_world(with_process(shipped_config, renotify_after_silence_minutes=300))
    incident_id = acknowledged_alarm_incident(world)
    world.clock.advance(hours=4)
    world.service.handle_alarm(alarm("ALARM"), message_id="sns:back")
    assert world.store.get(incident_id).status is Status.ACKNOWLEDGED


def test_an_incident_on_hold_is_not_retriggered_by_its_alert(world):
    """On hold waits on someone else (a vendor, a change window): its alert coming back is counted, not paged."""
    incident_id = acknowledged_alarm_incident(world)
    world.service.hold(incident_id, by="alice", reason="waiting on the vendor")
    world.clock.advance(hours=3)
    world.service.handle_alarm(alarm("ALARM"), message_id="sns:back")
    assert world.store.get(incident_id).status is Status.ON_HOLD and world.messenger.recipients() == []


class ReadsMeetStore(InMemoryIncidentStore):
    """Each read an opening makes waits until the others have begun: it passes only if they run at once."""

    def __init__(self) -> None:
        super().__init__()
        self.met = threading.Barrier(3, timeout=10)

    def next_reference(self) -> str:
        self.met.wait()
        return super().next_reference()

    def last_fix(self, dedup_key: str):  # type: ignore[no-untyped-def]
        self.met.wait()
        return super().last_fix(dedup_key)

    def recent_facts(self, before: datetime, limit: int):  # type: ignore[no-untyped-def]
        self.met.wait()
        return super().recent_facts(before, limit)


def test_an_opening_reads_its_reference_last_fix_and_recent_facts_at_once(shipped_config):
    # Given a store whose three opening reads each wait for the other two (the first page waits for one round trip,
    # not three)
    world = build_world(shipped_config, store=ReadsMeetStore())

    # When an alert opens an incident
    outcome, incident_id = world.service.handle_signal(signal())

    # Then the reads met, and the incident opened with its reference as usual
    assert outcome is AlarmOutcome.OPENED and not world.store.met.broken
    assert world.service.get(incident_id).reference == "INC-1"


def test_an_opening_rides_out_a_throttled_read_and_a_lost_reference(shipped_config):
    # Given a store whose reads fail once each, as AWS does when its SDK's retries gave up: the reference's draw
    # lands but its answer is lost, the facts query is throttled, the last fix times out
    world = build_world(shipped_config)
    throttled = ClientError({"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {}}, "Query")
    world.store.fail_next("next_reference", TimeoutError("no answer"), after_effect=True)
    world.store.fail_next("recent_facts", throttled)
    world.store.fail_next("last_fix", TimeoutError("no answer"))

    # When an alert opens an incident
    outcome, incident_id = world.service.handle_signal(signal())

    # Then it opens and pages at once, with the next reference (the one whose answer was lost is skipped)
    assert outcome is AlarmOutcome.OPENED
    assert world.service.get(incident_id).reference == "INC-2"
    assert world.store.calls["next_reference"] == 2 and world.store.calls["recent_facts"] == 2
    assert "INC-2" in world.messenger.emails[0].subject


def test_a_command_rides_out_a_throttled_read(shipped_config):
    # Given an open incident, and a store whose next read is throttled (as when the SDK's own retries gave up)
    world = build_world(shipped_config)
    _, incident_id = world.service.handle_signal(signal())
    throttled = ClientError({"Error": {"Code": "ThrottlingException"}, "ResponseMetadata": {}}, "GetItem")
    world.store.fail_next("get", throttled)

    # When someone acknowledges it: the read is made again, not the request failed
    assert world.service.acknowledge(incident_id, by="alice").status is Status.ACKNOWLEDGED
