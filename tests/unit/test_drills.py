"""Training drills: a synthetic incident through the real opening, classification and paging (the policy, the
schedules), every message marked, left out of the reports, ended in one step, with a report of who answered how fast."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firebell import workflows as machines
from firebell.domain.drills import drill_report
from firebell.domain.enums import Status
from firebell.domain.errors import IdempotencyKeyReused, InvalidTransition
from firebell.domain.facts import facts_of
from firebell.domain.reports import ReportFilter, build_report
from firebell.domain.requests import DrillStart, IncidentCreate

from .builders import page_request
from .conftest import World

MAY = ReportFilter(start=datetime(2026, 5, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC))


def test_a_drill_pages_whoever_is_on_call_and_every_message_says_it_is_a_drill(world: World):
    drill, _ = world.service.intake.start_drill(DrillStart(service="checkout"), actor="carol")

    assert drill.drill and drill.title == "[DRILL] Checkout returns errors" and drill.priority is not None
    assert world.workflows.started(machines.ESCALATION)  # the real escalation
    page = next(e for e in world.messenger.emails if "level 1" in e.body)
    assert page.subject.startswith(f"[firebell] DRILL {drill.reference}") and "THIS IS A DRILL" in page.body
    assert all(s.text.startswith(f"firebell DRILL {drill.reference}") for s in world.messenger.sms)


def test_a_drill_ends_in_one_step_and_its_report_has_each_responders_time(world: World):
    drill, _ = world.service.intake.start_drill(
        DrillStart(service="checkout", impact="high", urgency="high"), actor="carol"
    )
    level_1 = next(e.to for e in world.messenger.emails if "level 1" in e.body).split("@")[
        0
    ]  # (the directory's ids are the addresses' names)
    world.clock.advance(minutes=5)
    world.service.page(page_request(drill.incident_id, 2, ["bob"], token="page-2"))  # level 1 did not answer
    world.clock.advance(seconds=90)
    world.service.acknowledge(drill.incident_id, by="bob")
    runs = [
        world.service.get(drill.incident_id).escalation.execution_arn,
        world.service.get(drill.incident_id).sla.execution_arn,
    ]
    world.messenger.emails.clear()

    ended = world.service.resolution.end_drill(drill.reference, by="carol").incident

    assert (
        ended.status is Status.CLOSED and ended.review is None and world.messenger.emails == []
    )  # nobody told, no review
    assert {arn for arn, cause in world.workflows.stops if cause == "drill ended"} >= set(runs)
    report = drill_report(world.store.facts_between(MAY.start, MAY.end)[0])
    by_person = {r.person: r for r in report.responders}
    assert (report.acknowledged_by, report.seconds_to_acknowledge, report.escalations_by_timeout) == ("bob", 390, 1)
    assert (
        by_person["bob"].seconds_to_first_page,
        by_person["bob"].seconds_to_acknowledge,
        by_person["bob"].acknowledged,
    ) == (300, 90, True)
    assert (by_person[level_1].seconds_to_first_page, by_person[level_1].seconds_to_acknowledge) == (0, None)
    world.service.resolution.end_drill(drill.reference, by="carol")  # again: nothing more


def test_drills_are_left_out_of_reports_and_a_real_incident_cannot_be_ended_as_one(world: World):
    drill, _ = world.service.intake.start_drill(DrillStart(), actor="carol")
    world.service.resolution.end_drill(drill.incident_id, by="carol")
    real = world.service.report(IncidentCreate(title="Checkout errors", reporter="erin"))
    facts = [*world.store.facts_between(MAY.start, MAY.end), facts_of(real, world.store.timeline(real.incident_id))]

    report = build_report(facts, MAY, world.config.directory, now=MAY.end)

    assert (report.incidents, report.drills_excluded) == (1, 1)
    with pytest.raises(InvalidTransition, match="it is not a drill"):
        world.service.resolution.end_drill(real.incident_id, by="carol")
    world.clock.advance(timedelta(minutes=1))


def test_a_retried_start_with_its_idempotency_key_starts_one_drill(world: World):
    first, replayed_first = world.service.intake.start_drill(DrillStart(), actor="carol", idempotency_key="carol|k1")
    again, replayed = world.service.intake.start_drill(DrillStart(), actor="carol", idempotency_key="carol|k1")
    assert (again.incident_id, replayed_first, replayed) == (first.incident_id, False, True)
    with pytest.raises(IdempotencyKeyReused):  # the same key for another request
        world.service.intake.start_drill(DrillStart(title="Another"), actor="carol", idempotency_key="carol|k1")
