"""Notification: paging escalation levels, stopping on acknowledgement, the incident manager, resolution notices."""

from __future__ import annotations

import pytest

from firebell.domain.enums import Status, TimelineKind
from firebell.domain.models import EscalationExhausted, EscalationLevel, IncidentCreate, PageRequest
from firebell.service import Delivery
from tests.fakes import OutboxMessenger

from .conftest import API_URL, World, build_world

TIMEOUTS = {1: 300, 2: 600}


def page_request(incident_id: str, level: int, targets: list[str], token: str) -> PageRequest:
    """What the state machine sends to the notify queue for one level."""
    return PageRequest.model_validate(
        {
            "type": "escalation.page",
            "incident_id": incident_id,
            "level": {"level": level, "targets": targets, "timeout_seconds": TIMEOUTS.get(level, 60)},
            "task_token": token,
        }
    )


def exhausted(incident_id: str, managers: list[str] | None = None) -> EscalationExhausted:
    return EscalationExhausted(type="escalation.exhausted", incident_id=incident_id, incident_managers=managers or ["carol"])


@pytest.fixture
def incident_id(world: World) -> str:
    """A classified P1 (database) incident INC-1 of team platform, escalation started."""
    incident = world.service.report(IncidentCreate(title="Primary database deadlock", reporter="erin"))
    world.service.classify(incident.incident_id)
    world.clock.advance(seconds=5)
    return incident.incident_id


def entries(world: World, incident_id: str, kind: TimelineKind):
    return [e for e in world.store.timeline(incident_id) if e.kind is kind]


# --- paging a level -----------------------------------------------------------------------------


def test_page_emails_and_texts_the_level(world, incident_id):
    """Given a classified incident, when level 1 is paged, then alice gets an email and an SMS, each on the
    timeline, and the level's task token is kept for the acknowledgement."""
    deliveries = world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))

    assert deliveries == [
        Delivery("email", "alice@example.com", "alice", world.messenger.emails[0].message_id),
        Delivery("sms", "+15550100001", "alice", world.messenger.sms[0].message_id),
    ]
    (email,) = world.messenger.emails
    assert (email.sender, email.to) == ("firebell@example.com", "alice@example.com")
    assert email.subject == "[firebell] INC-1 P1 triggered: Primary database deadlock"
    assert "Hello Alice Ops," in email.body
    assert "INC-1 (P1, database) is triggered." in email.body
    assert "Respond by 2024-05-01 10:15 UTC; resolve by 2024-05-01 14:00 UTC" in email.body
    assert f"Acknowledge (stops paging): POST {API_URL}/incidents/INC-1/acknowledge" in email.body
    (sms,) = world.messenger.sms
    assert sms.text == "firebell INC-1 P1 triggered: Primary database deadlock"

    sent = entries(world, incident_id, TimelineKind.NOTIFICATION_SENT)
    assert [e.message for e in sent] == [
        "email to alice <alice@example.com> (level 1)",
        "sms to alice <+15550100001> (level 1)",
    ]
    assert sent[0].details["message_id"] == email.message_id
    (paged,) = entries(world, incident_id, TimelineKind.PAGED)
    assert paged.message == "Level 1 paged: alice; escalates in 300s unless acknowledged"

    incident = world.service.get(incident_id)
    assert (incident.escalation.level, incident.escalation.task_token) == (1, "token-1")
    assert world.workflow.stops == []


def test_redelivered_page_is_not_sent_twice(world, incident_id):
    """Given level 1 was paged, when the same page message is redelivered, then nobody is paged again."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    assert world.service.page(page_request(incident_id, 1, ["alice"], token="token-1")) == []
    assert len(world.messenger.emails) == 1 and len(world.messenger.sms) == 1


def test_next_level_is_paged_after_timeout(world, incident_id):
    """Given level 1 timed out unacknowledged, when level 2 is paged, then bob is paged and the new token kept."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.clock.advance(minutes=5)

    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))

    assert world.messenger.recipients() == ["alice@example.com", "bob@example.com", "+15550100001", "+15550100002"]
    incident = world.service.get(incident_id)
    assert (incident.escalation.level, incident.escalation.task_token) == (2, "token-2")


def test_page_after_acknowledge_stops_instead(world, incident_id):
    """Given an acknowledged incident, when the next level's page arrives, then nobody is paged and the
    state machine is told to stop."""
    world.service.acknowledge(incident_id, by="alice")

    assert world.service.page(page_request(incident_id, 2, ["bob"], token="token-2")) == []

    assert world.messenger.recipients() == []
    assert world.workflow.stops == [("token-2", "incident already acknowledged")]
    (skipped,) = entries(world, incident_id, TimelineKind.PAGE_SKIPPED)
    assert skipped.message == "Level 2 not paged: incident acknowledged"


def test_page_after_resolve_stops_instead(world, incident_id):
    world.service.resolve(incident_id, by="alice", notes="fixed")
    assert world.service.page(page_request(incident_id, 1, ["alice"], token="token-1")) == []
    assert world.workflow.stops == [("token-1", "incident already resolved")]


