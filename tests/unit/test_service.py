"""IncidentService with in-memory fakes: identification, alarms, classification, acknowledgement, resolution.

The process around them (SLA clocks, duties, maintenance, confirmation window, reopening, ack links) is in
test_service_process.py; paging and the acknowledgement watch in test_paging.py."""

from __future__ import annotations

from datetime import timedelta

import pytest

from firebell import workflows as machines
from firebell.domain.enums import EventType, Priority, Source, Status, TimelineKind
from firebell.domain.errors import IncidentNotFound, InvalidTransition
from firebell.domain.requests import IncidentCreate
from firebell.ports import IncidentFilter
from firebell.usecases.intake import AlarmOutcome
from tests.fakes import FakeWorkflows

from .builders import ALARM_ARN, alarm, page_request
from .conftest import World, build_world, committed_effects, open_unclassified


def report(world: World, title: str = "Checkout is throwing 5xx", **fields):
    return world.service.report(IncidentCreate(title=title, reporter="erin", **fields))


def kinds(world: World, incident_id: str) -> list[str]:
    return [e.kind.value for e in world.store.timeline(incident_id)]


# --- report -------------------------------------------------------------------------------------


def test_report_opens_inc_1(world):
    """Given an empty store, when erin reports, then INC-1 is open, on the timeline, classified, its level 1
    (alice) paged and announced, all in its first version (one change: issue 10)."""
    incident = report(world, description="since 10:00", service="checkout")

    assert incident.reference == "INC-1"
    assert incident.status is Status.TRIGGERED
    assert (incident.source, incident.reporter, incident.service) == (Source.API, "erin", "checkout")
    assert incident.opened_at == incident.last_seen_at == world.clock()
    assert (incident.occurrences, incident.priority, incident.version) == (1, Priority.P2, 1)

    opened, classified = world.store.timeline(incident.incident_id)[:2]
    assert (opened.kind, opened.actor, opened.at) == (TimelineKind.OPENED, "erin", world.clock())
    assert opened.message == "INC-1 opened from report by erin: Checkout is throwing 5xx"
    assert classified.kind is TimelineKind.CLASSIFIED and classified.version == opened.version == 1

    announced, classified_event = world.events.published
    assert (announced.type, announced.incident_id, announced.reference) == (
        EventType.OPENED,
        incident.incident_id,
        "INC-1",
    )
    assert announced.occurred_at == world.clock()
    assert classified_event.type is EventType.CLASSIFIED
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]
    assert world.workflows.started(machines.ESCALATION)[0].name == incident.incident_id


def test_reports_get_successive_references(world):
    """Given two reports, then they are INC-1 and INC-2 with different ids."""
    first, second = report(world), report(world, "DNS is down")
    assert (first.reference, second.reference) == ("INC-1", "INC-2")
    assert first.incident_id != second.incident_id


def test_get_by_id_or_reference(world):
    """Given INC-1, then it can be read by its id or its reference; unknown ones are IncidentNotFound."""
    incident = report(world)
    assert world.service.get("INC-1") == world.service.get(incident.incident_id) == incident
    for unknown in ("INC-2", "01HZZZZZZZZZZZZZZZZZZZZZZZ"):
        with pytest.raises(IncidentNotFound, match=unknown):
            world.service.get(unknown)
    with pytest.raises(IncidentNotFound):
        world.service.timeline("INC-9")


def test_list_passes_filters_and_cursor(world):
    """Given incidents of different status, when listed, then the filters and pagination apply."""
    for n in range(5):
        report(world, f"incident {n}")
        world.clock.advance(minutes=1)
    world.service.acknowledge("INC-2", by="alice")

    first = world.service.list(IncidentFilter(status=Status.TRIGGERED), 2, None)
    second = world.service.list(IncidentFilter(status=Status.TRIGGERED), 2, first.cursor)
    assert [i.reference for i in first.items + second.items] == ["INC-5", "INC-4", "INC-3", "INC-1"]
    assert second.cursor is None
    assert [i.reference for i in world.service.list(IncidentFilter(status=Status.ACKNOWLEDGED), 10, None).items] == [
        "INC-2"
    ]


# --- alarms -------------------------------------------------------------------------------------

TITLE = "checkout-5xx-high: Checkout load balancer returns 5xx to more than 5 requests a minute"


