"""A storm of distinct incidents does not send one person dozens of SMS (carriers block a number after ~16 an
hour): past `notifications.sms_digest.after` SMS pages in a window, the rest go out as one digest at its end,
nothing lost, each held incident's timeline naming the digest. Email still goes per page."""

from __future__ import annotations

from datetime import datetime

import pytest

from firebell import workflows as machines
from firebell.domain.enums import MessageType, TimelineKind
from firebell.domain.requests import IncidentCreate
from firebell.domain.sms_digest import digest_text
from firebell.domain.workflow_messages import SmsDigestDue
from firebell.usecases.sms_digests import SmsDigests

from .builders import page_request
from .conftest import World, build_world

ALICE_PHONE = "+15550100001"


def storm(world: World, count: int, minutes_apart: float = 1) -> list[str]:
    """`count` distinct low-priority incidents, each classified and its level 1 paging alice."""
    ids = []
    for n in range(count):
        incident = world.service.report(
            IncidentCreate(title=f"Disk {n} full on web-{n}", reporter="erin", impact="low", urgency="low")
        )
        world.service.classify(incident.incident_id)
        execution = world.store.get(incident.incident_id).escalation.execution_arn
        world.service.page(
            page_request(incident.incident_id, 1, ["alice"], token=f"page-{n}").model_copy(
                update={"execution": execution}
            )
        )
        ids.append(incident.incident_id)
        world.clock.advance(minutes=minutes_apart)
    return ids


def sms_to_alice(world: World) -> list:
    return [s for s in world.messenger.sms if s.phone == ALICE_PHONE]


def digest_due(world: World) -> SmsDigestDue:
    (name,) = {s.name for s in world.workflows.started(machines.DIGEST)}
    payload = next(s.payload for s in world.workflows.started(machines.DIGEST) if s.name == name)
    return SmsDigestDue(
        type=MessageType.SMS_DIGEST_DUE,
        person=payload["person"],
        window=payload["window"],
        digest_id=payload["digest_id"],
    )


def test_past_the_limit_sms_pages_are_held_and_go_out_as_one_digest(world):
    # Given the shipped rule (5 SMS pages per 60 min), when 8 distinct incidents page alice between 10:00 and 10:07
    ids = storm(world, 8)

    # Then she gets 5 SMS and 8 emails; the other 3 SMS are held, each timeline naming the digest, one timer armed
    assert len(sms_to_alice(world)) == 5
    assert len([e for e in world.messenger.emails if e.to == "alice@example.com"]) == 8
    due = digest_due(world)
    assert due.digest_id == f"sms-digest-alice-{due.window}"
    (timer,) = {(s.name, s.payload["window_ends_at"]) for s in world.workflows.started(machines.DIGEST)}
    assert timer == (due.digest_id, "2026-05-01T11:00:00Z")
    for incident_id in ids[5:]:
        (held,) = [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.NOTIFICATION_HELD]
        assert held.message.startswith(
            f"sms to alice <{ALICE_PHONE}> held for digest {due.digest_id}: 5 SMS to them in 60 min"
        )
        assert "the digest goes out at 11:00:00 UTC" in held.message
    assert not [e for i in ids[:5] for e in world.store.timeline(i) if e.kind is TimelineKind.NOTIFICATION_HELD]

    # When the window ends and the digest is due (and the message is delivered twice)
    world.clock.set(datetime.fromisoformat("2026-05-01T11:00:00+00:00"))
    digests = SmsDigests(world.service.incidents, world.service.ctx)
    deliveries = digests.digest_due(due)
    assert digests.digest_due(due) == []

    # Then alice gets exactly one more SMS naming the three held incidents, and each of their timelines says so
    assert [(d.channel, d.person) for d in deliveries] == [("sms", "alice")]
    (digest,) = sms_to_alice(world)[5:]
    references = [world.store.get(i).reference for i in ids[5:]]
    assert digest.text.startswith(f"firebell digest {due.digest_id}: 3 more page(s) after 5 SMS in 60 min")
    assert all(reference in digest.text for reference in references)
    for incident_id in ids[5:]:
        sent = [
            e
            for e in world.store.timeline(incident_id)
            if e.kind is TimelineKind.NOTIFICATION_SENT and e.details.get("digest")
        ]
        assert [e.message for e in sent] == [
            f"sms to alice <{ALICE_PHONE}> sent in digest {due.digest_id} at 11:00:00 UTC, one SMS for 3 held page(s) (level 1)"
        ]


