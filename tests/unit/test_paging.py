"""Notification: paging escalation levels (people, schedules), answering the escalation workflow, the
acknowledgement watch and its re-trigger, escalating and reassigning by hand, the incident manager."""

from __future__ import annotations

import pytest

from firebell import workflows as machines
from firebell.dispatch import Delivery
from firebell.domain import ack_links
from firebell.domain.enums import Priority, Status, TimelineKind
from firebell.domain.errors import InvalidTransition
from firebell.domain.requests import IncidentCreate
from firebell.domain.workflow_messages import ResolutionConfirming
from firebell.outbox import EffectKind, Guard
from firebell.usecases.lifecycle import UnknownPerson
from tests.fakes import FakeWorkflows, OutboxMessenger

from .builders import alarm, exhausted, page_request, watch_request
from .conftest import ACK_SECRET, API_URL, World, build_world, committed_effects, open_unclassified


@pytest.fixture
def incident_id(world: World) -> str:
    """A P1 (database) incident INC-1 of team platform, classified and its escalation started in the change that
    opened it; the pages of that change (level 1: alice, and carol as incident manager) are cleared from the
    outbox. The escalation's first page request (level 1's task token) has not arrived yet."""
    incident = world.service.report(IncidentCreate(title="Primary database deadlock", reporter="erin"))
    world.clock.advance(seconds=5)
    world.messenger.emails.clear()
    world.messenger.sms.clear()
    return incident.incident_id


def entries(world: World, incident_id: str, kind: TimelineKind):
    return [e for e in world.store.timeline(incident_id) if e.kind is kind]


def acknowledged_and_watched(world: World, incident_id: str, token: str = "watch-1") -> None:
    """Level 1 paged, alice acknowledged, the state machine moved to the watch and sent its token."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.acknowledge(incident_id, by="alice")
    world.service.watch(watch_request(incident_id, token))


# --- level 1 paged by the change that opens the incident (issue 10) --------------------------------


class StartsWitness(OutboxMessenger):
    """Notes, at each email and SMS it sends, how many workflow runs had been started by then."""

    def __init__(self, workflows: FakeWorkflows) -> None:
        super().__init__()
        self._workflows = workflows
        self.runs_started_before: list[int] = []

    def send_email(self, sender, to, subject, body):
        self.runs_started_before.append(len(self._workflows.starts))
        return super().send_email(sender, to, subject, body)

    def send_sms(self, phone, text):
        self.runs_started_before.append(len(self._workflows.starts))
        return super().send_sms(phone, text)


def first_request(world: World, incident_id: str, token: str = "token-1", retrigger: bool = False):
    """Level 1's page request (round 1) as the incident's current escalation run sends it."""
    execution = world.store.get(incident_id).escalation.execution_arn
    request = page_request(incident_id, 1, [("schedule", "platform-primary")], token=token, retrigger=retrigger)
    return request.model_copy(update={"execution": execution})


def cleared(world: World) -> None:
    world.messenger.emails.clear()
    world.messenger.sms.clear()


def test_an_alarms_first_page_goes_out_in_the_change_that_opens_it_before_the_escalation_starts(shipped_config):
    """Given a CloudWatch ALARM for checkout (P2), when it is handled, then the one change that opens the incident
    also pages level 1 (alice, on call): its email and SMS are that change's first effects, before the escalation
    run's start and the announcement, and guarded by that run; they went out before any run was started (no wait
    for the classify function, the state machine or the notify queue: issue 10)."""
    workflows = FakeWorkflows()
    witness = StartsWitness(workflows)
    world = build_world(shipped_config, workflows=workflows, messenger=witness)

    _, incident_id = world.service.handle_alarm(alarm("ALARM"))

    assert world.store.calls["commit"] == 1
    incident = world.service.get(incident_id)
    assert (incident.version, incident.priority) == (1, Priority.P2)
    run = incident.escalation
    assert (run.level, run.round, run.task_token, run.paged_at_start) == (1, 1, None, True)

    effects = committed_effects(world, incident_id, version=1)
    first_start = [e.kind for e in effects].index(EffectKind.START)
    page, after = effects[:first_start], effects[first_start:]
    assert [(e.kind, e.payload["to"]) for e in page] == [
        (EffectKind.EMAIL, "alice@example.com"),
        (EffectKind.SMS, "+15550100001"),
    ]
    assert {e.guard for e in page} == {Guard(statuses=(Status.TRIGGERED,), escalation_execution=run.execution_arn)}
    assert after[0].payload["machine"] == machines.ESCALATION
    assert [e.payload["type"] for e in after if e.kind is EffectKind.PUBLISH] == [
        "incident.opened",
        "incident.classified",
    ]
    assert witness.recipients() == ["alice@example.com", "+15550100001"] and witness.runs_started_before == [0, 0]
    (paged,) = entries(world, incident_id, TimelineKind.PAGED)
    assert (paged.version, paged.message) == (1, "Level 1 paged: alice; escalates in 300s unless acknowledged")


def test_the_runs_first_level_1_request_pages_nobody_and_keeps_its_token(world):
    """Given an alarm incident whose level 1 (alice) was paged by the change that opened it, when the escalation
    run's first page request (level 1) arrives, then nobody is paged again and no second "paged" line is written,
    but the level's task token is kept: alice's acknowledgement answers it. A redelivery of the request changes
    nothing."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    cleared(world)

    assert world.service.page(first_request(world, incident_id)) == []

    assert world.messenger.recipients() == [] and world.workflows.answers == []
    incident = world.service.get(incident_id)
    run = incident.escalation
    assert (run.level, run.round, run.task_token, run.watching, run.paged_at_start) == (1, 1, "token-1", False, False)
    assert len(entries(world, incident_id, TimelineKind.PAGED)) == 1
    assert entries(world, incident_id, TimelineKind.PAGE_SKIPPED) == []

    assert world.service.page(first_request(world, incident_id)) == []  # redelivered
    assert world.service.get(incident_id) == incident and world.messenger.recipients() == []

    world.service.acknowledge(incident_id, by="alice")
    assert world.workflows.answers == [("token-1", "acknowledged")]