def test_alarm_opens_an_incident(world):
    """Given a CloudWatch ALARM, when handled, then an incident is opened, keyed by the alarm ARN, and its ID
    (not the incident) comes back; the dedup pointer says the incident is written and counts 1."""
    outcome, incident_id = world.service.handle_alarm(alarm("ALARM"))

    assert outcome is AlarmOutcome.OPENED and isinstance(incident_id, str)
    incident = world.service.get(incident_id)
    assert incident.reference == "INC-1"
    assert (incident.source, incident.reporter, incident.dedup_key) == (
        Source.CLOUDWATCH_ALARM,
        "cloudwatch",
        ALARM_ARN,
    )
    assert incident.title == TITLE
    assert incident.description.startswith("Threshold Crossed: 1 out of the last 1 datapoints")
    assert incident.alarm.namespace == "AWS/ApplicationELB"
    assert world.store.dedup_keys() == {ALARM_ARN: incident_id}
    pointer = world.store.dedup_state(ALARM_ARN)
    assert (pointer.occurrences, pointer.created, pointer.resolved_at, pointer.first_seen) == (
        1,
        True,
        None,
        world.clock(),
    )
    assert world.store.timeline(incident_id)[0].message == f"INC-1 opened from alarm checkout-5xx-high: {TITLE}"
    assert world.events.types() == ["incident.opened", "incident.classified"]


def test_alarm_twice_is_one_incident_with_two_occurrences(world):
    """Given an open alarm incident, when the same alarm fires again, then it is counted, not reopened, and the
    first repeat is on the timeline with the count."""
    _, first = world.service.handle_alarm(alarm("ALARM"))
    later = world.clock.advance(minutes=7)

    outcome, second = world.service.handle_alarm(alarm("ALARM"))

    assert (outcome, second) == (AlarmOutcome.DEDUPLICATED, first)
    shown = world.service.read(world.service.get(first))
    assert (shown.reference, shown.occurrences, shown.last_seen_at) == ("INC-1", 2, later)
    assert len(world.store.all_incidents()) == 1
    assert world.events.types() == [
        "incident.opened",
        "incident.classified",
    ]  # no second opening, no second classification
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]  # nor a second page
    entry = world.store.timeline(first)[-1]
    assert (entry.kind, entry.actor, entry.at) == (TimelineKind.OCCURRENCE, "cloudwatch", later)
    assert entry.message == f"{TITLE} fired again: 2 occurrences since 10:00:00 UTC"


def test_ok_resolves_automatically(world):
    """Given an open alarm incident, when the alarm returns to OK, then it is resolved automatically; the alarm
    stays tied to it (pointer marked resolved) so that its return inside the confirmation window reopens it."""
    _, opened = world.service.handle_alarm(alarm("ALARM"))
    world.clock.advance(minutes=15)

    outcome, resolved_id = world.service.handle_alarm(alarm("OK"))

    assert (outcome, resolved_id) == (AlarmOutcome.RESOLVED, opened)
    resolved = world.service.get(opened)
    assert resolved.status is Status.RESOLVED and resolved.auto_resolved is True
    assert (resolved.resolved_by, resolved.resolved_at) == ("cloudwatch", world.clock())
    assert resolved.resolution_notes.startswith(f"{TITLE} recovered: Threshold Crossed")
    entry = next(e for e in world.store.timeline(opened) if e.kind is TimelineKind.RESOLVED)
    assert (entry.kind, entry.actor, entry.details) == (TimelineKind.RESOLVED, "cloudwatch", {"automatic": True})
    assert entry.message.startswith(f"Resolved automatically: {TITLE} recovered: ")
    assert world.events.types() == ["incident.opened", "incident.classified", "incident.resolved"]
    assert world.store.dedup_keys() == {ALARM_ARN: opened}
    assert world.store.dedup_state(ALARM_ARN).resolved_at == world.clock()


def test_alarm_returning_after_resolution_reopens_the_same_incident(world):
    """Given an alarm incident resolved by OK, when the alarm fires again 10 minutes later (within the
    60-minute confirmation window), then INC-1 is reopened (not a new INC-2), and the timeline says it came back."""
    _, opened = world.service.handle_alarm(alarm("ALARM"))
    world.service.classify(opened)
    world.service.handle_alarm(alarm("OK"))
    world.clock.advance(minutes=10)

    outcome, reopened_id = world.service.handle_alarm(alarm("ALARM"))

    assert (outcome, reopened_id) == (AlarmOutcome.REOPENED, opened)
    reopened = world.service.get(opened)
    assert (reopened.reference, reopened.status) == ("INC-1", Status.TRIGGERED)
    assert reopened.reopened_count == 1 and reopened.resolved_at is None and reopened.resolution_notes is None
    assert len(world.store.all_incidents()) == 1
    entry = [e for e in world.store.timeline(opened) if e.kind is TimelineKind.REOPENED][-1]
    assert (entry.actor, entry.message) == (
        "cloudwatch",
        f"Reopened by cloudwatch: {TITLE} fired again 600s after it recovered",
    )
    assert world.events.types()[-1] == "incident.reopened"
    assert world.workflows.names(machines.ESCALATION) == [opened, f"{opened}-2"]
    assert world.store.dedup_state(ALARM_ARN).resolved_at is None