def test_a_page_in_the_next_window_is_sent_again(world):
    storm(world, 6)
    world.clock.set(datetime.fromisoformat("2026-05-01T11:00:01+00:00"))
    storm(world, 1)
    assert len(sms_to_alice(world)) == 6


def test_a_redispatched_sms_counts_once(world):
    """A page effect carried out again (its lease ran out after it counted) is not counted twice: 5 pages, 5 SMS."""
    ids = storm(world, 4)
    effect = next(e for e, _ in world.store.effects(ids[0]) if e.kind.value == "sms")
    assert world.store.count_sms("alice", digest_due_window(world), effect.effect_id, 5, world.clock()) is True
    storm(world, 1)
    assert len(sms_to_alice(world)) == 5 and world.workflows.started(machines.DIGEST) == []


def digest_due_window(world: World) -> int:
    return int(world.clock().timestamp()) // 3600


def test_without_the_rule_every_sms_page_is_sent(shipped_config):
    config = shipped_config.model_copy(
        update={
            "directory": shipped_config.directory.model_copy(
                update={"notifications": shipped_config.directory.notifications.model_copy(update={"sms_digest": None})}
            )
        }
    )
    world = build_world(config)
    storm(world, 8)
    assert len(sms_to_alice(world)) == 8 and world.workflows.started(machines.DIGEST) == []


def test_a_long_digest_stays_one_sms():
    held = [
        {"text": f"firebell INC-{n} P4 triggered: Disk {n} full on a host with a long name " * 2 + " Ack: https://x"}
        for n in range(40)
    ]
    text = digest_text("sms-digest-alice-1", held, 5, 60)
    assert len(text) <= 1500 and text.endswith("more") and "Ack:" not in text


@pytest.mark.parametrize("after", [1, 3])
def test_the_limit_comes_from_the_config(shipped_config, after):
    config = shipped_config.model_copy(
        update={
            "directory": shipped_config.directory.model_copy(
                update={
                    "notifications": shipped_config.directory.notifications.model_copy(
                        update={
                            "sms_digest": shipped_config.directory.notifications.sms_digest.model_copy(
                                update={"after": after}
                            )
                        }
                    )
                }
            )
        }
    )
    world = build_world(config)
    storm(world, 5, minutes_apart=0.5)
    assert len(sms_to_alice(world)) == after


def test_a_held_page_whose_incident_was_acknowledged_meanwhile_is_left_out_of_the_digest(world):
    ids = storm(world, 7)
    world.service.acknowledge(ids[5], by="alice")
    due = digest_due(world)
    world.clock.set(datetime.fromisoformat("2026-05-01T11:00:00+00:00"))

    SmsDigests(world.service.incidents, world.service.ctx).digest_due(due)

    (digest,) = sms_to_alice(world)[5:]
    reference_left_out, reference_sent = (world.store.get(i).reference for i in ids[5:])
    assert digest.text.startswith(f"firebell digest {due.digest_id}: 1 more page(s)")
    assert reference_sent in digest.text and reference_left_out not in digest.text
    (skipped,) = [e for e in world.store.timeline(ids[5]) if e.kind is TimelineKind.PAGE_SKIPPED]
    assert (
        skipped.message == f"sms to alice held for digest {due.digest_id} not sent: incident is acknowledged (level 1)"
    )


def test_a_p1_page_is_never_held_past_the_limit(world):
    # Given alice had 5 SMS pages within the hour (the shipped limit), so the window's next ones are held
    storm(world, 6)
    assert len(sms_to_alice(world)) == 5

    # When a P1 pages her in the same window
    major = world.service.report(
        IncidentCreate(title="Checkout down for everyone", reporter="erin", impact="high", urgency="high")
    )
    world.service.classify(major.incident_id)
    assert world.store.get(major.incident_id).priority == "P1"
    execution = world.store.get(major.incident_id).escalation.execution_arn
    world.service.page(
        page_request(major.incident_id, 1, ["alice"], token="page-p1").model_copy(update={"execution": execution})
    )

    # Then her SMS goes out at once (notifications.sms_digest.send_at_once: [P1]), and nothing of it is held
    assert len(sms_to_alice(world)) == 6 and "INC-7" in sms_to_alice(world)[-1].text
    assert not [e for e in world.store.timeline(major.incident_id) if e.kind is TimelineKind.NOTIFICATION_HELD]