def test_escalated_by_hand_before_the_runs_first_request_goes_on_to_level_2_without_paging_level_1_again(world):
    """Given an alarm incident whose level 1 (alice) was paged by the change that opened it, when erin escalates
    it before the escalation run's first page request arrived (no task token to answer yet), then no new run
    starts (it would page alice again) and that request, when it comes, is answered `escalate`: the run pages
    level 2 next, and alice was paged once."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    cleared(world)
    runs = len(world.workflows.started(machines.ESCALATION))

    world.service.escalate(incident_id, by="erin", reason="customers are shouting")

    assert len(world.workflows.started(machines.ESCALATION)) == runs and world.workflows.answers == []
    assert world.service.page(first_request(world, incident_id)) == []
    assert world.workflows.answers == [("token-1", "escalate")]
    assert world.messenger.recipients() == [] and len(entries(world, incident_id, TimelineKind.PAGED)) == 1
    assert world.service.get(incident_id).escalation.escalate_on_first_request is False


@pytest.mark.parametrize(("action", "answer"), [("acknowledge", "acknowledged"), ("resolve", "stop")])
def test_acknowledged_before_the_runs_first_request_answers_it_without_a_not_paged_line(world, action, answer):
    """Given alice acknowledged (or resolved) from the page the opening change sent her before the escalation
    run's first page request arrived (no task token to answer yet), when that request arrives, then it is answered
    (`acknowledged`: the run moves on to the acknowledgement watch; `stop` once resolved), nobody is paged, and the
    timeline has no "Level 1 not paged" line: level 1 was paged."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    if action == "acknowledge":
        world.service.acknowledge(incident_id, by="alice")
    else:
        world.service.resolve(incident_id, by="alice", notes="rolled back")
    assert world.workflows.answers == []
    cleared(world)

    assert world.service.page(first_request(world, incident_id)) == []

    assert world.workflows.answers == [("token-1", answer)]
    assert world.messenger.recipients() == []
    assert entries(world, incident_id, TimelineKind.PAGE_SKIPPED) == []
    assert world.service.get(incident_id).escalation.paged_at_start is False