def test_alarm_after_the_incident_closed_opens_a_new_one(world):
    """Given an alarm incident resolved and then closed by its confirmation window, when the alarm fires
    again, then a new incident INC-2 is opened."""
    _, opened = world.service.handle_alarm(alarm("ALARM"))
    world.service.handle_alarm(alarm("OK"))
    world.service.resolution_window_closed(opened)
    assert world.store.dedup_keys() == {}

    outcome, second = world.service.handle_alarm(alarm("ALARM"))

    assert (outcome, world.service.get(second).reference) == (AlarmOutcome.OPENED, "INC-2")
    assert second != opened


def test_ok_without_open_incident_is_ignored(world):
    """Given no incident for the alarm, when OK arrives, then nothing happens."""
    assert world.service.handle_alarm(alarm("OK")) == (AlarmOutcome.IGNORED, None)
    assert world.store.all_incidents() == [] and world.events.published == []


def test_ok_after_manual_resolution_is_ignored(world):
    """Given an alarm incident a person resolved, when OK arrives, then it is ignored (not resolved twice)."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.service.resolve(incident_id, by="alice", notes="rolled back")

    assert world.service.handle_alarm(alarm("OK")) == (AlarmOutcome.IGNORED, incident_id)

    same = world.service.get(incident_id)
    assert same.auto_resolved is False and same.resolved_by == "alice"
    assert world.events.types().count("incident.resolved") == 1


def test_insufficient_data_is_recorded_never_paged(world):
    """Given an open alarm incident (its level 1 paged when it opened), when INSUFFICIENT_DATA arrives, then the
    timeline says so; no page, no event, and it is not counted as an occurrence."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    paged, answers, events = world.messenger.recipients(), list(world.workflows.answers), world.events.types()

    outcome, same = world.service.handle_alarm(
        alarm("INSUFFICIENT_DATA", NewStateReason="Insufficient Data: 1 datapoint was unknown.")
    )

    assert (outcome, same) == (AlarmOutcome.RECORDED, incident_id)
    incident = world.service.read(world.service.get(incident_id))
    assert incident.status is Status.TRIGGERED and incident.occurrences == 1
    entry = world.store.timeline(incident_id)[-1]
    assert (entry.kind, entry.actor) == (TimelineKind.ALARM_STATE, "cloudwatch")
    assert entry.message == f"{TITLE}: alarm is INSUFFICIENT_DATA: Insufficient Data: 1 datapoint was unknown."
    assert world.messenger.recipients() == paged and world.workflows.answers == answers
    assert world.events.types() == events


def test_insufficient_data_without_incident_is_ignored(world):
    assert world.service.handle_alarm(alarm("INSUFFICIENT_DATA")) == (AlarmOutcome.IGNORED, None)


def test_ok_on_a_paged_incident_stops_paging(world):
    """Given an alarm incident whose level 1 is being paged, when OK arrives, then its escalation run is stopped
    (answering the page as well would only cost the machine two more transitions)."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    escalation = world.service.classify(incident_id).escalation.execution_arn
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))

    world.service.handle_alarm(alarm("OK"))

    assert (escalation, "resolved") in world.workflows.stops
    assert world.workflows.answers == []


ORPHAN = "01ORPHANED0000000000000000"


def test_alarm_claimed_but_never_written_is_finished_on_redelivery(world):
    """Given a dedup key claimed by a delivery that crashed before writing its incident, when that message is
    redelivered, then the incident is opened under the claimed id, the pointer marked written, and announced."""
    world.store.record_signals(ALARM_ARN, ORPHAN, world.clock(), [None])  # what the crashed attempt left behind
    world.clock.advance(seconds=5)

    outcome, incident_id = world.service.handle_alarm(alarm("ALARM"), redelivered=True)

    assert (outcome, incident_id) == (AlarmOutcome.OPENED, ORPHAN)
    assert world.service.get(ORPHAN).reference == "INC-1"
    assert world.store.dedup_state(ALARM_ARN).created is True
    assert world.events.types() == ["incident.opened", "incident.classified"]
    assert world.service.handle_alarm(alarm("ALARM")) == (AlarmOutcome.DEDUPLICATED, ORPHAN)
    assert len(world.store.all_incidents()) == 1


def test_fresh_claim_is_left_to_its_writer(world):
    """Given a key claimed 30 s ago or less by a delivery still writing its incident, when another first
    delivery of the alarm arrives, then it only counts (a storm does not race the writer); the OK of an
    incident not yet written is ignored."""
    world.store.record_signals(ALARM_ARN, ORPHAN, world.clock(), [None])
    world.clock.advance(seconds=30)

    assert world.service.handle_alarm(alarm("ALARM")) == (AlarmOutcome.DEDUPLICATED, ORPHAN)
    assert world.service.handle_alarm(alarm("OK")) == (AlarmOutcome.IGNORED, None)
    assert world.store.all_incidents() == [] and world.events.published == []
    assert world.store.dedup_state(ALARM_ARN).occurrences == 2


def test_claim_older_than_the_grace_is_finished_by_any_delivery(world):
    """Given a key claimed more than 30 s ago whose incident was never written, when a first delivery of the
    alarm arrives, then it opens the incident under the claimed id."""
    world.store.record_signals(ALARM_ARN, ORPHAN, world.clock(), [None])
    world.clock.advance(seconds=31)

    assert world.service.handle_alarm(alarm("ALARM")) == (AlarmOutcome.OPENED, ORPHAN)
    assert world.store.dedup_state(ALARM_ARN).created is True
    assert world.events.types() == ["incident.opened", "incident.classified"]


def test_alarm_without_description_is_titled_by_its_name(world):
    """Given an alarm without AlarmDescription, when it opens an incident, then the title is the alarm name."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM", AlarmDescription=None))
    assert world.service.get(incident_id).title == "checkout-5xx-high"