def test_acknowledge_stops_paging_with_the_stored_token(world, incident_id):
    """Given level 1 is being paged, when alice acknowledges, then the level's wait is completed with its token."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))

    world.service.acknowledge("INC-1", by="alice")

    assert world.workflow.stops == [("token-1", "acknowledged by alice")]


def test_resolve_after_acknowledge_stops_again_harmlessly(world, incident_id):
    """Given an acknowledged (already stopped) level, when resolved, then the stop is attempted and reports False."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.acknowledge("INC-1", by="alice")
    world.service.resolve("INC-1", by="alice", notes="done")
    assert world.workflow.stops == [("token-1", "acknowledged by alice"), ("token-1", "resolved by alice")]
    assert world.workflow.stop_paging("token-1", "again") is False


def test_acknowledge_while_a_level_is_being_paged(world, incident_id):
    """Given alice acknowledges while level 1's messages are still being sent, then the level is stopped
    as soon as its token is stored."""

    class AckDuringSend(OutboxMessenger):
        def send_sms(self, phone, text):
            message_id = super().send_sms(phone, text)
            world.service.acknowledge(incident_id, by="alice")  # she answered the email already
            return message_id

    # the notify function's instance of the service, sharing the table and the state machine with the API's
    racing = build_world(world.config, store=world.store, workflow=world.workflow, messenger=AckDuringSend(), clock=world.clock)

    racing.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))

    assert world.workflow.stops == [("token-1", "incident acknowledged while paging")]
    assert world.service.get(incident_id).status is Status.ACKNOWLEDGED


def test_person_without_phone_gets_email_only(world, incident_id):
    """Given a level targeting dave (email only), then dave is emailed and no SMS is attempted."""
    deliveries = world.service.page(page_request(incident_id, 1, ["dave"], token="token-1"))
    assert [(d.channel, d.person) for d in deliveries] == [("email", "dave")]


def test_page_with_a_target_removed_from_config_pages_the_others(world, incident_id):
    """Given an escalation plan frozen with `ghost`, who was since removed from config/firebell.yaml, when
    the level is paged, then alice is still paged (once, no transient failure to retry) and the timeline
    says ghost could not be reached."""
    deliveries = world.service.page(page_request(incident_id, 1, ["alice", "ghost"], token="token-1"))

    assert [(d.channel, d.person) for d in deliveries] == [("email", "alice"), ("sms", "alice")]
    (failed,) = entries(world, incident_id, TimelineKind.NOTIFICATION_FAILED)
    assert "ghost" in failed.message and "level 1" in failed.message
    assert world.service.get(incident_id).escalation.task_token == "token-1"


def test_exhausted_with_a_manager_removed_from_config(world, incident_id):
    """Given the frozen plan names a manager who left, when escalation is exhausted, then the others are paged."""
    deliveries = world.service.page_incident_managers(exhausted(incident_id, ["gone", "carol"]))
    assert {d.person for d in deliveries} == {"carol"}
    assert len(entries(world, incident_id, TimelineKind.NOTIFICATION_FAILED)) == 1


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


@pytest.mark.parametrize("action", ["acknowledge", "resolve"])
def test_exhausted_after_acknowledge_or_resolve_pages_nobody(world, incident_id, action):
    if action == "acknowledge":
        world.service.acknowledge(incident_id, by="alice")
    else:
        world.service.resolve(incident_id, by="alice", notes="fixed")
    assert world.service.page_incident_managers(exhausted(incident_id)) == []
    assert world.messenger.recipients() == []


# --- resolution notice --------------------------------------------------------------------------


def test_resolution_is_announced_to_stakeholders_and_those_paged(world, incident_id):
    """Given level 1 (alice) was paged and the incident resolved, when resolution is announced, then dave
    (stakeholder) and alice get an email, and nobody gets an SMS (not urgent)."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.resolve(incident_id, by="alice", notes="Killed the blocking session")
    world.messenger.emails.clear()
    world.messenger.sms.clear()

    deliveries = world.service.announce_resolution(incident_id)

    assert [(d.channel, d.person) for d in deliveries] == [("email", "dave"), ("email", "alice")]
    assert world.messenger.sms == []
    email = world.messenger.emails[0]
    assert email.subject == "[firebell] INC-1 P1 resolved: Primary database deadlock"
    assert "Resolution: Killed the blocking session" in email.body
    assert "Acknowledge" not in email.body
    assert entries(world, incident_id, TimelineKind.NOTIFICATION_SENT)[-1].message.endswith("(resolution)")


def test_resolution_of_an_unpaged_incident_goes_to_stakeholders_only(world, incident_id):
    world.service.resolve(incident_id, by="erin", notes="false alarm")
    assert [d.person for d in world.service.announce_resolution(incident_id)] == ["dave"]


def test_resolution_is_announced_to_incident_managers_who_were_paged(world, incident_id):
    """Given the escalation was exhausted (carol paged), when resolution is announced, then carol is told too."""
    world.service.page(page_request(incident_id, 1, ["alice"], token="token-1"))
    world.service.page(page_request(incident_id, 2, ["bob"], token="token-2"))
    world.service.page_incident_managers(exhausted(incident_id))
    world.service.resolve(incident_id, by="carol", notes="failed over")

    people = [d.person for d in world.service.announce_resolution(incident_id)]

    assert set(people) == {"dave", "alice", "bob", "carol"}
