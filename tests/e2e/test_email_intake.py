"""Email intake on the local runtime (docs/email-intake.md): mail built with Python's email package and sent with
smtplib to the SMTP listener, which stores it as SES would; the bucket's event reaches the mail function, which
opens an incident; a reply naming it adds a note to its timeline. What is no mail to take is never a crash loop:
garbage is ignored, a queue message that is no S3 event is dead-lettered with its reason."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

import pytest

from infra.local.demo import http, local_aws_client, wait_for
from tests.e2e.conftest import RunningPipeline

pytestmark = pytest.mark.e2e

INTAKE = "checkout-incidents@example.com"  # config/firebell.yaml: its incidents are checkout's


def send(pipeline: RunningPipeline, message: EmailMessage | bytes, sender: str = "", to: str = INTAKE) -> None:
    with smtplib.SMTP("127.0.0.1", pipeline.smtp_port, timeout=30) as smtp:
        if isinstance(message, EmailMessage):
            smtp.send_message(message, to_addrs=[to])
        else:
            smtp.sendmail(sender, [to], message)


def report(subject: str, text: str, message_id: str, sender: str = "Alice Ops <alice@example.com>") -> EmailMessage:
    built = EmailMessage()
    built["From"], built["To"], built["Subject"], built["Message-ID"] = sender, INTAKE, subject, message_id
    built.set_content(text)
    return built


def incident_titled(pipeline: RunningPipeline, title: str) -> dict[str, Any] | None:
    status, page = http("GET", f"{pipeline.api_url}/incidents?limit=100")
    assert status == 200, page
    found = [i for i in page["items"] if i["title"] == title]
    assert len(found) <= 1, found  # never a second incident from one message
    return found[0] if found else None


def mail_queue_drained(pipeline: RunningPipeline) -> bool:
    """Every message the mail function was given is done with (deleted: handled, ignored or dead-lettered)."""
    sqs = local_aws_client("sqs", pipeline.aws_url)
    attributes = sqs.get_queue_attributes(
        QueueUrl=pipeline.resources["queue_url:mail"],
        AttributeNames=[
            "ApproximateNumberOfMessages",
            "ApproximateNumberOfMessagesNotVisible",
            "ApproximateNumberOfMessagesDelayed",
        ],
    )
    return sum(int(v) for v in attributes["Attributes"].values()) == 0


def test_an_email_opens_an_incident_and_a_reply_adds_a_note(local_pipeline: RunningPipeline) -> None:
    api = local_pipeline.api_url
    message = report(
        "Checkout is slow for EU customers",
        "Since 10:05 UTC p99 is above 4 s.\n\n-- \nAlice",
        "<e2e-report@example.com>",
    )
    csv = b"timestamp,p99_ms\n10:05,4210\n10:06,4388\n"
    message.add_attachment(csv, maintype="text", subtype="csv", filename="p99.csv")
    send(local_pipeline, message)
    send(local_pipeline, message)  # the sender's server sent it twice: one incident

    incident = wait_for(
        "the incident opened from the email",
        lambda: incident_titled(local_pipeline, "Checkout is slow for EU customers"),
        30,
    )
    assert (incident["reporter"], incident["service"], incident["source"]) == ("alice", "checkout", "email")
    assert incident["description"].startswith("Since 10:05 UTC p99 is above 4 s.")
    (attachment,) = incident["custom_details"]["email"]["attachments"]
    assert (attachment["filename"], attachment["content_type"], attachment["size"]) == ("p99.csv", "text/csv", len(csv))
    assert attachment["location"].startswith("s3://firebell-mail/inbound/checkout-incidents@example.com/")
    assert any(link["text"].startswith("p99.csv (text/csv") for link in incident["links"])
    reference = incident["reference"]
    wait_for("paged as any incident", lambda: http("GET", f"{api}/incidents/{reference}")[1].get("priority"), 30)

    reply = report(
        f"Re: [firebell] {reference} P2 triggered: Checkout is slow for EU customers",
        f"Rolled back deploy 4711, p99 is back under 400 ms.\n\nOn Tue, 1 Dec 2026 at 11:05, firebell <firebell@example.com> "
        f"wrote:\n> [firebell] {reference} P2 triggered",
        "<e2e-reply@example.com>",
        sender="Bob Backend <bob@example.com>",
    )
    reply["In-Reply-To"] = "<0100018c2f7e4d5a-5b6c7d8e-9f01-4a2b-8c3d-4e5f6a7b8c9d-000000@email.amazonses.com>"
    send(local_pipeline, reply)
    send(local_pipeline, reply)  # delivered twice: one note

    def notes() -> list[tuple[str, str]] | None:
        status, timeline = http("GET", f"{api}/incidents/{reference}/timeline")
        assert status == 200
        found = [(e["actor"], e["message"]) for e in timeline["items"] if e["kind"] == "note"]
        return found or None

    assert wait_for("the reply's note on the timeline", notes, 30) == [
        ("bob", "Rolled back deploy 4711, p99 is back under 400 ms.")
    ]
    wait_for("the mail queue drained", lambda: mail_queue_drained(local_pipeline), 30)
    assert notes() == [("bob", "Rolled back deploy 4711, p99 is back under 400 ms.")]  # the duplicate added nothing
    _status, health = http("GET", f"{api}/_local/health")
    assert health["smtp"]["received"] >= 3 and "mail-function-errors" not in health["failing"], health["failing"]


def test_mail_to_an_address_no_rule_names_is_refused_as_ses_refuses_it(local_pipeline: RunningPipeline) -> None:
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(local_pipeline, report("Lost mail", "to nobody", "<e2e-nobody@example.com>"), to="nobody@example.com")
    assert refused.value.recipients["nobody@example.com"][0] == 550


def test_ignored_mail_opens_nothing_and_hostile_messages_never_loop(local_pipeline: RunningPipeline) -> None:
    api = local_pipeline.api_url
    ignored = [
        report(
            "Refused: a stranger's report", "from outside", "<e2e-outside@example.net>", sender="mallory@example.net"
        ),
        report("Automatic reply: [firebell] INC-1 triggered", "I am away", "<e2e-ooo@example.com>"),
    ]
    ignored[1]["Auto-Submitted"] = "auto-replied"
    for message in ignored:
        send(local_pipeline, message)
    send(local_pipeline, b"\x00\xff\xfe garbage, no headers at all \r\n\r\n\x80\x81", sender="x@example.com")
    send(local_pipeline, b"Subject: no sender\r\n\r\nbody", sender="")
    # and what no SMTP listener would put there: a queue message that is no S3 event
    sqs = local_aws_client("sqs", local_pipeline.aws_url)
    sqs.send_message(QueueUrl=local_pipeline.resources["queue_url:mail"], MessageBody='{"hello": "not an S3 event"}')

    def dead_lettered() -> list[dict[str, Any]] | None:
        letters = http("GET", f"{api}/_local/dead-letters")[1]["queues"]["mail-dlq"]["messages"]
        return letters or None

    (letter,) = wait_for("the queue message that is no S3 event dead-lettered", dead_lettered, 30)
    assert letter["reason_recorded"] and "not an S3 event" in letter["reason"] and letter["receive_count"] == 1
    wait_for("the mail queue drained", lambda: mail_queue_drained(local_pipeline), 30)
    # ignored, each with its logged reason (the function's log): never an incident, never the function failing
    assert incident_titled(local_pipeline, "Refused: a stranger's report") is None
    assert incident_titled(local_pipeline, "Automatic reply: [firebell] INC-1 triggered") is None
    health = http("GET", f"{api}/_local/health")[1]
    assert [c["value"] for c in health["checks"] if c["name"] == "mail-function-errors"] == [0]
