"""Re-arming timers (firebell/usecases/rearm.py): after the executions were lost and the incidents kept, each
incident's own state says which timers run again; deadlines that passed meanwhile fire at once, and nobody is told
twice what they were told before."""

from __future__ import annotations

from datetime import timedelta

import pytest

from firebell import workflows as machines
from firebell.domain.enums import EventType, Status, TimelineKind
from firebell.domain.requests import IncidentCreate
from firebell.usecases.rearm import TimerRearm

from .builders import confirming, page_request, reminder
from .conftest import World, open_unclassified, sla_run_wakes, updates_by_a_reminder_run
from .test_service_process import clear_outbox


@pytest.fixture
def rearm(world: World) -> TimerRearm:
    return TimerRearm(world.service.incidents, world.service.ctx)


def opened(world: World, title: str = "Checkout errors") -> str:
    """A P2 for checkout, classified and its level 1 (alice) paged by the change that opened it."""
    incident = world.service.report(
        IncidentCreate(title=title, reporter="erin", impact="high", urgency="medium", service="checkout")
    )
    return incident.incident_id


def rearmed(world: World, incident_id: str) -> list[str]:
    [entry] = [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.TIMERS_REARMED]
    return entry.details["timers"]


def test_a_running_escalation_starts_a_new_run_and_the_sla_a_new_generation(world: World, rearm: TimerRearm) -> None:
    # Given a P2 whose level 1 was paged, its SLA clocks running
    incident_id = opened(world)
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    before = world.service.get(incident_id)

    # When its timers are re-armed
    assert rearm.rearm_all() == [before.reference]

    # Then a new escalation run supersedes the lost one, and the SLA clocks run under a new generation
    after = world.service.get(incident_id)
    assert after.escalation.runs == 2 and after.escalation.execution_arn.endswith(f"{incident_id}-2")
    assert world.workflows.names(machines.ESCALATION)[-1] == f"{incident_id}-2"
    assert after.sla.generation == before.sla.generation + 1
    assert world.workflows.started(machines.SLA)[-1].payload["generation"] == after.sla.generation
    assert (before.sla.execution_arn, "re-armed") in world.workflows.stops
    assert rearmed(world, incident_id)[:2] == ["escalation (run 2, from level 1)", "SLA clocks"]


def test_an_acknowledged_incident_pages_nobody_when_its_watch_is_re_armed(world: World, rearm: TimerRearm) -> None:
    incident_id = opened(world)
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.acknowledge(incident_id, by="alice")
    rearm.rearm_all()
    clear_outbox(world)

    # When the new run asks for level 1
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-2"))

    # Then nobody is paged, and the run goes on to watch the acknowledgement
    assert world.messenger.emails == [] and world.messenger.sms == []
    assert world.service.get(incident_id).status is Status.ACKNOWLEDGED
    assert ("token-2", "acknowledged") in world.workflows.answers


def test_the_confirmation_window_gets_what_is_left_and_tells_nobody_again(world: World, rearm: TimerRearm) -> None:
    # Given an incident resolved 10 minutes ago whose stakeholders were told (window: 60 min)
    incident_id = opened(world)
    world.service.resolve(incident_id, by="alice", notes="rolled back")
    world.service.resolution_confirming(confirming(incident_id, "confirm-1"))
    world.clock.advance(timedelta(minutes=10))
    clear_outbox(world)

    # When its timers are re-armed
    rearm.rearm_all()

    # Then the window runs for the 50 minutes left of it
    started = world.workflows.started(machines.RESOLUTION)[-1]
    assert started.payload["confirmation_seconds"] == 50 * 60
    assert world.service.get(incident_id).resolution.execution_arn.endswith(started.name)
    # And the new window's opening tells nobody a second time
    world.service.resolution_confirming(confirming(incident_id, "confirm-2"))
    assert world.messenger.emails == []
    assert world.service.get(incident_id).resolution.task_token == "confirm-2"


def test_a_window_that_ended_while_stopped_closes_at_once(world: World, rearm: TimerRearm) -> None:
    incident_id = opened(world)
    world.service.resolve(incident_id, by="alice", notes="rolled back")
    world.clock.advance(timedelta(hours=3))
    rearm.rearm_all()
    assert world.workflows.started(machines.RESOLUTION)[-1].payload["confirmation_seconds"] == 1


def test_a_pending_review_of_a_closed_incident_is_chased_again_without_a_second_assignment(
    world: World, rearm: TimerRearm
) -> None:
    # Given a closed P2 whose review owner was told and has not done it
    incident_id = opened(world)
    world.service.resolve(incident_id, by="alice", notes="rolled back")
    world.service.reminder_due(reminder(incident_id, "review", 1, "review-1"))
    world.service.resolution_window_closed(incident_id)
    assert world.service.get(incident_id).status is Status.CLOSED
    clear_outbox(world)

    # When its timers are re-armed
    rearm.rearm_all()

    # Then only the review reminder starts again, and its first round assigns nothing a second time
    assert rearmed(world, incident_id) == ["review reminders"]
    world.service.reminder_due(reminder(incident_id, "review", 1, "review-2"))
    assert world.messenger.emails == []
    # (its next round reminds, as before)
    world.service.reminder_due(reminder(incident_id, "review", 2, "review-3"))
    assert ["post-incident review reminder #1" in e.body for e in world.messenger.emails] == [True]