@pytest.mark.parametrize("acknowledged_before_the_first_request", [False, True], ids=["after", "before"])
def test_a_retrigger_level_1_request_after_the_watch_timed_out_still_pages(
    world, acknowledged_before_the_first_request
):
    """Given an alarm incident paged at opening and acknowledged by alice (before or after the run's first request
    took over that page's wait), the run then watching the acknowledgement, when the watch times out untouched and
    the state machine pages level 1 again with retrigger, then the incident is triggered again and alice is paged:
    a retrigger is never the page made at opening."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    if acknowledged_before_the_first_request:
        world.service.acknowledge(incident_id, by="alice")
        world.service.page(first_request(world, incident_id))
    else:
        world.service.page(first_request(world, incident_id))
        world.service.acknowledge(incident_id, by="alice")
    world.service.watch(watch_request(incident_id, "watch-1"))
    cleared(world)
    world.clock.advance(minutes=30)

    deliveries = world.service.page(first_request(world, incident_id, token="token-r", retrigger=True))

    assert [(d.channel, d.person) for d in deliveries] == [("email", "alice"), ("sms", "alice")]
    incident = world.service.get(incident_id)
    assert incident.status is Status.TRIGGERED
    assert (incident.escalation.task_token, incident.escalation.watching) == ("token-r", False)
    assert len(entries(world, incident_id, TimelineKind.RETRIGGERED)) == 1
    assert len(entries(world, incident_id, TimelineKind.PAGED)) == 2  # at opening, and now


# --- paging a level -----------------------------------------------------------------------------


def test_page_emails_and_texts_the_level(world, incident_id):
    """Given a classified incident, when the escalation pages level 2, then bob gets an email and an SMS with a
    one-click acknowledgement link, each delivery is on the timeline, and the level's task token is kept."""
    deliveries = world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))

    assert deliveries == [
        Delivery("email", "bob@example.com", "bob", world.messenger.emails[0].message_id),
        Delivery("sms", "+15550100002", "bob", world.messenger.sms[0].message_id),
    ]
    (email,) = world.messenger.emails
    assert (email.sender, email.to) == ("firebell@example.com", "bob@example.com")
    assert email.subject == "[firebell] INC-1 P1 triggered: Primary database deadlock"
    assert "Hello Bob Backend," in email.body
    assert "INC-1 (P1, database) is triggered — you are receiving this for: level 2." in email.body
    assert "Respond by 2026-05-01 10:15 UTC; resolve by 2026-05-01 14:00 UTC" in email.body
    (link_line,) = [line for line in email.body.splitlines() if line.startswith("Acknowledge (stops paging): ")]
    link = link_line.removeprefix("Acknowledge (stops paging): ")
    assert link.startswith(f"{API_URL}/ack/")
    claim = ack_links.verify(link.rsplit("/", 1)[1], ACK_SECRET, world.clock())
    assert (claim.incident_id, claim.person) == (incident_id, "bob")
    (sms,) = world.messenger.sms
    assert sms.text.startswith("firebell INC-1 P1 triggered: Primary database deadlock Ack: " + f"{API_URL}/ack/")

    sent = entries(world, incident_id, TimelineKind.NOTIFICATION_SENT)[-2:]
    assert [e.message for e in sent] == [
        "email to bob <bob@example.com> (level 2)",
        "sms to bob <+15550100002> (level 2)",
    ]
    assert sent[0].details["message_id"] == email.message_id
    paged = entries(world, incident_id, TimelineKind.PAGED)[-1]
    assert paged.message == "Level 2 paged: bob; escalates in 600s unless acknowledged"
    assert paged.details == {"level": 2, "round": 1, "people": ["bob"]}

    incident = world.service.get(incident_id)
    assert (incident.escalation.level, incident.escalation.task_token, incident.escalation.watching) == (
        2,
        "token-2",
        False,
    )
    assert world.workflows.answers == []


def test_page_without_ack_secret_has_no_link(shipped_config):
    """Given a service without a signing key (the local runtime may run without), then pages carry no link."""
    world = build_world(shipped_config, ack_secret=None)
    incident = world.service.report(IncidentCreate(title="x", reporter="erin"))
    world.service.page(page_request(incident.incident_id, 1, ["alice"], token="t"))
    assert "Acknowledge" not in world.messenger.emails[0].body and "Ack:" not in world.messenger.sms[0].text


def test_schedule_target_pages_whoever_is_on_call(world, incident_id):
    """Given level 1 targets the platform-primary schedule, when paged on a Friday in May 2026, then alice
    (on call that week) is paged; after Monday's 09:00 London handover, erin is."""
    world.service.page(page_request(incident_id, 1, [("schedule", "platform-primary")], token="token-1"))
    assert entries(world, incident_id, TimelineKind.PAGED)[-1].details["people"] == ["alice"]

    world.clock.set(world.clock().replace(day=4, hour=8, minute=30))  # Monday 09:30 London (BST)
    world.service.page(page_request(incident_id, 1, [("schedule", "platform-primary")], token="token-2", round=2))

    paged = entries(world, incident_id, TimelineKind.PAGED)[-1]
    assert paged.details == {"level": 1, "round": 2, "people": ["erin"]}
    assert paged.message.startswith("Level 1, round 2 paged: erin;")
    assert world.messenger.emails[-1].to == "erin@example.com"


