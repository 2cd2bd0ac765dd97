"""The incident process around the lifecycle, with fakes: one-click acknowledgement links, maintenance windows,
on hold (SLA pause/resume), SLA wake-ups, stakeholder-update and review duties, the resolution confirmation
window, closure and reopening."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from firebell import workflows as machines
from firebell.domain.ack_links import InvalidAckLink
from firebell.domain.enums import MessageType, Priority, Status, TimelineKind
from firebell.domain.errors import InvalidTransition
from firebell.domain.models import IncidentRead
from firebell.domain.requests import IncidentCreate
from firebell.domain.workflow_messages import SlaWakeUp, WatchRequest
from tests.fakes import FakeWorkflows

from .builders import ALARM_ARN, alarm, confirming, exhausted, page_request, reminder, sla_wake, watch_request
from .conftest import (
    API_URL,
    World,
    build_world,
    open_unclassified,
    sla_run_wakes,
    updates_by_a_reminder_run,
    with_directory,
)


def entries(world: World, incident_id: str, kind: TimelineKind):
    return [e for e in world.store.timeline(incident_id) if e.kind is kind]


def clear_outbox(world: World) -> None:
    world.messenger.emails.clear()
    world.messenger.sms.clear()


@pytest.fixture
def p1(world: World) -> str:
    """INC-1: a P1 (database) of team platform, opened 10:00 and classified in that change; its pages (level 1:
    alice, incident manager: carol) cleared."""
    incident = world.service.report(IncidentCreate(title="Primary database deadlock", reporter="erin"))
    clear_outbox(world)
    return incident.incident_id


@pytest.fixture
def p2(world: World) -> str:
    """INC-1: a P2 checkout alarm incident (no incident manager), opened 10:00 and classified in that change
    (level 1, alice, paged)."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    return incident_id


def acknowledged_and_watched(world: World, incident_id: str, by: str = "alice", token: str = "watch-1") -> None:
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.acknowledge(incident_id, by=by)
    world.service.watch(watch_request(incident_id, token))
    clear_outbox(world)


# --- one-click acknowledgement links --------------------------------------------------------------


def link_token(world: World, incident_id: str, person: str) -> str:
    link = world.service.acknowledge_link(world.service.get(incident_id), person)
    assert link.startswith(f"{API_URL}/ack/")
    return link.rsplit("/", 1)[1]


def test_ack_link_acknowledges_as_its_person(world, p1):
    """Given alice's link from her page, when she clicks it, then INC-1 is acknowledged by alice and the
    page is answered `acknowledged`."""
    world.service.page(page_request(p1, 1, ["alice"], token="token-1"))
    token = link_token(world, p1, "alice")
    world.clock.advance(minutes=2)

    acknowledged = world.service.acknowledge_by_link(token)

    assert (acknowledged.status, acknowledged.acknowledged_by) == (Status.ACKNOWLEDGED, "alice")
    assert world.workflows.answers == [("token-1", "acknowledged")]


def test_ack_link_is_single_use(world, p1):
    """Given a link already used, when it is used again (even after a re-trigger), then it is refused."""
    token = link_token(world, p1, "alice")
    world.service.acknowledge_by_link(token)
    world.service.watch(WatchRequest(type="escalation.watch", incident_id=p1, task_token="token-w"))
    world.service.page(page_request(p1, 1, ["alice"], token="token-r", retrigger=True))  # the watch timed out

    with pytest.raises(InvalidAckLink, match="already used"):
        world.service.acknowledge_by_link(token)
    assert world.service.get(p1).status is Status.TRIGGERED


def test_ack_link_expires_after_ack_link_hours(world, p1):
    token = link_token(world, p1, "alice")
    world.clock.advance(hours=24)
    with pytest.raises(InvalidAckLink, match="expired"):
        world.service.acknowledge_by_link(token)
    assert world.service.get(p1).status is Status.TRIGGERED


def test_a_used_link_stays_refused_by_its_own_expiry_once_ttl_removed_its_marker(world, p1):
    """Given a used link whose single-use marker DynamoDB's TTL deleted after the link expired, then it is still
    refused: the link's signed expiry does it, before any marker is looked at."""
    token = link_token(world, p1, "alice")
    world.service.acknowledge_by_link(token)
    world.clock.advance(hours=25)
    assert len(world.store.expire_once_keys(world.clock())) == 1
    with pytest.raises(InvalidAckLink, match="expired"):
        world.service.acknowledge_by_link(token)


def test_tampered_ack_link_is_refused_without_consuming_anything(world, p1):
    token = link_token(world, p1, "alice")
    with pytest.raises(InvalidAckLink, match="not issued by firebell"):
        world.service.acknowledge_by_link(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    assert world.service.acknowledge_by_link(token).acknowledged_by == "alice"  # the real link still works


def test_ack_link_signed_with_another_secret_is_refused(shipped_config, world, p1):
    other = build_world(shipped_config, store=world.store, clock=world.clock, ack_secret=b"another deployment")
    token = link_token(other, p1, "alice")
    with pytest.raises(InvalidAckLink, match="not issued by firebell"):
        world.service.acknowledge_by_link(token)


def test_ack_link_for_an_already_acknowledged_incident_says_so(world, p1):
    world.service.acknowledge(p1, by="bob")
    with pytest.raises(InvalidTransition, match="already acknowledged"):
        world.service.acknowledge_by_link(link_token(world, p1, "alice"))


def test_ack_link_needs_a_secret(shipped_config):
    world = build_world(shipped_config, ack_secret=None)
    incident = world.service.report(IncidentCreate(title="x", reporter="erin"))
    with pytest.raises(RuntimeError, match="no acknowledgement-link secret"):
        world.service.acknowledge_link(incident, "alice")


# --- maintenance windows ------------------------------------------------------------------------


@pytest.fixture
def maintenance(shipped_config) -> World:
    """checkout is in maintenance from 09:00 to 12:00 on the day (the clock says 10:00)."""

    def change(d):
        d["services"][0]["maintenance_windows"] = [
            {"start": "2026-05-01T09:00:00Z", "end": "2026-05-01T12:00:00Z", "reason": "database upgrade"}
        ]

    return build_world(with_directory(shipped_config, change))


def test_classify_during_maintenance_defers_escalation(maintenance):
    """Given checkout in maintenance until 12:00, when its alarm incident is classified, then nobody is paged,
    no escalation starts, the maintenance machine waits for 12:00, and the timeline says why."""
    world = maintenance
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))

    classified = world.service.classify(incident_id)

    assert world.workflows.started(machines.ESCALATION) == []
    (waiting,) = world.workflows.started(machines.MAINTENANCE)
    assert (waiting.name, waiting.payload) == (
        f"{incident_id}-maintenance",
        {"incident_id": incident_id, "window_ends_at": "2026-05-01T12:00:00Z"},
    )
    assert classified.escalation.deferred_until == datetime.fromisoformat("2026-05-01T12:00:00+00:00")
    assert classified.escalation.execution_arn is None
    (entry,) = entries(world, incident_id, TimelineKind.MAINTENANCE)
    assert entry.message == (
        "Service checkout is in maintenance until 2026-05-01 12:00 UTC (database upgrade): recorded, nobody paged until then"
    )
    assert world.messenger.recipients() == []

    world.service.classify(incident_id)  # redelivered
    assert (
        len(world.workflows.started(machines.MAINTENANCE)) == 1 and world.workflows.started(machines.ESCALATION) == []
    )