def test_alarms_of_different_arns_are_different_incidents(world):
    """Given two alarms, then each has its own incident."""
    _, first = world.service.handle_alarm(alarm("ALARM"))
    other = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-latency"
    outcome, second = world.service.handle_alarm(alarm("ALARM", AlarmName="checkout-latency", AlarmArn=other))
    assert (outcome, world.service.get(second).reference) == (AlarmOutcome.OPENED, "INC-2")
    assert world.store.dedup_keys() == {ALARM_ARN: first, other: second}


# --- classification -----------------------------------------------------------------------------


def test_classify_p1_sets_priority_sla_team_and_starts_everything_once(world):
    """Given a database incident, when reported (classified in the change that opens it), then it is P1 for
    platform with SLA clocks armed, escalation started with level 1 (alice) paged, carol assigned and paged as
    incident manager and stakeholder updates due every 30 min; the classify function's delivery of its
    incident.opened a minute later (and a redelivery of it) changes nothing."""
    incident = report(world, "Primary database deadlock")
    classified = world.service.get(incident.incident_id)

    assert (classified.category, classified.impact, classified.urgency) == ("database", "high", "high")
    assert (classified.priority, classified.team) == (Priority.P1, "platform")
    assert classified.sla.response.due_at == incident.opened_at + timedelta(minutes=15)
    assert classified.sla.resolution.due_at == incident.opened_at + timedelta(minutes=240)
    assert classified.sla.execution_arn == FakeWorkflows.execution_id(
        machines.SLA, f"{incident.incident_id}-sla-0-response-at-risk"
    )
    assert classified.escalation.execution_arn == FakeWorkflows.execution_id(machines.ESCALATION, incident.incident_id)
    assert (classified.escalation.runs, classified.incident_manager) == (1, "carol")
    assert (classified.updates.every_minutes, classified.updates.started_at, classified.updates.rounds) == (
        30,
        incident.opened_at,
        0,
    )
    assert classified.updates.execution_arn is None  # (its rounds are moments of the SLA run)

    # Each machine's run once (level 1's page went before any of them: test_paging.py, issue 10; runs of different
    # machines start at once, in no particular order: test_dispatch_lanes.py)
    starts = {s.machine: s for s in world.workflows.starts}
    assert sorted(s.machine for s in world.workflows.starts) == sorted([machines.ESCALATION, machines.SLA])
    escalation_run, sla_run = starts[machines.ESCALATION], starts[machines.SLA]
    # The SLA run waits for the first moment to come: the response target at risk (75 % of 15 min), before the
    # first stakeholder update round (30 min).
    assert sla_run.payload == {
        "incident_id": incident.incident_id,
        "generation": 0,
        "clock": "response",
        "moment": "at_risk",
        "at": "2026-05-01T10:11:15Z",
    }
    plan = escalation_run.payload
    assert (plan["incident_id"], plan["reference"], plan["incident_managers"]) == (
        incident.incident_id,
        "INC-1",
        ["carol"],
    )
    assert (plan["rounds"], plan["ack_timeout_seconds"]) == (1, 1800)
    assert [(lvl["targets"], lvl["timeout_seconds"]) for lvl in plan["levels"]] == [
        ([{"kind": "schedule", "ref": "platform-primary"}], 300),
        ([{"kind": "person", "ref": "bob"}], 600),
    ]
    assert world.messenger.recipients() == ["alice@example.com", "carol@example.com", "+15550100001", "+15550100003"]

    timeline = world.store.timeline(incident.incident_id)
    assert [e.kind for e in timeline] == [
        TimelineKind.OPENED,
        TimelineKind.CLASSIFIED,
        TimelineKind.ESCALATION_STARTED,
        TimelineKind.PAGED,
        TimelineKind.INCIDENT_MANAGER,
        TimelineKind.STAKEHOLDER_UPDATE,
        *[TimelineKind.NOTIFICATION_SENT] * 4,
    ]
    assert timeline[1].message == (
        "Classified database: impact high × urgency high → P1; team platform; respond by 10:15 UTC, "
        "resolve by 2026-05-01 14:00 UTC"
    )
    assert timeline[1].details == {"category": "database", "priority": "P1", "team": "platform"}
    assert timeline[2].message == (
        "Escalation started: level 1 (platform-primary) for 300s, then level 2 (bob) for 600s; then incident manager"
    )
    assert timeline[3].message == "Level 1 paged: alice; escalates in 300s unless acknowledged"
    assert timeline[4].message == "P1: carol assigned as incident manager"
    assert timeline[5].message == "P1: stakeholder updates due every 30 min while open"
    assert [e.message for e in timeline[6:]] == [
        "email to alice <alice@example.com> (level 1)",
        "sms to alice <+15550100001> (level 1)",
        "email to carol <carol@example.com> (incident manager for P1)",
        "sms to carol <+15550100003> (incident manager for P1)",
    ]
    assert world.events.types() == ["incident.opened", "incident.classified"]

    for _ in range(2):  # the classify function's delivery of incident.opened, then a redelivery
        world.clock.advance(minutes=1)
        again = world.service.classify(incident.incident_id)

        assert again == classified == world.service.get(incident.incident_id)
        assert len(world.workflows.starts) == 2
        assert len(world.store.timeline(incident.incident_id)) == 10
        assert len(world.messenger.recipients()) == 4
        assert world.events.types() == ["incident.opened", "incident.classified"]