def test_team_manager_target(world, incident_id):
    """Given a level targeting platform's team manager, then frank is paged."""
    world.service.page(page_request(incident_id, 2, [("team_manager", "platform")], token="token-2"))
    assert world.messenger.recipients() == ["frank@example.com", "+15550100006"]


def test_level_whose_schedule_is_gone_is_skipped_at_once(world, incident_id):
    """Given a level whose only target is a schedule since removed, then nobody is paged, the timeline says why,
    and the run is answered `escalate` at once (no waiting out the level's delay for nobody); the token is kept, so
    a redelivered request answers nothing again."""
    assert world.service.page(page_request(incident_id, 2, [("schedule", "gone")], token="token-2")) == []
    skipped = entries(world, incident_id, TimelineKind.PAGE_SKIPPED)[-1]
    assert (
        skipped.message
        == "Level 2 pages nobody: schedule gone is no longer in the directory; the incident manager next"
    )
    assert world.workflows.answers == [("token-2", "escalate")]
    assert world.service.get(incident_id).escalation.task_token == "token-2"
    world.service.page(page_request(incident_id, 2, [("schedule", "gone")], token="token-2"))
    assert world.workflows.answers == [("token-2", "escalate")] and world.messenger.recipients() == []


def test_redelivered_page_is_not_sent_twice(world, incident_id):
    """Given level 2 was paged, when the same page message is redelivered, then nobody is paged again."""
    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))
    assert world.service.page(page_request(incident_id, 2, ["bob"], token="token-2")) == []
    assert len(world.messenger.emails) == 1 and len(world.messenger.sms) == 1
    assert len(entries(world, incident_id, TimelineKind.PAGED)) == 2  # level 1 at opening, level 2 once


def test_next_level_is_paged_after_timeout(world, incident_id):
    """Given level 1 (paged at opening, its token handed over) timed out unacknowledged, when level 2 is paged,
    then bob is paged and the new token kept."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.clock.advance(minutes=5)

    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))

    assert world.messenger.recipients() == ["bob@example.com", "+15550100002"]
    incident = world.service.get(incident_id)
    assert (incident.escalation.level, incident.escalation.task_token) == (2, "token-2")


def test_page_after_acknowledge_moves_the_workflow_to_the_watch(world, incident_id):
    """Given an acknowledged incident, when the next level's page arrives, then nobody is paged and the state
    machine is answered `acknowledged` (it goes on to watch the acknowledgement)."""
    world.service.acknowledge(incident_id, by="alice")

    assert world.service.page(page_request(incident_id, 2, ["bob"], token="token-2")) == []

    assert world.messenger.recipients() == []
    assert world.workflows.answers == [("token-2", "acknowledged")]
    (skipped,) = entries(world, incident_id, TimelineKind.PAGE_SKIPPED)
    assert skipped.message == "Level 2 not paged: incident acknowledged"


def test_page_after_resolve_stops_instead(world, incident_id):
    world.service.resolve(incident_id, by="alice", notes="fixed")
    assert world.service.page(page_request(incident_id, 1, ["alice"], token="token-1")) == []
    assert world.workflows.answers[-1] == ("token-1", "stop")
    assert world.messenger.recipients() == []


def test_page_on_hold_answers_acknowledged_without_paging(world, incident_id):
    """Given an incident on hold whose acknowledgement timed out (the watch re-triggered), when the retrigger
    page arrives, then nobody is paged, the incident stays on hold, and the workflow goes back to watching."""
    acknowledged_and_watched(world, incident_id)
    world.service.hold(incident_id, by="alice", reason="waiting on the vendor")
    world.messenger.emails.clear()
    world.messenger.sms.clear()

    assert world.service.page(page_request(incident_id, 1, ["alice"], token="token-r", retrigger=True)) == []

    assert world.messenger.recipients() == []
    assert world.workflows.answers[-1] == ("token-r", "acknowledged")
    incident = world.service.get(incident_id)
    assert incident.status is Status.ON_HOLD
    assert (incident.escalation.task_token, incident.escalation.watching) == ("token-r", True)


def test_acknowledge_answers_the_page_token(world, incident_id):
    """Given level 1 is being paged, when alice acknowledges, then the level's wait is answered `acknowledged`
    with its token (the workflow moves to the acknowledgement watch instead of paging level 2)."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))

    world.service.acknowledge("INC-1", by="alice")

    assert world.workflows.answers == [("token-1", "acknowledged")]