def test_updates_beginning_after_maintenance_take_the_sla_run_and_no_run_name_comes_twice(maintenance):
    """Given a P1 for checkout reported during its maintenance window (09:00–12:00), recorded and nobody paged, its
    SLA run past the response target and waiting for the resolution target at risk (13:00), when the window ends,
    then updates begin and the SLA run gives way to update round 1 (12:30) under a new generation; after that
    round the resolution target's run comes back under a name never started before."""
    world = maintenance
    p1 = world.service.report(
        IncidentCreate(title="Checkout down", reporter="erin", service="checkout", impact="high", urgency="high")
    ).incident_id
    while "resolution" not in world.service.get(p1).sla.execution_arn:
        sla_run_wakes(world, p1)
    waiting = world.service.get(p1).sla.execution_arn
    world.clock.set(datetime.fromisoformat("2026-05-01T12:00:00+00:00"))

    started = world.service.maintenance_ended(p1)

    assert (waiting, "stakeholder updates begin") in world.workflows.stops
    assert started.sla.execution_arn == FakeWorkflows.execution_id(machines.SLA, f"{p1}-sla-1-updates-1")
    sla_run_wakes(world, p1)
    names = world.workflows.names(machines.SLA)
    assert names[-1] == f"{p1}-sla-1-resolution-at-risk" and len(names) == len(set(names))


def test_maintenance_ended_starts_escalation(maintenance):
    """Given an incident deferred by maintenance and still open at the window's end, when the maintenance
    machine wakes classify, then escalation starts; a redelivered wake-up starts nothing more."""
    world = maintenance
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.service.classify(incident_id)
    world.clock.set(datetime.fromisoformat("2026-05-01T12:00:00+00:00"))

    started = world.service.maintenance_ended(incident_id)

    assert started.escalation.execution_arn == FakeWorkflows.execution_id(machines.ESCALATION, incident_id)
    assert started.escalation.deferred_until is None and started.escalation.runs == 1
    assert entries(world, incident_id, TimelineKind.MAINTENANCE)[-1].message == (
        "Maintenance window over and the incident is still open: escalation starts"
    )
    world.service.maintenance_ended(incident_id)
    assert len(world.workflows.started(machines.ESCALATION)) == 1


def test_maintenance_ended_after_resolution_starts_nothing(maintenance):
    world = maintenance
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.service.classify(incident_id)
    world.service.handle_alarm(alarm("OK"))

    world.service.maintenance_ended(incident_id)

    assert world.workflows.started(machines.ESCALATION) == []


@pytest.mark.parametrize("now", ["2026-05-01T08:59:59+00:00", "2026-05-01T12:00:00+00:00"])
def test_outside_the_window_escalation_starts_at_once(maintenance, now):
    """Given a moment before the window or at its end (the end is exclusive), then escalation starts normally."""
    world = maintenance
    world.clock.set(datetime.fromisoformat(now))
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.service.classify(incident_id)
    assert (
        len(world.workflows.started(machines.ESCALATION)) == 1 and world.workflows.started(machines.MAINTENANCE) == []
    )


def test_maintenance_of_another_service_does_not_defer(maintenance):
    world = maintenance
    incident = world.service.report(IncidentCreate(title="Disk full on build host", reporter="erin"))
    world.service.classify(incident.incident_id)
    assert len(world.workflows.started(machines.ESCALATION)) == 1


def test_p1_during_maintenance_pages_nobody(maintenance):
    """Given checkout in maintenance, when a P1 for checkout is reported and classified, then nobody is paged
    (the incident manager included) until the window ends."""
    world = maintenance
    incident = world.service.report(
        IncidentCreate(title="Primary database deadlock", reporter="erin", service="checkout")
    )

    classified = world.service.classify(incident.incident_id)

    assert classified.priority is Priority.P1 and classified.escalation.deferred_until is not None
    assert world.messenger.recipients() == []


@pytest.fixture
def maintenance_later(shipped_config) -> World:
    """checkout goes into maintenance from 10:30 to 12:00 (the clock says 10:00: escalation starts first)."""

    def change(d):
        d["services"][0]["maintenance_windows"] = [
            {"start": "2026-05-01T10:30:00Z", "end": "2026-05-01T12:00:00Z", "reason": "failover drill"}
        ]

    return build_world(with_directory(shipped_config, change))


def run_page(world: World, incident_id: str, level: int, targets, token: str):
    """A page as the current escalation run sends it (its execution id included)."""
    execution = world.store.get(incident_id).escalation.execution_arn
    return world.service.page(
        page_request(incident_id, level, targets, token=token).model_copy(update={"execution": execution})
    )