def observed(world: World, incident_id: str) -> tuple:
    """Everything a command could have changed about the incident or done about it."""
    return (
        world.service.get(incident_id),
        world.store.timeline(incident_id),
        world.store.effects(incident_id),
        world.events.types(),
        [s.name for s in world.workflows.starts],
        world.workflows.answers[:],
        world.messenger.recipients(),
    )


def test_classify_of_an_incident_classified_when_it_opened_changes_nothing(world):
    """Given an alarm incident classified and paged by the change that opened it, when the classify function gets
    its incident.opened (it is still subscribed to it, as a safety net), and again once alice has acknowledged,
    then nothing changes: no commit, no timeline line, no effect, no event, no run, no page."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    before, commits = observed(world, incident_id), world.store.calls["commit"]

    assert world.service.escalation.classify(incident_id).changed is False

    assert observed(world, incident_id) == before and world.store.calls["commit"] == commits

    world.service.acknowledge(incident_id, by="alice")
    before, commits = observed(world, incident_id), world.store.calls["commit"]

    assert world.service.escalation.classify(incident_id).changed is False

    assert observed(world, incident_id) == before and world.store.calls["commit"] == commits


def test_classify_of_an_incident_opened_unclassified_pages_its_level_1_itself(world):
    """Given an incident stored unclassified (opened before classification moved into the opening change), when
    the classify function classifies it, then that change pages level 1 (alice) too, before the escalation run's
    start, and the run's first level-1 request then only takes over the wait: alice is paged once."""
    incident = open_unclassified(world, "Checkout is throwing 5xx", service="checkout")
    assert world.messenger.recipients() == [] and world.workflows.starts == []

    classified = world.service.classify(incident.incident_id)

    assert (classified.priority, classified.escalation.level, classified.escalation.paged_at_start) == (
        Priority.P2,
        1,
        True,
    )
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]
    kinds_in_order = [e.kind.value for e in committed_effects(world, incident.incident_id, classified.version)]
    assert kinds_in_order[:3] == ["email", "sms", "start"]
    execution = classified.escalation.execution_arn
    request = page_request(incident.incident_id, 1, [("schedule", "platform-primary")], token="token-1")
    assert world.service.page(request.model_copy(update={"execution": execution})) == []
    assert world.service.get(incident.incident_id).escalation.task_token == "token-1"
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]