def test_a_closed_incident_without_duties_is_left_alone(world: World, rearm: TimerRearm) -> None:
    incident = world.service.report(IncidentCreate(title="Typo", reporter="erin", impact="low", urgency="low"))
    world.service.classify(incident.incident_id)
    world.service.resolve(incident.incident_id, by="alice", notes="fixed")
    world.service.resolution_window_closed(incident.incident_id)
    starts = len(world.workflows.starts)
    assert rearm.rearm_all() == []
    assert len(world.workflows.starts) == starts


def test_an_incident_never_classified_is_announced_again(world: World, rearm: TimerRearm) -> None:
    # Given an incident opened before classification moved into the opening change, never classified (its
    # incident.opened was lost on the way to the classify function)
    incident = open_unclassified(world, "Checkout errors")
    world.events.published.clear()

    # When the timers are re-armed, then it is announced again (for the classify function, which is idempotent)
    rearm.rearm_all()
    assert [(e.type, e.incident_id) for e in world.events.published] == [(EventType.OPENED, incident.incident_id)]
    assert rearmed(world, incident.incident_id) == ["classification"]

    # And classifying it then pages its level 1 in that change, as opening it would now
    world.service.classify(incident.incident_id)
    assert world.messenger.recipients() == ["alice@example.com", "+15550100001"]


def test_a_run_re_armed_before_its_first_request_pages_level_1_on_that_request(world: World, rearm: TimerRearm) -> None:
    # Given a P2 whose level 1 was paged by its opening change, and whose escalation run was lost before it asked
    # for its first page (so before it took over that page's wait)
    incident_id = opened(world)
    clear_outbox(world)

    # When its timers are re-armed
    rearm.rearm_all()

    # Then the new run does not count on a page made at its start: its first level-1 request pages (again: the
    # lost run's wait for an acknowledgement is gone with it)
    run = world.service.get(incident_id).escalation
    assert (run.runs, run.paged_at_start, run.task_token) == (2, False, None)
    request = page_request(incident_id, 1, [("schedule", "platform-primary")], token="run2-level1")
    assert {d.person for d in world.service.page(request.model_copy(update={"execution": run.execution_arn}))} == {
        "alice"
    }
    assert world.service.get(incident_id).escalation.task_token == "run2-level1"


def test_updates_chased_by_a_reminder_run_of_old_become_moments_of_the_sla_run(world: World, rearm: TimerRearm) -> None:
    # Given a P2 whose stakeholder updates a reminder run of their own chases (classified before issue 10's change)
    incident_id = opened(world)
    updates_by_a_reminder_run(world, incident_id)
    old_run = world.service.get(incident_id).updates.execution_arn
    world.clock.advance(timedelta(minutes=20))

    # When its timers are re-armed
    rearm.rearm_all()

    # Then that run is stopped and the updates are due hourly from now, as moments of the one SLA run
    after = world.service.get(incident_id)
    assert (old_run, "re-armed as SLA moments") in world.workflows.stops
    assert (after.updates.execution_arn, after.updates.started_at, after.updates.rounds) == (None, world.clock(), 0)
    assert rearmed(world, incident_id)[1:] == ["SLA clocks", "stakeholder update reminders"]
    world.service.acknowledge(incident_id, by="alice")
    assert world.workflows.started(machines.SLA)[-1].payload["clock"] == "updates"
    assert world.workflows.started(machines.SLA)[-1].payload["at"] == (world.clock() + timedelta(minutes=60)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )


def test_update_rounds_missed_while_the_timers_were_lost_come_as_one(world: World, rearm: TimerRearm) -> None:
    # Given an acknowledged P1 (updates every 30 min) whose executions were lost for 5 hours
    incident_id = world.service.report(IncidentCreate(title="Primary database deadlock", reporter="erin")).incident_id
    world.service.acknowledge(incident_id, by="alice")
    world.clock.advance(timedelta(hours=5))
    rearmed_at = world.clock()

    # When its timers are re-armed
    rearm.rearm(incident_id)
    clear_outbox(world)

    # Then (after the resolution target's moments, which passed too) one round is due at once (the incident
    # manager reminded once), and the next one interval later
    while world.workflows.started(machines.SLA)[-1].payload["clock"] != "updates":
        sla_run_wakes(world, incident_id)
    clear_outbox(world)
    assert [(d.channel, d.person) for d in sla_run_wakes(world, incident_id)] == [("email", "carol")]
    assert world.clock() == rearmed_at
    sla_run_wakes(world, incident_id)
    assert world.clock() == rearmed_at + timedelta(minutes=30)
    assert [e.message for e in world.store.timeline(incident_id) if e.kind is TimelineKind.UPDATE_OVERDUE] == [
        "Stakeholder update overdue: carol reminded",
        "Stakeholder update overdue 2 times in a row: escalated to carol, frank",
    ]