def test_a_window_that_starts_mid_escalation_stops_its_paging_and_its_end_resumes_it(maintenance_later):
    """GoAlert #2594: maintenance turned on while an incident's escalation runs did not cancel the notification cycle
    already under way. Given level 1 paged at 10:00 (by the change that opened the incident; the run's first page
    request only hands over its token), when level 2 falls due at 10:35 inside the window, then nobody is paged,
    that run ends (its token answered `stop`) and the maintenance timer waits for 12:00; at 12:00 a new run pages
    level 1 again (on its own first request: it was not paged at the new run's start), and a late page of the old
    run pages nobody."""
    world = maintenance_later
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]
    assert run_page(world, incident_id, 1, [("schedule", "platform-primary")], "run1-level1") == []
    first_run = world.store.get(incident_id).escalation.execution_arn
    clear_outbox(world)

    world.clock.set(datetime.fromisoformat("2026-05-01T10:35:00+00:00"))
    assert run_page(world, incident_id, 2, ["bob"], "run1-level2") == []

    assert world.messenger.recipients() == []
    assert world.workflows.outcomes("run1-level2") == ["stop"]
    paused = world.store.get(incident_id)
    assert paused.escalation.execution_arn is None and paused.escalation.deferred_until == datetime.fromisoformat(
        "2026-05-01T12:00:00+00:00"
    )
    (timer,) = world.workflows.started(machines.MAINTENANCE)
    assert (timer.name, timer.payload["window_ends_at"]) == (f"{incident_id}-maintenance-1", "2026-05-01T12:00:00Z")
    assert entries(world, incident_id, TimelineKind.MAINTENANCE)[-1].message == (
        "Service checkout is in maintenance until 2026-05-01 12:00 UTC (failover drill): level 2 not paged, nobody paged until then"
    )

    # The incident manager is not paged either, should the old run get that far
    world.service.page_incident_managers(exhausted(incident_id).model_copy(update={"execution": first_run}))
    assert world.messenger.recipients() == []

    world.clock.set(datetime.fromisoformat("2026-05-01T12:00:00+00:00"))
    resumed = world.service.maintenance_ended(incident_id)
    assert resumed.escalation.runs == 2 and resumed.escalation.execution_arn not in (None, first_run)
    assert {d.person for d in run_page(world, incident_id, 1, [("schedule", "platform-primary")], "run2-level1")} == {
        "alice"
    }
    clear_outbox(world)
    stale = page_request(incident_id, 2, ["bob"], token="run1-level2-late").model_copy(update={"execution": first_run})
    assert world.service.page(stale) == [] and world.workflows.outcomes("run1-level2-late") == ["stop"]


def test_a_window_that_starts_while_acknowledged_holds_the_retrigger(maintenance_later):
    """Acknowledged before the window, left untouched past the acknowledgement timeout inside it: nobody is paged
    until the window ends."""
    world = maintenance_later
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.service.classify(incident_id)
    run_page(world, incident_id, 1, ["alice"], "token-1")
    world.service.acknowledge(incident_id, by="alice")
    world.service.watch(watch_request(incident_id, "watch-1"))
    clear_outbox(world)

    world.clock.set(datetime.fromisoformat("2026-05-01T11:00:00+00:00"))
    execution = world.store.get(incident_id).escalation.execution_arn
    world.service.page(
        page_request(incident_id, 1, ["alice"], token="retrigger-1", retrigger=True).model_copy(
            update={"execution": execution}
        )
    )

    assert world.messenger.recipients() == [] and world.store.get(incident_id).escalation.deferred_until is not None


# --- on hold: the SLA clocks pause ----------------------------------------------------------------


def test_hold_pauses_the_sla(world, p1):
    """Given an acknowledged P1, its SLA run waiting for update round 1 (10:30, before the resolution target at
    risk), when alice puts it on hold, then it is on hold, its SLA clocks are paused, the run goes on waiting
    (updates are still due on hold) and the timeline says why."""
    acknowledged_and_watched(world, p1)
    sla_execution = world.service.get(p1).sla.execution_arn
    world.clock.advance(minutes=10)
    stops = len(world.workflows.stops)

    held = world.service.hold("INC-1", by="alice", reason="waiting on AWS support")

    assert held.status is Status.ON_HOLD
    assert held.sla.paused_since == world.clock()
    assert held.sla.execution_arn == sla_execution == FakeWorkflows.execution_id(machines.SLA, f"{p1}-sla-0-updates-1")
    assert len(world.workflows.stops) == stops
    (entry,) = entries(world, p1, TimelineKind.ON_HOLD)
    assert (entry.actor, entry.message) == ("alice", "On hold: waiting on AWS support; SLA clocks paused")
    view = world.service.read(world.service.get(p1)).sla_status
    assert (view.response.state, view.resolution.state) == ("met", "paused")


def test_hold_stops_a_run_waiting_for_an_sla_moment(world):
    """Given an acknowledged P3 (no stakeholder updates), its run waiting for the resolution target at risk, when
    put on hold, then that run is stopped and none replaces it."""
    p3 = world.service.report(IncidentCreate(title="Disk full on build host", reporter="erin")).incident_id
    acknowledged_and_watched(world, p3)
    run = world.service.get(p3).sla.execution_arn
    assert run == FakeWorkflows.execution_id(machines.SLA, f"{p3}-sla-0-resolution-at-risk")
    held = world.service.hold(p3, by="alice", reason="vendor")
    assert world.workflows.stops[-1] == (run, "SLA paused") and held.sla.execution_arn is None


def test_hold_a_triggered_incident_is_refused(world, p1):
    with pytest.raises(InvalidTransition, match="acknowledge it before putting it on hold"):
        world.service.hold(p1, by="alice", reason="")
    assert world.workflows.stops == []