def test_classify_p2_has_stakeholder_updates_but_no_incident_manager(world):
    """Given a checkout ALB alarm (P2), when it opens, then updates are due hourly and only level 1 (alice) is
    paged: there is no incident manager to page."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    classified = world.service.get(incident_id)
    assert classified.priority is Priority.P2
    assert classified.incident_manager is None and classified.updates.every_minutes == 60
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]


def test_classify_p3_has_neither_incident_manager_nor_updates(world):
    incident = report(world, "Disk full on build host")
    classified = world.service.classify(incident.incident_id)
    assert (classified.priority, classified.incident_manager, classified.updates) == (Priority.P3, None, None)
    assert sorted(s.machine for s in world.workflows.starts) == [
        machines.ESCALATION,
        machines.SLA,
    ]  # (at once: any order)


def test_classify_alarm_incident(world):
    """Given a checkout-* ALB alarm, when classified, then application/P2, service checkout, team platform."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    classified = world.service.classify(incident_id)
    assert (classified.category, classified.priority, classified.service, classified.team) == (
        "application",
        Priority.P2,
        "checkout",
        "platform",
    )


def test_classify_keeps_reporter_impact_and_urgency(world):
    """Given a database report the reporter rated low × low, when classified, then it is P5."""
    incident = report(world, "database replica lag in staging", impact="low", urgency="low")
    assert world.service.classify(incident.incident_id).priority is Priority.P5


def test_classify_uses_the_time_scale(shipped_config):
    """Given a service running at time_scale 0.01, when classifying, then the plan waits 3 s then 6 s and the
    acknowledgement watch 18 s."""
    world = build_world(shipped_config, time_scale=0.01)
    incident = report(world)
    world.service.classify(incident.incident_id)
    (escalation,) = world.workflows.started(machines.ESCALATION)
    assert [lvl["timeout_seconds"] for lvl in escalation.payload["levels"]] == [3, 6]
    assert escalation.payload["ack_timeout_seconds"] == 18


def test_classify_a_resolved_incident_does_not_escalate(world):
    """Given an incident opened before classification moved into the opening change, and resolved before it was
    classified, when the classify function classifies it, then it is classified but no escalation starts and
    nobody is paged."""
    incident = open_unclassified(world)
    world.service.resolve("INC-1", by="erin", notes="false alarm")

    classified = world.service.classify(incident.incident_id)

    assert classified.priority is not None and classified.status is Status.RESOLVED
    assert world.workflows.started(machines.ESCALATION) == [] and world.workflows.started(machines.SLA) == []
    assert classified.escalation.execution_arn is None
    assert world.messenger.recipients() == [] and "paged" not in kinds(world, incident.incident_id)


def relay_later(world) -> None:
    """The outbox relay's next run, once the effects are past its grace period."""
    world.clock.advance(seconds=11)
    world.relay.run()


def test_escalation_whose_start_failed_is_started_by_the_outbox_relay(world):
    """Given the opening change (classification and level 1's page included) committed but starting the
    escalation failed (throttled), then the report still succeeded (it committed), level 1 was paged all the
    same (its page goes before the start), the start stays in the outbox, and the relay starts it, once."""
    world.workflows.fail_next_start(RuntimeError("ThrottlingException: Rate exceeded"), machine=machines.ESCALATION)
    incident = report(world, "Primary database deadlock")
    assert world.workflows.started(machines.ESCALATION) == []
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]

    world.service.classify(incident.incident_id)  # the classify function gets incident.opened: nothing to decide
    relay_later(world)

    assert len(world.workflows.started(machines.ESCALATION)) == 1
    assert (
        world.service.get(incident.incident_id).escalation.execution_arn
        == world.workflows.started(machines.ESCALATION)[0].execution_id
    )
    assert world.service.get(incident.incident_id).incident_manager == "carol"
    assert kinds(world, incident.incident_id).count("classified") == 1  # not classified twice
    assert world.events.types().count("incident.classified") == 1
    assert kinds(world, incident.incident_id).count("paged") == 1  # nor paged twice


def test_incident_whose_announcement_failed_is_announced_by_the_outbox_relay(world):
    """Given the incident committed but publishing incident.opened failed (SNS throttled), then the alarm is
    handled (opened, level 1 paged: its page goes before the announcement), the SLA clocks start all the same (runs
    do not wait for events: they start at once, in lanes of their own), and the relay publishes the announcement and
    the classification (which waited behind it in its lane) exactly once, and starts nothing twice."""
    world.events.fail_next(RuntimeError("Throttling: Rate exceeded"))
    outcome, incident_id = world.service.handle_alarm(alarm("ALARM"))
    assert outcome is AlarmOutcome.OPENED and world.events.types() == []
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]
    assert len(world.workflows.started(machines.SLA)) == 1

    relay_later(world)
    relay_later(world)

    assert world.service.get(incident_id).reference == "INC-1"
    assert world.events.types() == ["incident.opened", "incident.classified"]
    assert len(world.workflows.started(machines.SLA)) == 1
    assert world.store.dedup_state(ALARM_ARN).created is True


