"""Post-incident reviews (usecases/reviews.py, duties.remind_action, domain/review_export.py): what the review
found, action items reminded until done by a reminder run of their own, and the review as Markdown."""

from __future__ import annotations

from datetime import UTC, timedelta

import pytest
from pydantic import ValidationError

from firebell import workflows as machines
from firebell.domain.enums import TimelineKind
from firebell.domain.errors import InvalidRequest, InvalidTransition, UnknownPerson
from firebell.domain.requests import ActionItemCreate, IncidentCreate, ReviewDraft
from firebell.domain.review_export import review_markdown
from tests.fakes import FakeWorkflows

from .builders import reminder
from .conftest import World


@pytest.fixture
def reviewed(world: World) -> str:
    """INC-1: a P1 resolved at 10:00 (carol owns its review, due in 5 days)."""
    incident = world.service.report(IncidentCreate(title="Primary database deadlock", reporter="erin"))
    world.service.resolve(incident.incident_id, by="alice", notes="killed the blocking session")
    world.messenger.emails.clear()
    return incident.incident_id


def test_the_review_records_its_root_cause_and_contributing_factors(world: World, reviewed: str):
    world.service.reviews.draft(reviewed, "carol", ReviewDraft(root_cause="a release opened a connection per request"))
    world.service.reviews.draft(
        reviewed, "carol", ReviewDraft(contributing_factors=["no load test", "pool not alarmed"])
    )
    review = world.service.get(reviewed).review
    assert (review.root_cause, review.contributing_factors) == (
        "a release opened a connection per request",
        ["no load test", "pool not alarmed"],
    )
    lines = [e.message for e in world.store.timeline(reviewed) if e.kind is TimelineKind.REVIEW][-2:]
    assert lines == [
        "Post-incident review: root cause: a release opened a connection per request",
        "Post-incident review: contributing factors: no load test, pool not alarmed",
    ]


def test_an_incident_without_a_review_refuses_them(world: World):
    p3 = world.service.report(IncidentCreate(title="Disk full on build host", reporter="erin")).incident_id
    with pytest.raises(InvalidTransition, match="it has no post-incident review"):
        world.service.reviews.draft(p3, "carol", ReviewDraft(root_cause="x"))


def test_an_action_is_reminded_from_the_day_before_it_is_due_until_it_is_done(world: World, reviewed: str):
    due = world.clock() + timedelta(days=3)
    world.service.reviews.add_action(
        reviewed, "carol", ActionItemCreate(text="alarm on pool usage", owner="bob", due_at=due)
    )

    # Its owner is told; its reminder run reminds daily (24 h), silent for the 2 rounds before the day before it is due
    [item] = world.service.get(reviewed).review.actions
    (run,) = world.workflows.started(machines.REMINDER)[-1:]
    assert (run.name, run.payload) == (
        f"{reviewed}-action-1",
        {"incident_id": reviewed, "duty": "action-1", "max_rounds": 1 + 2 + 7, "round": 1, "interval_seconds": 86400},
    )
    assert item.execution_arn == FakeWorkflows.execution_id(machines.REMINDER, f"{reviewed}-action-1")
    assert [(e.to, "post-incident action #1 is yours" in e.body) for e in world.messenger.emails] == [
        ("bob@example.com", True)
    ]
    world.messenger.emails.clear()
    assert world.service.reminder_due(reminder(reviewed, "action-1", 1, "a1", max_rounds=10)) == []  # as the run starts
    world.clock.advance(days=1)
    assert world.service.reminder_due(reminder(reviewed, "action-1", 2, "a2", max_rounds=10)) == []  # 2 days before
    world.clock.advance(days=1)
    reminded = world.service.reminder_due(reminder(reviewed, "action-1", 3, "a3", max_rounds=10))  # the day before
    assert [(d.channel, d.person) for d in reminded] == [("email", "bob")]
    assert "post-incident action #1 due" in world.messenger.emails[-1].body
    assert world.service.reminder_due(reminder(reviewed, "action-1", 3, "a3", max_rounds=10)) == []  # redelivered

    # When bob says it is done, its run stops, and a round already on its way is answered done
    world.service.reviews.action_done(reviewed, "bob", 1)
    done = world.service.get(reviewed).review.actions[0]
    assert (done.done_at, done.done_by, done.reminders_sent) == (world.clock(), "bob", 1)
    assert (item.execution_arn, "action done") in world.workflows.stops
    assert world.service.reminder_due(reminder(reviewed, "action-1", 4, "a4", max_rounds=10)) == []
    assert world.workflows.outcomes("a4") == ["done"]
    world.service.reviews.action_done(reviewed, "bob", 1)  # again: nothing more
    assert len([e for e in world.store.timeline(reviewed) if "done by bob" in e.message]) == 1


def test_an_action_names_a_person_of_the_directory_and_an_action_that_exists(world: World, reviewed: str):
    with pytest.raises(UnknownPerson):
        world.service.reviews.add_action(
            reviewed, "carol", ActionItemCreate(text="x", owner="nobody", due_at=world.clock())
        )
    with pytest.raises(InvalidTransition, match="no such action"):
        world.service.reviews.action_done(reviewed, "bob", 3)


@pytest.mark.parametrize("due", [timedelta(0), timedelta(days=-1), timedelta(days=366)])
def test_an_action_is_due_within_the_next_year(world: World, reviewed: str, due: timedelta):
    with pytest.raises(InvalidRequest) as refused:
        world.service.reviews.add_action(
            reviewed, "carol", ActionItemCreate(text="x", owner="bob", due_at=world.clock() + due)
        )
    assert [p.field for p in refused.value.problems] == ["body.due_at"]


def test_a_due_time_given_with_an_offset_is_kept_and_shown_in_utc():
    from datetime import datetime, timezone

    item = ActionItemCreate(
        text="x", owner="bob", due_at=datetime(2026, 12, 4, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30)))
    )
    assert item.due_at == datetime(2026, 12, 4, 3, 30, tzinfo=UTC) and item.due_at.tzinfo is UTC
    with pytest.raises(ValidationError, match="out of range"):
        ActionItemCreate(text="x", owner="bob", due_at="0001-01-01T00:00:00+05:00")


def test_the_review_as_markdown(world: World, reviewed: str):
    world.service.reviews.draft(
        reviewed, "carol", ReviewDraft(root_cause="connection | per request", contributing_factors=["no load test"])
    )
    world.service.reviews.add_action(
        reviewed,
        "carol",
        ActionItemCreate(text="alarm on pool\\nusage", owner="bob", due_at=world.clock() + timedelta(days=2)),
    )
    incident = world.service.get(reviewed)

    text = review_markdown(incident, world.store.timeline(reviewed))

    assert text.startswith("# INC-1: Primary database deadlock — post-incident review\n")
    assert "- Resolved: 2026-05-01 10:00 UTC (0 min after opening) by alice" in text
    assert "## Root cause\n\nconnection | per request\n" in text
    assert "## Contributing factors\n\n- no load test\n" in text
    assert "| 1 | alarm on pool\\nusage | bob | 2026-05-03 10:00 UTC | not yet |" in text
    timeline = text.split("## Timeline (excerpt)")[1]
    assert "opened from report by erin" in timeline and "Resolved by alice" in timeline
    assert "notification_sent" not in timeline and "email to" not in timeline  # deliveries are in the full timeline