def test_resolve_after_acknowledgement_stops_the_run_itself(world, incident_id):
    """Given an acknowledged level whose watch token has not arrived yet, when resolved, then the answered page
    token is not answered again, and the escalation run is stopped outright (StopExecution): it cannot page."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.acknowledge("INC-1", by="alice")
    world.service.resolve("INC-1", by="alice", notes="done")
    assert world.workflows.answers == [("token-1", "acknowledged")]
    escalation = world.service.get(incident_id).escalation.execution_arn
    assert (escalation, "resolved") in world.workflows.stops


def test_acknowledge_while_a_level_is_being_paged(world, incident_id):
    """Given bob acknowledges while level 2's messages are still being sent, then the level is answered
    `acknowledged` as soon as its token is stored."""

    class AckDuringSend(OutboxMessenger):
        def send_sms(self, phone, text):
            message_id = super().send_sms(phone, text)
            world.service.acknowledge(incident_id, by="bob")  # he answered the email already
            return message_id

    # the notify function's instance of the service, sharing the table and the state machines with the API's
    racing = build_world(
        world.config, store=world.store, workflows=world.workflows, messenger=AckDuringSend(), clock=world.clock
    )

    racing.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))

    assert world.workflows.answers == [("token-2", "acknowledged")]
    assert world.service.get(incident_id).status is Status.ACKNOWLEDGED


def test_person_without_phone_gets_email_only(world, incident_id):
    """Given a level targeting dave (email only), then dave is emailed and no SMS is attempted."""
    deliveries = world.service.page(page_request(incident_id, 2, ["dave"], token="token-2"))
    assert [(d.channel, d.person) for d in deliveries] == [("email", "dave")]


def test_page_with_a_target_removed_from_config_pages_the_others(world, incident_id):
    """Given an escalation plan frozen with `ghost`, who was since removed from config/firebell.yaml, when
    the level is paged, then bob is still paged (once, no transient failure to retry) and the timeline
    says ghost could not be reached."""
    deliveries = world.service.page(page_request(incident_id, 2, ["bob", "ghost"], token="token-2"))

    assert [(d.channel, d.person) for d in deliveries] == [("email", "bob"), ("sms", "bob")]
    (failed,) = entries(world, incident_id, TimelineKind.NOTIFICATION_FAILED)
    assert "ghost" in failed.message and "level 2" in failed.message
    assert world.service.get(incident_id).escalation.task_token == "token-2"


# --- the acknowledgement watch and re-triggering ---------------------------------------------------


def test_watch_keeps_its_token(world, incident_id):
    """Given an acknowledged incident, when the watch's message arrives, then its token is kept as a watch token."""
    acknowledged_and_watched(world, incident_id, token="watch-1")
    incident = world.service.get(incident_id)
    assert (incident.escalation.task_token, incident.escalation.watching) == ("watch-1", True)
    assert world.workflows.outcomes("watch-1") == []


def test_watch_of_a_resolved_incident_stops_the_workflow(world, incident_id):
    world.service.acknowledge(incident_id, by="alice")
    world.service.resolve(incident_id, by="alice", notes="fixed")
    world.service.watch(watch_request(incident_id, "watch-late"))
    assert world.workflows.outcomes("watch-late") == ["stop"]


@pytest.mark.parametrize(
    "touch",
    [
        lambda s, i: s.add_note(i, by="alice", text="found the blocking session"),
        lambda s, i: s.post_update(i, by="carol", message="Mitigation in progress"),
        lambda s, i: s.hold(i, by="alice", reason="waiting on AWS support"),
        lambda s, i: s.reassign(i, to="bob", by="alice"),
    ],
    ids=["note", "stakeholder update", "hold", "reassign"],
)
def test_activity_on_an_acknowledged_incident_answers_touched(world, incident_id, touch):
    """Given an acknowledged, watched incident, when someone works on it, then the watch is answered
    `touched` (the acknowledgement timeout starts again)."""
    acknowledged_and_watched(world, incident_id)

    touch(world.service, incident_id)

    assert world.workflows.outcomes("watch-1") == ["touched"]