def test_ok_of_an_incident_whose_announcement_failed_still_resolves_it(world):
    """Given an alarm incident committed but not yet announced (SNS throttled), when the alarm returns to OK,
    then the incident is resolved automatically."""
    world.events.fail_next(RuntimeError("Throttling: Rate exceeded"))
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))

    assert world.service.handle_alarm(alarm("OK")) == (AlarmOutcome.RESOLVED, incident_id)
    assert world.service.get(incident_id).status is Status.RESOLVED


def test_repeats_of_an_unannounced_incident_do_not_burn_references(world):
    """Given an alarm incident committed but not announced, when the alarm repeats three times over the next
    minutes, then the next person's report is INC-2 (references are handed out only to incidents)."""
    world.events.fail_next(RuntimeError("Throttling: Rate exceeded"))
    world.service.handle_alarm(alarm("ALARM"))
    for _ in range(3):
        world.clock.advance(minutes=1)
        world.service.handle_alarm(alarm("ALARM"))

    assert report(world).reference == "INC-2"


def test_first_delivery_of_a_repeat_does_not_announce_again(world):
    """Given an alarm incident, when a *new* notification of the alarm arrives (first receive), then it is only
    counted: a storm of repeats does not flood classify with incident.opened, nor page again."""
    world.service.handle_alarm(alarm("ALARM"))
    world.service.handle_alarm(alarm("ALARM"), redelivered=False)
    assert world.events.types() == ["incident.opened", "incident.classified"]
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]