def test_resume_rearms_the_sla_shifted_by_the_pause(world, p2):
    """Given a P2 (updates hourly) on hold for 20 minutes, when resumed, then it is acknowledged again, the
    resolution clock is due 20 minutes later and a new SLA execution (generation 1) waits for the next moment:
    the first update round (11:00), the run waiting for it on hold stopped."""
    acknowledged_and_watched(world, p2)
    world.clock.advance(minutes=10)
    world.service.hold(p2, by="alice", reason="vendor")
    held_run = world.service.get(p2).sla.execution_arn
    world.clock.advance(minutes=20)

    resumed = world.service.resume(p2, by="alice")

    assert resumed.status is Status.ACKNOWLEDGED
    assert (resumed.sla.generation, resumed.sla.paused_since, resumed.sla.paused_seconds) == (1, None, 1200)
    assert resumed.sla.resolution.due_at == datetime.fromisoformat("2026-05-01T18:20:00+00:00")
    assert world.workflows.stops[-1] == (held_run, "SLA resumed")
    assert resumed.sla.execution_arn == FakeWorkflows.execution_id(machines.SLA, f"{p2}-sla-1-updates-1")
    rearmed = world.workflows.started(machines.SLA)[-1]
    assert rearmed.payload == {
        "incident_id": p2,
        "generation": 1,
        "clock": "updates",
        "moment": "due",
        "at": "2026-05-01T11:00:00Z",
    }
    assert resumed.sla.resolution.at_risk_at == datetime.fromisoformat("2026-05-01T16:20:00+00:00")
    assert entries(world, p2, TimelineKind.RESUMED)[0].message == "Resumed; SLA clocks running again"
    # Hold is activity: the watch is answered (its machine then sends a fresh token, which resume would answer).
    assert world.workflows.outcomes("watch-1") == ["touched"]


def test_resume_when_not_on_hold_is_refused(world, p1):
    acknowledged_and_watched(world, p1)
    with pytest.raises(InvalidTransition, match="it is not on hold"):
        world.service.resume(p1, by="alice")


def test_hold_and_resume_without_sla_clocks(world):
    """Given an unclassified incident (no SLA yet: opened before classification moved into the opening change),
    then hold and resume work and touch no SLA execution."""
    incident = open_unclassified(world, "x")
    world.service.acknowledge(incident.incident_id, by="alice")
    assert world.service.hold(incident.incident_id, by="alice", reason="").status is Status.ON_HOLD
    assert world.service.resume(incident.incident_id, by="alice").status is Status.ACKNOWLEDGED
    assert world.workflows.stops == [] and world.workflows.started(machines.SLA) == []


def test_resolve_on_hold(world, p1):
    acknowledged_and_watched(world, p1)
    world.service.hold(p1, by="alice", reason="vendor")
    resolved = world.service.resolve(p1, by="alice", notes="vendor fixed it")
    assert resolved.status is Status.RESOLVED and resolved.sla.resolution.met_at == world.clock()
    assert (resolved.escalation.execution_arn, "resolved") in world.workflows.stops  # the watch ends with its run


# --- SLA wake-ups ---------------------------------------------------------------------------------


def test_response_at_risk_warns_the_on_call_owner_once(world, p1):
    """Given an unacknowledged P1 at 75% of its response target, when the SLA machine wakes, then whoever is
    on call on the first level (alice) is warned by email, once; a redelivered wake-up warns nobody."""
    world.clock.advance(minutes=11.25)

    deliveries = world.service.sla_wake_up(sla_wake(p1, "at_risk", "response"))

    assert [(d.channel, d.person) for d in deliveries] == [("email", "alice")]
    (entry,) = entries(world, p1, TimelineKind.SLA_AT_RISK)
    assert entry.message == "Response SLA at risk: 225s left of 15 min"
    assert world.service.get(p1).sla.response.at_risk_notified_at == world.clock()
    assert world.service.sla_wake_up(sla_wake(p1, "at_risk", "response")) == []
    assert len(world.messenger.emails) == 1


def test_at_risk_warns_the_assignee_first(world, p1):
    world.service.reassign(p1, to="bob", by="erin")
    clear_outbox(world)
    assert [d.person for d in world.service.sla_wake_up(sla_wake(p1, "at_risk", "resolution"))] == ["bob"]


def test_at_risk_warns_whoever_acknowledged(world, p1):
    acknowledged_and_watched(world, p1, by="erin")
    assert [d.person for d in world.service.sla_wake_up(sla_wake(p1, "at_risk", "resolution"))] == ["erin"]


def test_met_clock_is_never_at_risk(world, p1):
    """Given alice acknowledged in time (response met), when the response at-risk wake-up arrives, then nothing."""
    world.service.acknowledge(p1, by="alice")
    assert world.service.get(p1).sla.response.met_at == world.clock()
    assert world.service.sla_wake_up(sla_wake(p1, "at_risk", "response")) == []
    assert world.service.sla_wake_up(sla_wake(p1, "breached", "response")) == []


def test_breach_pages_the_incident_manager_once(world, p1):
    """Given a P1 (carol its incident manager) unresolved at its resolution target, when the breach wake-up
    arrives, then carol is paged (email and SMS) and the breach recorded, once."""
    world.clock.advance(hours=4)

    deliveries = world.service.sla_wake_up(sla_wake(p1, "breached", "resolution"))

    assert [(d.channel, d.person) for d in deliveries] == [("email", "carol"), ("sms", "carol")]
    assert world.service.get(p1).sla.resolution.breached_at == world.clock()
    (entry,) = entries(world, p1, TimelineKind.SLA_BREACHED)
    assert (entry.message, entry.details) == ("Resolution SLA breached: target 240 min", {"clock": "resolution"})
    assert world.service.sla_wake_up(sla_wake(p1, "breached", "resolution")) == []
    view = world.service.read(world.service.get(p1)).sla_status.resolution
    assert view.state == "breached"


def test_breach_without_incident_manager_pages_the_team_incident_managers(world, p2):
    deliveries = world.service.sla_wake_up(sla_wake(p2, "breached", "response"))
    assert {d.person for d in deliveries} == {"carol"}


