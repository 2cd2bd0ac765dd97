"""Each use case's NEEDS (what infra/topology.py derives its functions' IAM grants and environment from) covers
what it really does: every use case is driven through the incident process with fakes, each with its own
recorder, and every effect it committed is held to its declaration."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import pytest

from firebell.domain.enums import MessageType
from firebell.domain.requests import ActionItemCreate, IncidentCreate, ReviewDraft
from firebell.domain.workflow_messages import QuietCheck
from firebell.outbox import EffectKind, Needs
from firebell.usecases.base import Incidents
from firebell.usecases.duties import Duties
from firebell.usecases.escalation import Escalation
from firebell.usecases.intake import AlertIntake
from firebell.usecases.lifecycle import Lifecycle
from firebell.usecases.resolution import Resolution
from firebell.usecases.reviews import Reviews
from firebell.usecases.sla_clocks import SlaClocks
from tests.fakes import FakeWorkflows

from .builders import alarm, confirming, page_request, reminder, sla_wake, watch_request
from .conftest import World, build_world, open_unclassified, sla_run_wakes, updates_by_a_reminder_run, with_directory

ARN_MACHINE = FakeWorkflows.ARN_FORMAT.split("{machine}")[0]


class Recorded:
    def __init__(self) -> None:
        self.effects: dict[str, set[EffectKind]] = defaultdict(set)
        self.starts: dict[str, set[str]] = defaultdict(set)
        self.stops: dict[str, set[str]] = defaultdict(set)
        self.links: dict[str, bool] = defaultdict(bool)

    def change(self, owner: str, change) -> None:
        for effect in change.effects(change.before.version + 1):
            self.effects[owner].add(effect.kind)
            if effect.kind is EffectKind.START:
                self.starts[owner].add(effect.payload["machine"])
            if effect.kind is EffectKind.STOP:
                self.stops[owner].add(effect.payload["execution_arn"].split(ARN_MACHINE)[1].split(":")[0])
            if effect.kind in (EffectKind.EMAIL, EffectKind.SMS) and "/ack/" in str(effect.payload):
                self.links[owner] = True


class RecordingIncidents(Incidents):
    """The real runner, recording every change its use case commits under the use case's name."""

    def __init__(self, inner: Incidents, owner: str, recorded: Recorded) -> None:
        super().__init__(inner.store, inner._dispatcher, inner._clock)
        self._owner, self._recorded = owner, recorded

    def change(self, incident_id_or_reference, decide):
        def recording(change):
            result = decide(change)
            self._recorded.change(self._owner, change)
            return result

        return super().change(incident_id_or_reference, recording)

    def open(self, change):
        self._recorded.change(self._owner, change)
        return super().open(change)


@pytest.fixture
def recorded(shipped_config) -> tuple[World, Recorded]:
    def window(directory):
        directory["services"][0]["maintenance_windows"] = [
            {"start": "2026-06-01T09:00:00Z", "end": "2026-06-01T11:00:00Z"}
        ]
        for person in directory["people"]:  # everyone's pages followed up, and in Slack too (usecases/reaching.py)
            person["slack_user_id"] = "U0" + "".join(c for c in person["id"].upper() if c.isalnum())[:18]
            person["notification_rules"] = {
                "high": {"via": ["sms", "email", "slack"], "follow_up": {"every_minutes": 5, "via": ["sms"]}},
                "low": {"via": ["email", "slack"], "follow_up": {"every_minutes": 10, "via": ["email"]}},
            }

    world = build_world(with_directory(shipped_config, window))
    recorded = Recorded()
    service = world.service
    ctx = service.ctx

    def own(cls):
        return RecordingIncidents(service.incidents, cls.__name__, recorded)

    service.lifecycle = Lifecycle(own(Lifecycle), ctx)
    service.resolution = Resolution(own(Resolution), ctx)
    service.escalation = Escalation(own(Escalation), ctx)
    # (the opening change is AlertIntake's, classification and first page included)
    service.intake = AlertIntake(
        own(AlertIntake), ctx, service.lifecycle, service.resolution, Escalation(own(AlertIntake), ctx)
    )
    service.sla_clocks = SlaClocks(own(SlaClocks), ctx)
    service.duties = Duties(own(Duties), ctx)
    service.reviews = Reviews(own(Reviews), ctx)
    return world, recorded