def test_note_while_paging_does_not_answer_the_page(world, incident_id):
    """Given level 1 is being paged (not acknowledged), when someone adds a note, then the page is not
    answered: a note is not an acknowledgement."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.add_note(incident_id, by="erin", text="users see errors")
    assert world.workflows.answers == []


def test_retrigger_page_after_the_ack_timeout(world, incident_id):
    """Given alice acknowledged and then nobody touched the incident for the ack timeout, when the state
    machine pages level 1 again with retrigger, then the incident is triggered again and alice is paged."""
    acknowledged_and_watched(world, incident_id)
    world.messenger.emails.clear()
    world.messenger.sms.clear()
    world.clock.advance(minutes=30)

    deliveries = world.service.page(page_request(incident_id, 1, ["alice"], token="token-r", retrigger=True))

    assert [d.person for d in deliveries] == ["alice", "alice"]
    incident = world.service.get(incident_id)
    assert incident.status is Status.TRIGGERED
    assert (incident.escalation.task_token, incident.escalation.watching) == ("token-r", False)
    (retriggered,) = entries(world, incident_id, TimelineKind.RETRIGGERED)
    assert retriggered.message == "Acknowledged but untouched past the acknowledgement timeout: paging again"
    assert "Acknowledge (stops paging)" in world.messenger.emails[0].body
    # and it can be acknowledged again
    assert world.service.acknowledge(incident_id, by="bob").acknowledged_by == "bob"
    assert world.workflows.outcomes("token-r") == ["acknowledged"]


def test_acknowledgement_between_retrigger_levels_is_kept(world, incident_id):
    """Given a re-triggered incident whose level 1 re-page timed out, when bob acknowledges before level 2's page
    (still flagged retrigger) is processed, then that page leaves bob's acknowledgement alone: nobody is paged and
    the workflow is answered `acknowledged`."""
    acknowledged_and_watched(world, incident_id)
    world.clock.advance(minutes=30)
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-r1", retrigger=True))
    world.workflows.expire("token-r1")  # level 1's wait timed out: the state machine moves to level 2
    world.service.acknowledge(incident_id, by="bob")  # answers token-r1, too late
    world.messenger.emails.clear()
    world.messenger.sms.clear()

    deliveries = world.service.page(page_request(incident_id, 2, ["bob"], token="token-r2", retrigger=True))

    assert deliveries == [] and world.messenger.recipients() == []
    assert world.service.get(incident_id).status is Status.ACKNOWLEDGED
    assert world.workflows.outcomes("token-r2") == ["acknowledged"]


def test_retrigger_flag_on_a_triggered_incident_just_pages(world, incident_id):
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-r", retrigger=True))
    assert entries(world, incident_id, TimelineKind.RETRIGGERED) == []
    assert len(world.messenger.emails) == 1


# --- escalating by hand -------------------------------------------------------------------------


def test_escalate_answers_escalate(world, incident_id):
    """Given level 1 is being paged, when erin escalates, then the level's wait is answered `escalate`
    (the state machine pages the next level now) and the timeline says who and why."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))

    escalated = world.service.escalate("INC-1", by="erin", reason="alice is on a plane")

    assert world.workflows.answers == [("token-1", "escalate")]
    assert escalated.status is Status.TRIGGERED
    (entry,) = entries(world, incident_id, TimelineKind.ESCALATED)
    assert (entry.actor, entry.message) == ("erin", "Escalated by erin to the next level: alice is on a plane")


def test_escalate_an_acknowledged_incident_retriggers_it(world, incident_id):
    """Given alice acknowledged (the workflow is watching), when carol escalates, then the incident is
    triggered again and the watch is answered `escalate`; the next level's page then pages bob."""
    acknowledged_and_watched(world, incident_id)

    escalated = world.service.escalate(incident_id, by="carol")

    assert escalated.status is Status.TRIGGERED
    assert world.workflows.outcomes("watch-1") == ["escalate"]
    deliveries = world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))
    assert {d.person for d in deliveries} == {"bob"}


def test_escalate_without_a_waiting_escalation_starts_one(world):
    """Given an incident with no escalation waiting (none started yet: opened before classification moved into
    the opening change, and not classified yet), when someone escalates it, then a new escalation run starts
    rather than the request being silently lost."""
    open_unclassified(world, "x")
    escalated = world.service.escalate("INC-1", by="erin")
    assert escalated.escalation.execution_arn is not None
    assert [start.machine for start in world.workflows.starts] == ["escalation"]