def test_redelivery_of_a_classified_incident_does_not_announce_again(world):
    """Given a classified alarm incident, when a notification is redelivered, then nothing is re-announced."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.service.classify(incident_id)
    world.service.handle_alarm(alarm("ALARM"), redelivered=True)
    assert world.events.types() == ["incident.opened", "incident.classified"]


def test_redelivered_notification_is_not_a_new_occurrence(world):
    """Given INC-1 opened from a notification, when SQS redelivers that very notification (same SNS MessageId),
    then the alarm has still fired once: occurrences stays 1 and the timeline has no 'fired again'; a genuine
    copy (another MessageId) counts."""
    world.service.handle_alarm(alarm("ALARM"), message_id="sns:m-1")

    world.service.handle_alarm(alarm("ALARM"), redelivered=True, message_id="sns:m-1")

    incident = world.service.get("INC-1")
    assert world.service.read(incident).occurrences == 1
    assert "occurrence" not in kinds(world, incident.incident_id)
    world.service.handle_alarm(alarm("ALARM"), message_id="sns:m-2")
    assert world.service.read(world.service.get("INC-1")).occurrences == 2


def test_redelivered_claimer_finishes_its_own_incident(world):
    """Given the notification that claimed the key counted but its incident was never written (the function
    died between), when SQS redelivers it, then it opens the incident, and the count stays 1."""
    world.store.fail_next("commit", RuntimeError("connection reset"))
    with pytest.raises(RuntimeError):
        world.service.handle_alarm(alarm("ALARM"), message_id="sns:m-1")

    outcome, incident_id = world.service.handle_alarm(alarm("ALARM"), redelivered=True, message_id="sns:m-1")

    assert outcome is AlarmOutcome.OPENED
    assert world.service.read(world.service.get(incident_id)).occurrences == 1
    assert world.events.types() == ["incident.opened", "incident.classified"]


# --- acknowledgement, resolution, notes ---------------------------------------------------------


def test_acknowledge(world):
    """Given a triggered incident (level 1 paged when it opened, the escalation's first page request not
    arrived yet), when alice acknowledges, then it is acknowledged by her, now, and announced."""
    report(world)
    world.clock.advance(minutes=4)

    acknowledged = world.service.acknowledge("INC-1", by="alice")

    assert acknowledged.status is Status.ACKNOWLEDGED
    assert (acknowledged.acknowledged_by, acknowledged.acknowledged_at) == ("alice", world.clock())
    entry = world.store.timeline(acknowledged.incident_id)[-1]
    assert (entry.kind, entry.actor, entry.message) == (
        TimelineKind.ACKNOWLEDGED,
        "alice",
        "Acknowledged by alice; paging stopped",
    )
    assert world.events.types() == ["incident.opened", "incident.classified", "incident.acknowledged"]
    assert world.workflows.answers == []  # no task token handed over yet (test_paging.py: the request then is answered)


def test_acknowledge_twice_is_refused(world):
    """Given an acknowledged incident, when acknowledged again, then InvalidTransition says it already is."""
    report(world)
    world.service.acknowledge("INC-1", by="alice")
    with pytest.raises(InvalidTransition, match="cannot acknowledge INC-1: it is already acknowledged"):
        world.service.acknowledge("INC-1", by="bob")
    assert world.service.get("INC-1").acknowledged_by == "alice"


def test_resolve(world):
    """Given an acknowledged incident, when resolved with notes, then it is resolved by that person."""
    report(world)
    world.service.acknowledge("INC-1", by="alice")
    world.clock.advance(hours=1)

    resolved = world.service.resolve("INC-1", by="alice", notes="Restarted the pool")

    assert resolved.status is Status.RESOLVED
    assert (resolved.resolved_by, resolved.resolved_at, resolved.resolution_notes) == (
        "alice",
        world.clock(),
        "Restarted the pool",
    )
    assert resolved.auto_resolved is False
    (entry,) = [e for e in world.store.timeline(resolved.incident_id) if e.kind is TimelineKind.RESOLVED]
    assert (entry.at, entry.message, entry.details) == (
        world.clock(),
        "Resolved by alice: Restarted the pool",
        {"automatic": False},
    )
    assert world.events.types() == [
        "incident.opened",
        "incident.classified",
        "incident.acknowledged",
        "incident.resolved",
    ]


def test_resolve_already_resolved_is_refused(world):
    """Given a resolved incident, when resolved again, then InvalidTransition and nothing new is published."""
    report(world)
    world.service.resolve("INC-1", by="alice", notes="fixed")

    with pytest.raises(InvalidTransition, match="cannot resolve INC-1: it is already resolved") as caught:
        world.service.resolve("INC-1", by="bob", notes="fixed again")

    assert (caught.value.status, caught.value.action) == (Status.RESOLVED, "resolve")
    assert world.service.get("INC-1").resolved_by == "alice"
    assert world.events.types().count("incident.resolved") == 1


def test_acknowledge_resolved_is_refused(world):
    report(world)
    world.service.resolve("INC-1", by="alice", notes="fixed")
    with pytest.raises(InvalidTransition, match="it is resolved; reopen it first"):
        world.service.acknowledge("INC-1", by="bob")


def test_add_note(world):
    """Given an incident, when bob adds a note by reference, then it is on the timeline as his."""
    incident = report(world)
    world.clock.advance(seconds=30)

    note = world.service.add_note("INC-1", by="bob", text="Looking at the ALB logs")

    assert (note.kind, note.actor, note.message, note.at) == (
        TimelineKind.NOTE,
        "bob",
        "Looking at the ALB logs",
        world.clock(),
    )
    assert world.service.timeline("INC-1")[-1] == note
    assert world.service.timeline(incident.incident_id)[-1] == note
    with pytest.raises(IncidentNotFound):
        world.service.add_note("INC-404", by="bob", text="?")


def test_timeline_tells_the_story_in_order(world):
    """Given a whole alarm incident (open: classified and paged, repeat, the classify function's late delivery,
    the escalation's first page request, ack, note, OK), then the timeline is in time order."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    steps = [
        lambda: world.service.handle_alarm(alarm("ALARM")),
        lambda: world.service.classify(incident_id),
        lambda: world.service.page(page_request(incident_id, 1, ["alice"], token="t1")),
        lambda: world.service.acknowledge("INC-1", by="alice"),
        lambda: world.service.add_note("INC-1", by="alice", text="cache stampede"),
        lambda: world.service.handle_alarm(alarm("OK")),
    ]
    for step in steps:
        world.clock.advance(minutes=1)
        step()

    timeline = world.service.timeline("INC-1")
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)
    assert [e.kind.value for e in timeline] == [
        "opened",
        "classified",
        "escalation_started",
        "paged",
        "stakeholder_update",
        "notification_sent",
        "notification_sent",
        "occurrence",
        "acknowledged",
        "note",
        "resolved",
        "review",
    ]


@pytest.mark.parametrize("key", ["x" * 3_000, "INC-" + "9" * 3_000])
def test_an_id_longer_than_any_incident_has_is_not_found_without_asking_the_store(world, key) -> None:
    # DynamoDB answers a key over 2,048 bytes with a ValidationException (a 5xx), not with "no such item".
    with pytest.raises(IncidentNotFound) as missing:
        world.service.incidents.get(key)
    assert not world.store.calls["get"] and not world.store.calls["get_by_reference"]
    assert len(str(missing.value)) < 200
