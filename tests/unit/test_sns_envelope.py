"""Intake's SNS envelope model (firebell.domain.alarms.SnsNotification) accepts and refuses what powertools'
SnsNotificationModel, which it replaces to spare intake's cold start the import of every parser model, does."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel
from pydantic import ValidationError

from firebell.domain.alarms import SnsNotification

FIXTURE = Path(__file__).resolve().parents[2] / "events" / "sqs" / "intake-alarm.json"
ENVELOPE = json.loads(json.loads(FIXTURE.read_text())["Records"][0]["body"])


def without(*keys: str) -> dict:
    return {k: v for k, v in ENVELOPE.items() if k not in keys}


CASES = {
    "as SNS delivers it to SQS": ENVELOPE,
    "FIFO, content-based deduplication (no signature)": without("Signature", "SigningCertURL", "SignatureVersion"),
    "with message attributes": {**ENVELOPE, "MessageAttributes": {"type": {"Type": "String", "Value": "alarm"}}},
    "spelled as in a Lambda SNS event": {**without("UnsubscribeURL", "SigningCertURL"),
                                         "UnsubscribeUrl": ENVELOPE["UnsubscribeURL"], "SigningCertUrl": ENVELOPE["SigningCertURL"]},
    "an unknown field": {**ENVELOPE, "Extra": "x"},
    "no subject": without("Subject"),
    "no message": without("Message"),
    "no message id": without("MessageId"),
    "not a notification": {**ENVELOPE, "Type": "SubscriptionConfirmation"},
    "no unsubscribe URL": without("UnsubscribeURL"),
    "an unsubscribe URL that is no URL": {**ENVELOPE, "UnsubscribeURL": "not a url"},
    "a timestamp that is no time": {**ENVELOPE, "Timestamp": "yesterday"},
    "a message that is no string": {**ENVELOPE, "Message": {"AlarmName": "x"}},
    "bad message attributes": {**ENVELOPE, "MessageAttributes": {"type": {"Type": "String"}}},
}


@pytest.mark.parametrize("envelope", CASES.values(), ids=CASES.keys())
def test_same_verdict_as_powertools(envelope: dict) -> None:
    def verdict(model):
        try:
            parsed = model.model_validate(envelope)
        except ValidationError as error:
            return "refused", sorted({str(e["loc"][0]) for e in error.errors()})  # the fields (powertools' Message is a union)
        return "accepted", (parsed.Message, parsed.MessageId, parsed.Timestamp, str(parsed.UnsubscribeUrl))

    assert verdict(SnsNotification) == verdict(SnsNotificationModel)