def test_stale_generation_is_ignored(world, p1):
    """Given the clocks were re-armed (hold, resume: generation 1), when a wake-up of generation 0 arrives,
    then it is ignored: its moments are out of date."""
    acknowledged_and_watched(world, p1)
    world.service.hold(p1, by="alice", reason="vendor")
    world.service.resume(p1, by="alice")

    assert world.service.sla_wake_up(sla_wake(p1, "breached", "resolution", generation=0)) == []
    assert world.service.get(p1).sla.resolution.breached_at is None
    assert len(world.service.sla_wake_up(sla_wake(p1, "breached", "resolution", generation=1))) == 2


def test_an_sla_run_waits_for_one_moment_and_its_wake_up_arms_the_next(world, p1):
    """Given an unacknowledged P1 whose SLA run waits for the response target's at-risk moment, when that wake-up
    comes, then the owner is warned and a run for the response breach is started, the incident naming it."""
    (first,) = world.workflows.started(machines.SLA)
    assert (first.name, first.payload["at"]) == (f"{p1}-sla-0-response-at-risk", "2026-05-01T10:11:15Z")
    world.clock.advance(minutes=11.25)

    assert [d.person for d in world.service.sla_wake_up(sla_wake(p1, "at_risk", "response"))] == ["alice"]

    breach = world.workflows.started(machines.SLA)[-1]
    assert (breach.name, breach.payload) == (
        f"{p1}-sla-0-response-breach",
        {"incident_id": p1, "generation": 0, "clock": "response", "moment": "breach", "at": "2026-05-01T10:15:00Z"},
    )
    assert world.service.get(p1).sla.execution_arn == breach.execution_id
    assert world.workflows.stops == []  # the run that woke has ended by itself


def test_acknowledging_swaps_the_response_run_for_the_resolution_one(world, p1):
    """Given a P1 whose SLA run waits for the response target, when alice acknowledges (the target met), then that
    run is stopped and one waits for the next moment: the first stakeholder update round (10:30, before the
    resolution target at risk at 13:00); the first run's late wake-up arms nothing more and warns nobody."""
    response_run = world.service.get(p1).sla.execution_arn

    world.service.acknowledge(p1, by="alice")

    assert world.workflows.stops == [(response_run, "SLA target met")]
    next_run = world.workflows.started(machines.SLA)[-1]
    assert (next_run.name, next_run.payload["at"]) == (f"{p1}-sla-0-updates-1", "2026-05-01T10:30:00Z")
    assert world.service.get(p1).sla.execution_arn == next_run.execution_id
    assert world.service.sla_wake_up(sla_wake(p1, "at_risk", "response")) == []
    late = SlaWakeUp(
        type=MessageType.SLA_WAKE,
        incident_id=p1,
        clock="response",
        moment="at_risk",
        generation=0,
        execution=response_run,
    )
    assert world.service.sla_wake_up(late) == []
    assert len(world.workflows.started(machines.SLA)) == 2


def test_wake_up_while_paused_or_resolved_is_ignored(world, p1):
    acknowledged_and_watched(world, p1)
    world.service.hold(p1, by="alice", reason="vendor")
    assert world.service.sla_wake_up(sla_wake(p1, "breached", "resolution")) == []
    world.service.resolve(p1, by="alice", notes="fixed")
    assert world.service.sla_wake_up(sla_wake(p1, "breached", "resolution", generation=0)) == []


# --- stakeholder updates --------------------------------------------------------------------------


def test_update_rounds_are_moments_of_the_sla_run(world, p1):
    """Given a P1 (updates every 30 min), its SLA run waits for the response target at risk (10:11:15), then, once
    alice acknowledges, for update round 1 (10:30) rather than the resolution target at risk (13:00): one run an
    incident, whichever moment comes first."""
    assert world.service.get(p1).sla.execution_arn == FakeWorkflows.execution_id(
        machines.SLA, f"{p1}-sla-0-response-at-risk"
    )
    world.service.acknowledge(p1, by="alice")
    assert world.workflows.started(machines.SLA)[-1].payload == {
        "incident_id": p1,
        "generation": 0,
        "clock": "updates",
        "moment": "due",
        "at": "2026-05-01T10:30:00Z",
    }
    assert world.workflows.started(machines.REMINDER) == []


def test_overdue_update_reminds_then_escalates_to_the_team_manager(world, p1):
    """Given an acknowledged P1 (updates every 30 min) nobody has posted about, when round 1 comes, then carol
    (incident manager) is reminded by email; when round 2 comes still without an update, then carol and frank
    (the team's manager) are paged."""
    acknowledged_and_watched(world, p1)
    clear_outbox(world)

    reminded = sla_run_wakes(world, p1)

    assert world.clock() == datetime.fromisoformat("2026-05-01T10:30:00+00:00")
    assert [(d.channel, d.person) for d in reminded] == [("email", "carol")]
    assert entries(world, p1, TimelineKind.UPDATE_OVERDUE)[-1].message == "Stakeholder update overdue: carol reminded"
    assert world.workflows.started(machines.SLA)[-1].name == f"{p1}-sla-0-updates-2"

    escalated = sla_run_wakes(world, p1)

    assert world.clock() == datetime.fromisoformat("2026-05-01T11:00:00+00:00")
    assert [(d.channel, d.person) for d in escalated] == [
        ("email", "carol"),
        ("sms", "carol"),
        ("email", "frank"),
        ("sms", "frank"),
    ]
    assert entries(world, p1, TimelineKind.UPDATE_OVERDUE)[-1].message == (
        "Stakeholder update overdue 2 times in a row: escalated to carol, frank"
    )
    updates = world.service.get(p1).updates
    assert (updates.overdue_rounds, updates.reminders_sent, updates.rounds) == (2, 2, 2)


def test_a_redelivered_or_stale_update_round_counts_once(world, p1):
    acknowledged_and_watched(world, p1)
    run = world.service.get(p1).sla.execution_arn
    sla_run_wakes(world, p1)
    again = SlaWakeUp(
        type=MessageType.SLA_WAKE, incident_id=p1, clock="updates", moment="due", generation=0, execution=run
    )
    assert world.service.sla_wake_up(again) == []
    assert world.service.get(p1).updates.rounds == 1


