"""Email intake's use case (usecases/mail_intake.py) and the mail function's reading of S3 events, with the fakes:
a message delivered twice opens one incident and a reply delivered twice notes once; what is not received mail is
refused for good (dead-lettered with the reason), what is ignored is answered with its reason."""

from __future__ import annotations

import json
from email.message import EmailMessage

import pytest

from firebell.domain.enums import Source, TimelineKind
from firebell.domain.failures import Retry, classify
from firebell.domain.mail_intake import object_prefix
from firebell.outbox import Needs
from firebell.ports import IncidentFilter
from firebell.usecases.intake import AlertIntake
from firebell.usecases.lifecycle import Lifecycle
from firebell.usecases.mail_intake import MailIntake, MailOutcome, NotReceivedMail
from functions.mail.app import stored_objects

from .conftest import ROOT, World

BUCKET = "firebell-mail"


class Bucket:
    """The mail bucket: raw messages by key, as SES's S3 action leaves them."""

    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.reads = 0

    def read(self, bucket: str, key: str) -> bytes:
        assert bucket == BUCKET
        self.reads += 1
        return self.objects[key]

    def put(self, address: str, ses_id: str, built: EmailMessage) -> str:
        key = f"{object_prefix(address)}{ses_id}"
        self.objects[key] = built.as_bytes()
        return key


def mail(
    subject: str,
    sender: str = "Alice Ops <alice@example.com>",
    text: str = "Since 10:05 UTC p99 is above 4 s.",
    message_id: str = "<report-1@example.com>",
) -> EmailMessage:
    built = EmailMessage()
    built["From"], built["To"], built["Subject"], built["Message-ID"] = (
        sender,
        "incidents@example.com",
        subject,
        message_id,
    )
    built.set_content(text)
    return built


@pytest.fixture
def bucket() -> Bucket:
    return Bucket()


@pytest.fixture
def intake(world: World, bucket: Bucket) -> MailIntake:
    s = world.service
    return MailIntake(
        bucket, s.intake, s.lifecycle, s.incidents, lambda: world.config, world.clock, BUCKET, local_runtime=True
    )


def test_a_message_opens_one_incident_however_often_it_is_delivered(
    world: World, bucket: Bucket, intake: MailIntake
) -> None:
    first = bucket.put("checkout-incidents@example.com", "ses-1", mail("Checkout is slow"))
    # the sender's server sent it again (a new SES id, the same Message-ID), and the queue redelivered the first
    again = bucket.put("checkout-incidents@example.com", "ses-2", mail("Checkout is slow"))
    opened = intake.receive(BUCKET, first)
    assert opened.outcome is MailOutcome.OPENED
    assert (
        intake.receive(BUCKET, again)
        == intake.receive(BUCKET, first)
        == type(opened)(MailOutcome.ALREADY, opened.reference)
    )
    incident = world.service.get(opened.reference)
    assert (incident.source, incident.reporter, incident.service, incident.title) == (
        Source.EMAIL,
        "alice",
        "checkout",
        "Checkout is slow",
    )
    assert incident.priority is not None and incident.escalation.execution_arn  # classified and paged as any report
    assert [e.message for e in world.service.timeline(incident.incident_id) if e.kind is TimelineKind.OPENED] == [
        f"{opened.reference} opened from an email by alice: Checkout is slow"
    ]
    assert len(world.service.list(IncidentFilter(), 100, None).items) == 1


def test_a_reply_notes_once_and_only_for_who_may(world: World, bucket: Bucket, intake: MailIntake) -> None:
    reference = intake.receive(BUCKET, bucket.put("incidents@example.com", "ses-1", mail("Checkout is slow"))).reference
    reply = mail(
        f"Re: [firebell] {reference} P2 triggered: Checkout is slow",
        sender="bob@example.com",
        text="Rolled back.\n\nOn Tue, 1 Dec 2026 at 11:05, firebell wrote:\n> paged",
        message_id="<reply-1@example.com>",
    )
    key = bucket.put("incidents@example.com", "ses-2", reply)
    assert intake.receive(BUCKET, key).outcome is MailOutcome.NOTED
    assert intake.receive(BUCKET, key).outcome is MailOutcome.ALREADY
    notes = [(e.actor, e.message) for e in world.service.timeline(reference) if e.kind is TimelineKind.NOTE]
    assert notes == [("bob", "Rolled back.")]
    viewer = bucket.put(
        "incidents@example.com", "ses-3", mail(f"Re: {reference}", sender="dave@example.com", message_id="<r2@x>")
    )
    refused = intake.receive(BUCKET, viewer)
    assert (refused.outcome, refused.kind) == (MailOutcome.IGNORED, "refused") and "may not add notes" in refused.reason
    unknown = bucket.put(
        "incidents@example.com", "ses-4", mail("Re: INC-999999", sender="bob@example.com", message_id="<r3@x>")
    )
    assert "INC-999999, which does not exist" in intake.receive(BUCKET, unknown).reason


def test_what_is_ignored_says_why(bucket: Bucket, intake: MailIntake) -> None:
    key = bucket.put("incidents@example.com", "ses-1", mail("Checkout is slow", sender="mallory@example.net"))
    ignored = intake.receive(BUCKET, key)
    assert (ignored.outcome, ignored.kind) == (MailOutcome.IGNORED, "refused") and "example.net" in ignored.reason


def test_what_is_not_received_mail_is_refused_for_good(bucket: Bucket, intake: MailIntake) -> None:
    for where, key in (
        ("another-bucket", "inbound/incidents@example.com/x"),
        (BUCKET, "elsewhere/x"),
        (BUCKET, "inbound/x"),
    ):
        with pytest.raises(NotReceivedMail) as refused:
            intake.receive(where, key)
        assert classify(refused.value) is Retry.PERMANENT
    assert bucket.reads == 0  # nothing read outside received mail


def test_s3_events_as_the_queue_carries_them() -> None:
    event = {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventName": "ObjectCreated:Put",
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "bucket": {"name": BUCKET, "arn": f"arn:aws:s3:::{BUCKET}"},
                    "object": {"key": "inbound/incidents%40example.com/abc123", "size": 892},
                },
            }
        ]
    }
    assert stored_objects(json.dumps(event)) == [(BUCKET, "inbound/incidents@example.com/abc123")]
    sample = json.loads((ROOT / "events" / "sqs" / "mail-object-created.json").read_text())["Records"][0]["body"]
    assert [key for _, key in stored_objects(sample)] == [
        "inbound/incidents@example.com/8hk2q0v7mc3f6b1lpd2r9u4e5o0s7t1a2n3m4k01"
    ]
    test_event = {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": "2026-12-01T10:00:00.000Z", "Bucket": BUCKET}
    assert stored_objects(json.dumps(test_event)) == []  # sent when the notification is set up
    for body in ("not json", "{}", json.dumps({"Records": [{"eventSource": "aws:sqs"}]})):
        with pytest.raises(Exception) as refused:
            stored_objects(body)
        assert classify(refused.value) is Retry.PERMANENT, body


def test_its_needs_are_the_opening_s_and_the_noting_s_and_reading_mail() -> None:
    assert AlertIntake.NEEDS | Lifecycle.NEEDS | Needs(reads_mail=True) == MailIntake.NEEDS
    assert not (AlertIntake.NEEDS | Lifecycle.NEEDS).reads_mail