def test_escalate_a_resolved_incident_is_refused(world, incident_id):
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.resolve(incident_id, by="alice", notes="fixed")
    with pytest.raises(InvalidTransition, match="cannot escalate INC-1: it is resolved"):
        world.service.escalate(incident_id, by="erin")


def test_escalate_an_on_hold_incident_is_refused_or_pages(world, incident_id):
    """Given an incident on hold, when someone escalates it, then either it is refused (resume it first, as the
    lifecycle refuses re-triggering an on-hold incident) or the next level is really paged."""
    acknowledged_and_watched(world, incident_id)
    world.service.hold(incident_id, by="alice", reason="vendor")
    world.messenger.emails.clear()
    world.messenger.sms.clear()
    try:
        world.service.escalate(incident_id, by="carol")
    except InvalidTransition as refused:
        assert "on hold" in str(refused)
        return
    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))
    assert "bob@example.com" in world.messenger.recipients()


def test_escalate_after_the_escalation_ended_is_refused_or_restarts_it(world, incident_id):
    """Given every level timed out (the execution ended after paging the incident manager) and carol then
    acknowledged, when someone escalates, then either it is refused or a new escalation is started."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.workflows.expire("token-1")
    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))
    world.workflows.expire("token-2")
    world.service.page_incident_managers(exhausted(incident_id))
    world.service.acknowledge(incident_id, by="carol")
    before = len(world.workflows.started(machines.ESCALATION))

    try:
        world.service.escalate(incident_id, by="erin")
    except InvalidTransition:
        assert world.service.get(incident_id).status is Status.ACKNOWLEDGED
        return
    assert len(world.workflows.started(machines.ESCALATION)) == before + 1


# --- reassigning ------------------------------------------------------------------------------------


def test_reassign_pages_the_new_assignee(world, incident_id):
    """Given a triggered incident, when erin reassigns it to bob, then bob is its assignee and is paged (email
    and SMS: it is still triggered), and the timeline says so."""
    updated = world.service.reassign("INC-1", to="bob", by="erin")

    assert updated.assignee == "bob"
    assert world.messenger.recipients() == ["bob@example.com", "+15550100002"]
    (entry,) = entries(world, incident_id, TimelineKind.REASSIGNED)
    assert (entry.actor, entry.message) == ("erin", "Reassigned to bob by erin")
    assert "assigned by erin" in world.messenger.emails[0].body


def test_reassign_an_acknowledged_incident_emails_only(world, incident_id):
    acknowledged_and_watched(world, incident_id)
    world.messenger.emails.clear()
    world.messenger.sms.clear()
    world.service.reassign(incident_id, to="bob", by="alice")
    assert world.messenger.recipients() == ["bob@example.com"]


def test_reassign_to_an_unknown_person_is_refused(world, incident_id):
    with pytest.raises(UnknownPerson, match="unknown person 'zed'"):
        world.service.reassign(incident_id, to="zed", by="erin")
    assert world.service.get(incident_id).assignee is None
    assert world.messenger.recipients() == []


def test_reassign_a_resolved_incident_is_refused(world, incident_id):
    world.service.resolve(incident_id, by="alice", notes="fixed")
    with pytest.raises(InvalidTransition, match="cannot reassign INC-1: it is resolved"):
        world.service.reassign(incident_id, to="bob", by="erin")


# --- incident manager ---------------------------------------------------------------------------


def test_exhausted_escalation_pages_incident_managers_once(world, incident_id):
    """Given nobody acknowledged any level, when the escalation is exhausted, then carol is paged; a
    redelivered message pages nobody again."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))
    before = len(world.messenger.recipients())

    deliveries = world.service.page_incident_managers(exhausted(incident_id))

    assert [(d.channel, d.to) for d in deliveries] == [("email", "carol@example.com"), ("sms", "+15550100003")]
    assert world.service.get(incident_id).escalation.exhausted is True
    (entry,) = entries(world, incident_id, TimelineKind.ESCALATION_EXHAUSTED)
    assert entry.message == "No level acknowledged: incident manager paged (carol)"
    assert "(nobody acknowledged)" in entries(world, incident_id, TimelineKind.NOTIFICATION_SENT)[-1].message

    assert world.service.page_incident_managers(exhausted(incident_id)) == []
    assert len(world.messenger.recipients()) == before + 2