def test_an_update_in_time_resets_the_reminders(world, p1):
    """Given one overdue round, when carol posts an update, then stakeholders (dave) get it, and the next round
    is quiet and counts nothing overdue."""
    acknowledged_and_watched(world, p1)
    sla_run_wakes(world, p1)  # 10:30, overdue
    world.clock.advance(minutes=10)
    clear_outbox(world)

    told = world.service.post_update("INC-1", by="carol", message="Failover in progress, ETA 20 minutes")

    assert [(d.channel, d.person) for d in told] == [("email", "dave")]
    assert "Failover in progress, ETA 20 minutes" in world.messenger.emails[0].body
    (entry,) = [e for e in entries(world, p1, TimelineKind.STAKEHOLDER_UPDATE) if e.actor == "carol"]
    assert entry.message == "Failover in progress, ETA 20 minutes"
    assert sla_run_wakes(world, p1) == []  # 11:00
    assert world.service.get(p1).updates.overdue_rounds == 0


def test_updates_of_a_p2_go_to_the_team_incident_manager(world, p2):
    acknowledged_and_watched(world, p2)
    clear_outbox(world)
    assert [d.person for d in sla_run_wakes(world, p2)] == ["carol"]
    assert world.clock() == datetime.fromisoformat("2026-05-01T11:00:00+00:00")


def test_resolving_ends_the_updates(world, p1):
    """Given the SLA run waits for an update round, when the incident is resolved, then that run is stopped and
    its wake-up, were it already on its way, says nothing."""
    acknowledged_and_watched(world, p1)
    run = world.service.get(p1).sla.execution_arn
    world.service.resolve(p1, by="alice", notes="fixed")
    assert (run, "resolved") in world.workflows.stops
    late = SlaWakeUp(
        type=MessageType.SLA_WAKE, incident_id=p1, clock="updates", moment="due", generation=0, execution=run
    )
    assert world.service.sla_wake_up(late) == []


def test_updates_chased_by_a_reminder_run_of_old_go_on_until_re_armed(world, p1):
    """Given a P1 classified before update rounds became SLA moments (a reminder run of its own chases them), then
    that run's rounds still remind (round 1 comes as it starts and says nothing); resolving stops it, and a later
    round is answered `done`."""
    updates_by_a_reminder_run(world, p1)
    assert world.service.reminder_due(reminder(p1, "updates", 1, "u1")) == []
    world.clock.advance(minutes=30)
    assert [(d.channel, d.person) for d in world.service.reminder_due(reminder(p1, "updates", 2, "u2"))] == [
        ("email", "carol")
    ]
    assert world.service.get(p1).updates.task_token == "u2"
    world.service.resolve(p1, by="alice", notes="fixed")
    assert (world.service.get(p1).updates.execution_arn, "resolved") in world.workflows.stops
    assert world.service.reminder_due(reminder(p1, "updates", 3, "u3")) == []
    assert world.workflows.outcomes("u3") == ["done"]


# --- post-incident reviews --------------------------------------------------------------------------


def test_resolving_a_p1_requires_a_review(world, p1):
    """Given a P1 with carol as incident manager, when resolved, then a review is due in 5 days, owned by carol,
    with a daily reminder running; the resolution confirmation window starts too."""
    resolved = world.service.resolve(p1, by="alice", notes="killed the blocking session")

    assert (resolved.review.owner, resolved.review.due_at) == ("carol", world.clock() + timedelta(days=5))
    (review_run,) = world.workflows.started(machines.REMINDER)
    assert (review_run.name, review_run.payload) == (
        f"{p1}-review-0",
        {"incident_id": p1, "duty": "review", "max_rounds": 7, "interval_seconds": 86400, "round": 1},
    )
    assert resolved.review.execution_arn == review_run.execution_id
    (resolution_run,) = world.workflows.started(machines.RESOLUTION)
    assert (resolution_run.name, resolution_run.payload) == (
        f"{p1}-resolution-0",
        {"incident_id": p1, "confirmation_seconds": 3600},
    )
    assert resolved.resolution.execution_arn == resolution_run.execution_id
    assert (
        entries(world, p1, TimelineKind.REVIEW)[0].message
        == "P1: post-incident review required, owner carol, due 2026-05-06 10:00 UTC"
    )
    assert (
        FakeWorkflows.execution_id(machines.SLA, f"{p1}-sla-0-response-at-risk"),
        "resolved",
    ) in world.workflows.stops


def test_review_owner_of_a_p2_is_whoever_acknowledged(world, p2):
    world.service.acknowledge(p2, by="erin")
    assert world.service.resolve(p2, by="erin", notes="rolled back").review.owner == "erin"


def test_review_owner_falls_back_to_the_team_incident_manager(world, p2):
    """Given a P2 acknowledged by someone not in the directory (a bot), when resolved, then the team's first
    incident manager owns the review (someone who can be reminded)."""
    world.service.acknowledge(p2, by="ops-bot")
    assert world.service.resolve(p2, by="ops-bot", notes="auto-remediated").review.owner == "carol"


def test_p3_needs_no_review(world):
    incident = world.service.report(IncidentCreate(title="Disk full on build host", reporter="erin"))
    world.service.classify(incident.incident_id)
    resolved = world.service.resolve(incident.incident_id, by="erin", notes="cleaned up")
    assert resolved.review is None
    assert len(world.workflows.started(machines.RESOLUTION)) == 1


