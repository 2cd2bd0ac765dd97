"""Email intake on moto, as rendered from the topology: a message stored where SES's receipt rule stores it is
announced on the mail queue by the bucket's own notification, and the mail function opens its incident; without the
grant its use case's needs derive (s3:GetObject under inbound/), the read is denied as AWS would deny it."""

from __future__ import annotations

from email.message import EmailMessage

from firebell.domain.mail_intake import object_prefix
from infra.local.iam import Grant
from tests.integration.conftest import Pipeline


def store(pipeline: Pipeline, subject: str, ses_id: str) -> str:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "Erin Ops <erin@example.com>", "incidents@example.com", subject
    message["Message-ID"] = f"<{ses_id}@example.com>"
    message.set_content("Queue depth of the payment workers keeps growing.")
    key = object_prefix("incidents@example.com") + ses_id
    pipeline.client("s3").put_object(Bucket=pipeline.resources[("bucket", "mail")], Key=key, Body=message.as_bytes())
    return key


def test_a_stored_message_reaches_the_mail_function_and_opens_its_incident(pipeline: Pipeline) -> None:
    store(pipeline, "Payment workers are falling behind", "ses-integration-1")
    # (S3's test event, sent when the notification was set up, comes first: skipped)
    assert pipeline.deliver("mail", "mail", expect=2) == {"batchItemFailures": []}
    _status, page = pipeline.api("GET", "/incidents")
    (incident,) = [i for i in page["items"] if i["title"] == "Payment workers are falling behind"]
    assert (incident["reporter"], incident["source"], incident["description"]) == (
        "erin",
        "email",
        "Queue depth of the payment workers keeps growing.",
    )
    assert pipeline.dead_letters()["mail-dlq"] == []


def test_without_its_grant_the_read_is_denied_and_the_message_dead_lettered_with_why(pipeline: Pipeline) -> None:
    bucket = pipeline.resources[("bucket", "mail")]
    full = pipeline.iam.grants_of("mail")
    assert Grant("s3:GetObject", f"arn:aws:s3:::{bucket}/inbound/*") in full
    pipeline.iam._grants["mail"] = [g for g in full if not g.action.startswith("s3:")]
    try:
        key = store(pipeline, "Nobody may read this", "ses-integration-2")
        assert pipeline.deliver("mail", "mail", expect=2) == {"batchItemFailures": []}
        assert pipeline.iam.denied == [("mail", "s3:GetObject", f"arn:aws:s3:::{bucket}/{key}")]
        (letter,) = pipeline.dead_letters()["mail-dlq"]
        assert "AccessDenied" in letter["reason"]
    finally:
        pipeline.iam._grants["mail"] = full
        pipeline.iam.denied.clear()