def test_exhausted_with_a_manager_removed_from_config(world, incident_id):
    """Given the frozen plan names a manager who left, when escalation is exhausted, then the others are paged."""
    deliveries = world.service.page_incident_managers(exhausted(incident_id, ["gone", "carol"]))
    assert {d.person for d in deliveries} == {"carol"}
    assert len(entries(world, incident_id, TimelineKind.NOTIFICATION_FAILED)) == 1


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_exhausted_after_acknowledge_or_resolve_pages_nobody(world, incident_id, action):
    if action == "acknowledge":
        world.service.acknowledge(incident_id, by="alice")
    else:
        world.service.resolve(incident_id, by="alice", notes="fixed")
    assert world.service.page_incident_managers(exhausted(incident_id)) == []
    assert world.messenger.recipients() == []


# --- resolution notice --------------------------------------------------------------------------


def announce_resolution(world, incident_id: str):
    """The resolution machine's confirmation window opens: everyone who needs to know is told."""
    return world.service.resolution_confirming(
        ResolutionConfirming(type="resolution.confirming", incident_id=incident_id, task_token="resolution-token")
    )


def test_resolution_is_announced_to_stakeholders_those_paged_and_the_incident_manager(world, incident_id):
    """Given level 1 (alice) was paged on a P1 (carol its incident manager) and the incident resolved, when
    resolution is announced, then dave (stakeholder), alice and carol get an email, and nobody an SMS."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.resolve(incident_id, by="alice", notes="Killed the blocking session")
    world.messenger.emails.clear()
    world.messenger.sms.clear()

    deliveries = announce_resolution(world, incident_id)

    assert [(d.channel, d.person) for d in deliveries] == [("email", "dave"), ("email", "alice"), ("email", "carol")]
    assert world.messenger.sms == []
    email = world.messenger.emails[0]
    assert email.subject == "[firebell] INC-1 P1 resolved: Primary database deadlock"
    assert "Resolution: Killed the blocking session" in email.body
    assert "Acknowledge" not in email.body
    # carol owns the P1's review: her resolution email says so, and is the only one she gets for it
    assert (
        "Post-incident review due" in world.messenger.emails[-1].body and "Post-incident review due" not in email.body
    )
    told = [e.message.split(" (", 1)[1] for e in entries(world, incident_id, TimelineKind.NOTIFICATION_SENT)][-3:]
    assert told == ["resolution)", "resolution)", "resolution; the post-incident review is yours)"]


def test_resolution_of_a_p1_paged_only_at_opening_goes_to_stakeholders_level_1_and_its_incident_manager(
    world, incident_id
):
    """Given a P1 resolved before its escalation asked for any page (level 1, alice, was paged by the change that
    opened it), when resolution is announced, then dave (stakeholder), alice and carol are told."""
    world.service.resolve(incident_id, by="erin", notes="false alarm")
    assert [d.person for d in announce_resolution(world, incident_id)] == ["dave", "alice", "carol"]


def test_resolution_is_announced_to_incident_managers_who_were_paged(world, incident_id):
    """Given the escalation was exhausted (carol paged), when resolution is announced, then carol is told too."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))
    world.service.page_incident_managers(exhausted(incident_id))
    world.service.resolve(incident_id, by="carol", notes="failed over")

    people = [d.person for d in announce_resolution(world, incident_id)]

    assert set(people) == {"dave", "alice", "bob", "carol"}
    assert len(people) == len(set(people))  # each told once


def test_resolution_is_announced_to_the_assignee(world, incident_id):
    world.service.reassign(incident_id, to="bob", by="erin")
    world.service.resolve(incident_id, by="bob", notes="fixed")
    assert "bob" in [d.person for d in announce_resolution(world, incident_id)]


def test_a_person_reached_by_several_routes_gets_one_email_and_one_sms(world, incident_id):
    """Given alice named twice (e.g. the incident manager who is also the team's manager), when she is reached,
    then one email and one SMS go to her, not two of each."""
    from firebell.outbox import Change
    from firebell.usecases.duties import reach

    change = Change(world.service.get(incident_id), world.clock())
    reach(
        change,
        world.service.ctx,
        world.config,
        ["alice", "bob", "alice"],
        urgent=True,
        why="stakeholder update overdue ×2",
    )

    sent = [(e.kind, e.payload["person"]) for e in change.effects(0)]
    assert sent == [("email", "alice"), ("sms", "alice"), ("email", "bob"), ("sms", "bob")]