def test_review_reminders_then_completion(world, p1):
    """Given a required review, then carol learns of it with the resolution (where to post it, when it is due),
    round 1 says nothing more, later rounds remind her; once she completes it the reminder run is stopped, and a
    round already on its way is answered `done`."""
    world.service.resolve(p1, by="alice", notes="fixed")
    clear_outbox(world)
    world.service.resolution_confirming(confirming(p1, "c1"))
    (told,) = [e for e in world.messenger.emails if e.to == "carol@example.com"]
    assert f"Post-incident review due 2026-05-06 10:00 UTC: POST {API_URL}/incidents/INC-1/review" in told.body

    assert world.service.reminder_due(reminder(p1, "review", 1, "r1")) == []
    world.clock.advance(days=1)
    world.service.reminder_due(reminder(p1, "review", 2, "r2"))
    assert "post-incident review reminder #1" in world.messenger.emails[-1].body
    assert world.service.get(p1).review.reminders_sent == 1

    done = world.service.complete_review("INC-1", by="carol", summary="Connection pool too small; raised it")

    assert (done.review.completed_by, done.review.summary) == ("carol", "Connection pool too small; raised it")
    assert (done.review.execution_arn, "review done") in world.workflows.stops
    assert (
        entries(world, p1, TimelineKind.REVIEW)[-1].message
        == "Post-incident review done: Connection pool too small; raised it"
    )
    assert world.service.reminder_due(reminder(p1, "review", 3, "r3")) == []
    assert world.workflows.outcomes("r3") == ["done"]
    with pytest.raises(InvalidTransition, match="the review is already done"):
        world.service.complete_review("INC-1", by="carol", summary="again")


def test_review_reminders_stop_at_the_cap_and_the_timeline_says_so(world, p1):
    """Given a review nobody does, when its run's last round (rules.yaml: 7) comes, then carol gets reminder #6,
    the run is answered `done` and the timeline says no more reminders will come; a round past it (its answer
    lost) reminds nobody."""
    world.service.resolve(p1, by="alice", notes="fixed")
    for round_ in range(2, 7):
        world.service.reminder_due(reminder(p1, "review", round_, f"r{round_}", max_rounds=7))
    assert world.workflows.outcomes("r6") == []
    clear_outbox(world)

    last = world.service.reminder_due(reminder(p1, "review", 7, "r7", max_rounds=7))

    assert [(d.channel, d.person) for d in last] == [("email", "carol")]
    assert world.workflows.outcomes("r7") == ["done"]
    assert entries(world, p1, TimelineKind.REVIEW)[-1].message == (
        "No more post-incident review reminders: round 7 of 7 was the last (6 reminder(s) sent and the review is not done; "
        "rules.yaml process.review_reminder_max_rounds)"
    )
    assert world.service.reminder_due(reminder(p1, "review", 8, "r8", max_rounds=7)) == []
    assert world.workflows.outcomes("r8") == ["done"]


def test_the_review_reminders_cap_is_configurable(shipped_config):
    """rules.yaml process.review_reminder_max_rounds is what a review's run is started with."""
    process = shipped_config.rules.process.model_copy(update={"review_reminder_max_rounds": 3})
    world = build_world(
        shipped_config.model_copy(update={"rules": shipped_config.rules.model_copy(update={"process": process})})
    )
    incident = world.service.report(IncidentCreate(title="Primary database deadlock", reporter="erin"))
    world.service.classify(incident.incident_id)
    world.service.resolve(incident.incident_id, by="alice", notes="fixed")
    assert world.workflows.started(machines.REMINDER)[-1].payload["max_rounds"] == 3


def test_complete_a_review_that_does_not_exist_is_refused(world):
    world.service.report(IncidentCreate(title="x", reporter="erin"))
    with pytest.raises(InvalidTransition, match="it has no post-incident review"):
        world.service.complete_review("INC-1", by="carol", summary="?")


# --- confirmation window and closure ----------------------------------------------------------------


def test_confirmation_window_keeps_its_token_and_announces(world, p1):
    """Given a resolved P1, when the resolution machine opens the confirmation window, then its token is kept
    and stakeholders, whoever was paged (alice: level 1, when it opened) and the incident manager are told; a
    redelivered message tells nobody again."""
    world.service.resolve(p1, by="alice", notes="fixed")
    clear_outbox(world)

    told = world.service.resolution_confirming(confirming(p1, "c1"))

    assert [d.person for d in told] == ["dave", "alice", "carol"]
    assert world.service.get(p1).resolution.task_token == "c1"
    assert world.service.resolution_confirming(confirming(p1, "c1")) == []
    assert len(world.messenger.emails) == 3


def test_confirmation_of_an_already_reopened_incident_answers_reopened(world, p1):
    world.service.resolve(p1, by="alice", notes="fixed")
    world.service.reopen(p1, by="erin", reason="still broken")
    assert world.service.resolution_confirming(confirming(p1, "c1")) == []
    assert world.workflows.outcomes("c1") == ["reopened"]


def test_window_closed_closes_the_incident_and_frees_the_alarm(world, p2):
    """Given a resolved alarm incident nobody reopened, when the confirmation window closes, then it is closed
    by firebell with closure notes, the alarm is free for a new incident, and incident.closed is published."""
    world.service.handle_alarm(alarm("OK"))
    world.clock.advance(minutes=60)

    closed = world.service.resolution_window_closed(p2)

    assert (closed.status, closed.closed_by, closed.closed_at) == (Status.CLOSED, "firebell", world.clock())
    assert closed.closure_notes.startswith(
        "Closed automatically: not reopened within the confirmation window. Resolution: checkout-5xx-high: Checkout load "
        "balancer returns 5xx to more than 5 requests a minute recovered: Threshold Crossed"
    )
    assert world.store.dedup_keys() == {}
    assert world.events.types()[-1] == "incident.closed"
    assert entries(world, p2, TimelineKind.CLOSED)[0].message == closed.closure_notes

    assert world.service.resolution_window_closed(p2).status is Status.CLOSED  # redelivered: nothing more
    assert world.events.types().count("incident.closed") == 1


def test_window_closed_after_a_reopen_changes_nothing(world, p1):
    world.service.resolve(p1, by="alice", notes="fixed")
    world.service.reopen(p1, by="erin", reason="")
    assert world.service.resolution_window_closed(p1).status is Status.TRIGGERED