def drive_the_whole_process(world: World) -> None:
    """A P1 from report to closure, an alarm incident from ALARM to OK, an incident stored unclassified (opened
    before classification moved into the opening change) classified by the classify function, and everything
    people do between."""
    s = world.service
    # opened, classified, SLA, escalation with level 1 paged, incident manager, stakeholder updates: one change
    p1 = s.report(IncidentCreate(title="Primary database deadlock", reporter="erin")).incident_id
    s.classify(p1)  # the classify function's delivery of incident.opened: nothing left to do
    s.page(page_request(p1, 1, ["alice"], token="page-1"))  # level 1 was paged at opening: its token only
    s.acknowledge(p1, by="alice")
    s.page(page_request(p1, 2, ["bob"], token="page-2"))  # level 2 was already on its way: answered, nobody paged
    s.watch(watch_request(p1, "watch-1"))
    s.hold(p1, by="alice", reason="vendor")
    s.resume(p1, by="alice")
    s.watch(watch_request(p1, "watch-2"))
    s.add_note(p1, by="alice", text="looking")
    s.reassign(p1, to="bob", by="alice")
    s.escalate(p1, by="alice")
    for _ in range(
        4
    ):  # the SLA run's moments: update rounds (overdue twice: escalated, by SMS too), the resolution target's
        sla_run_wakes(world, p1)
    s.sla_wake_up(sla_wake(p1, "at_risk", "resolution", generation=1))  # from a run of the machine before issue 10
    chased_the_old_way = s.report(IncidentCreate(title="Primary database deadlock again", reporter="erin")).incident_id
    updates_by_a_reminder_run(world, chased_the_old_way)
    for round in (1, 2, 3):  # overdue twice: escalated, by SMS too
        s.reminder_due(reminder(chased_the_old_way, "updates", round, f"old-updates-{round}"))
        world.clock.advance(minutes=30)
    s.post_update(p1, by="carol", message="failing over")
    s.resolve(p1, by="alice", notes="killed the session")
    s.resolution_confirming(confirming(p1, "confirm-1"))
    s.reopen(p1, by="erin", reason="still broken")
    s.reassign(p1, to="erin", by="carol")  # triggered: paged by SMS too
    s.resolve(p1, by="alice", notes="really fixed")
    s.reminder_due(reminder(p1, "review", 1, "review-1"))
    s.reviews.draft(
        p1, "carol", ReviewDraft(root_cause="a missing index", contributing_factors=["no slow-query alarm"])
    )
    s.reviews.add_action(
        p1,
        "carol",
        ActionItemCreate(text="alarm on slow queries", owner="bob", due_at=world.clock() + timedelta(days=1)),
    )
    s.reminder_due(reminder(p1, "action-1", 1, "action-1-1"))
    world.clock.advance(days=1)
    s.reminder_due(reminder(p1, "action-1", 2, "action-1-2", max_rounds=9))  # due: bob reminded
    s.reviews.action_done(p1, "bob", 1)
    s.complete_review(p1, by="carol", summary="added an index")
    s.reminder_due(reminder(p1, "review", 2, "review-2"))  # a round already on its way: answered done
    s.resolution_window_closed(p1)

    _, alarmed = s.handle_alarm(alarm("ALARM"), message_id="sns:1")
    s.classify(alarmed)
    s.handle_alarm(alarm("ALARM"), message_id="sns:2")
    s.quiet_check(QuietCheck(type=MessageType.QUIET_CHECK, incident_id=alarmed, task_token="quiet-1"))
    s.handle_alarm(alarm("OK"), message_id="sns:3")
    world.clock.advance(minutes=1)
    s.handle_alarm(alarm("ALARM"), message_id="sns:4")  # back inside the confirmation window: reopened
    s.acknowledge_by_link(s.acknowledge_link(s.get(alarmed), "alice").rsplit("/", 1)[1])

    legacy = open_unclassified(world, "Checkout errors").incident_id
    s.classify(legacy)  # classified, escalation started with level 1 paged, SLA clocks armed, announced
    world.clock.advance(timedelta(days=1))

    # checkout's maintenance window (the recorded world's config): a high-priority report is recorded, nobody paged;
    # once the SLA run waits for a moment hours away, the window ends: escalation and stakeholder updates begin,
    # and the SLA run makes way for the first update round
    world.clock.set(datetime.fromisoformat("2026-06-01T09:30:00+00:00"))
    deferred = s.report(
        IncidentCreate(title="Checkout down", reporter="erin", service="checkout", impact="high", urgency="high")
    ).incident_id
    while s.get(deferred).sla.execution_arn and "resolution" not in s.get(deferred).sla.execution_arn:
        sla_run_wakes(world, deferred)
    world.clock.set(datetime.fromisoformat("2026-06-01T11:00:00+00:00"))
    s.maintenance_ended(deferred)


@pytest.mark.parametrize("use_case", [AlertIntake, Lifecycle, Resolution, Escalation, SlaClocks, Duties, Reviews])
def test_what_a_use_case_does_is_what_it_declares(recorded: tuple[World, Recorded], use_case: type) -> None:
    world, seen = recorded
    drive_the_whole_process(world)
    name, needs = use_case.__name__, use_case.NEEDS
    assert seen.effects[name] <= needs.effects, (
        f"{name} emitted {seen.effects[name] - needs.effects} it does not declare"
    )
    assert seen.starts[name] <= needs.starts, f"{name} started {seen.starts[name] - needs.starts}"
    assert seen.stops[name] <= needs.stops, f"{name} stopped {seen.stops[name] - needs.stops}"
    assert not seen.links[name] or needs.signs_ack_links, f"{name} sent acknowledgement links"
    assert seen.effects[name], f"the scenario never exercised {name}: this test proves nothing for it"


def test_the_declarations_are_not_much_wider_than_what_is_done(recorded: tuple[World, Recorded]) -> None:
    """Least privilege: every declared effect kind is one some path of the use case emits."""
    world, seen = recorded
    drive_the_whole_process(world)
    for use_case in (Lifecycle, Resolution, Escalation, SlaClocks, Duties, Reviews):
        assert use_case.NEEDS.effects == seen.effects[use_case.__name__], use_case.__name__
    assert isinstance(AlertIntake.NEEDS, Needs)