def test_closed_incident_cannot_be_reopened(world, p1):
    world.service.resolve(p1, by="alice", notes="fixed")
    world.service.resolution_window_closed(p1)
    with pytest.raises(InvalidTransition, match="a closed incident cannot be reopened; open a new one"):
        world.service.reopen(p1, by="erin", reason="")


# --- reopening ------------------------------------------------------------------------------------


def test_reopen_answers_the_window_restarts_escalation_and_resumes_the_sla(world, p1):
    """Given a P1 resolved at 11:00 whose confirmation window is open, when erin reopens it at 11:30, then the
    window is answered `reopened`, the incident is triggered again, a second escalation starts under a new
    execution name, the resolution clock resumes 30 minutes later than it was, and updates start again."""
    world.clock.advance(hours=1)
    world.service.resolve(p1, by="alice", notes="restarted the primary")
    world.service.resolution_confirming(confirming(p1, "c1"))
    world.clock.advance(minutes=30)

    reopened = world.service.reopen("INC-1", by="erin", reason="checkout still failing")

    assert world.workflows.outcomes("c1") == ["reopened"]
    assert (reopened.status, reopened.reopened_count, reopened.resolved_at, reopened.resolved_by) == (
        Status.TRIGGERED,
        1,
        None,
        None,
    )
    assert world.workflows.names(machines.ESCALATION) == [p1, f"{p1}-2"]
    assert (reopened.escalation.runs, reopened.escalation.execution_arn) == (
        2,
        FakeWorkflows.execution_id(machines.ESCALATION, f"{p1}-2"),
    )
    assert reopened.sla.resolution.met_at is None
    assert reopened.sla.resolution.due_at == datetime.fromisoformat("2026-05-01T14:30:00+00:00")
    assert (reopened.sla.generation, reopened.sla.paused_since) == (1, None)
    # (update rounds are due again from the reopening: the first at 12:00, before the resolution target at risk)
    assert world.workflows.started(machines.SLA)[-1].name == f"{p1}-sla-1-updates-1"
    assert world.workflows.started(machines.SLA)[-1].payload["at"] == "2026-05-01T12:00:00Z"
    assert (reopened.updates.started_at, reopened.updates.rounds, reopened.updates.overdue_rounds) == (
        world.clock(),
        0,
        0,
    )
    (entry,) = entries(world, p1, TimelineKind.REOPENED)
    assert (entry.actor, entry.message) == ("erin", "Reopened by erin: checkout still failing")
    assert world.events.types()[-1] == "incident.reopened"


def test_reopened_incident_resolves_again_with_a_new_window_and_the_same_review(world, p1):
    world.service.resolve(p1, by="alice", notes="first try")
    review = world.service.get(p1).review
    world.service.reopen(p1, by="erin", reason="")
    world.service.acknowledge(p1, by="bob")

    again = world.service.resolve(p1, by="bob", notes="second try")

    assert world.workflows.names(machines.RESOLUTION) == [f"{p1}-resolution-0", f"{p1}-resolution-1"]
    assert again.review == review


@pytest.mark.parametrize("status", ["triggered", "acknowledged"])
def test_reopen_an_open_incident_is_refused(world, p1, status):
    if status == "acknowledged":
        world.service.acknowledge(p1, by="alice")
    with pytest.raises(InvalidTransition, match="it is still open"):
        world.service.reopen(p1, by="erin", reason="")


def test_alarm_returning_inside_the_window_answers_it(world, p2):
    """Given an alarm incident resolved by OK whose confirmation window is open, when the alarm fires again,
    then the window is answered `reopened` and the same incident escalates again."""
    world.service.handle_alarm(alarm("OK"))
    world.service.resolution_confirming(confirming(p2, "c1"))

    world.service.handle_alarm(alarm("ALARM"))

    assert world.workflows.outcomes("c1") == ["reopened"]
    assert world.service.get(p2).status is Status.TRIGGERED
    assert world.store.dedup_keys() == {ALARM_ARN: p2}


def test_reopen_after_resolving_on_hold_keeps_the_hold_time_paused(world, p1):
    """Given a P1 put on hold at 10:10 and resolved (still on hold) at 11:10, when reopened at 11:30, then the
    resolution clock was stopped from 10:10 to 11:30: it is due 80 minutes later than at opening."""
    world.clock.advance(minutes=5)
    acknowledged_and_watched(world, p1)
    world.clock.advance(minutes=5)
    world.service.hold(p1, by="alice", reason="vendor")
    world.clock.advance(hours=1)
    world.service.resolve(p1, by="alice", notes="vendor fixed it")
    world.clock.advance(minutes=20)

    reopened = world.service.reopen(p1, by="erin", reason="not fixed")

    assert reopened.sla.paused_seconds == 80 * 60
    assert reopened.sla.resolution.due_at == datetime.fromisoformat("2026-05-01T15:20:00+00:00")


# --- what the API shows -----------------------------------------------------------------------------


def test_read_hides_task_tokens_and_shows_sla_status(world, p1):
    """Given an incident holding task tokens, when read for the API, then no token is shown and the SLA
    status says where each clock stands now."""
    world.service.page(page_request(p1, 1, ["alice"], token="secret-token"))
    world.service.reminder_due(reminder(p1, "updates", 1, "secret-updates"))
    world.clock.advance(minutes=12)

    shown = world.service.read(world.service.get(p1))

    assert isinstance(shown, IncidentRead)
    assert shown.escalation.task_token is None and shown.updates.task_token is None
    assert "secret" not in shown.model_dump_json()
    assert world.service.get(p1).escalation.task_token == "secret-token"  # still stored
    assert (shown.sla_status.response.state, shown.sla_status.response.seconds_left) == ("at_risk", 180)
    assert shown.sla_status.resolution.state == "running"


def test_read_of_an_unclassified_incident_has_no_sla_status(world):
    """Given an incident stored unclassified (opened before classification moved into the opening change), then
    its read has no SLA status."""
    incident = open_unclassified(world, "x")
    assert world.service.read(incident).sla_status is None
