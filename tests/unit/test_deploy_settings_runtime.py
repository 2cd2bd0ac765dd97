"""The deployer's settings as the functions see them (infra/cdk/settings.py deploy_environment): FIREBELL_SENDER
replaces config/firebell.yaml's sender everywhere the config is read, and FIREBELL_SMS_ORIGINATION goes with every SMS
the messenger publishes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from firebell import wiring
from firebell.adapters import aws
from firebell.config import load_config

CONFIG_DIR = Path(__file__).parents[2] / "config"
TRANSACTIONAL = {"AWS.SNS.SMS.SMSType": {"DataType": "String", "StringValue": "Transactional"}}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("TABLE_NAME", "firebell-test")
    monkeypatch.setenv("FIREBELL_CONFIG_DIR", str(CONFIG_DIR))
    wiring.reset()
    yield monkeypatch
    wiring.reset()


def test_the_sender_replaces_the_config_s_and_leaves_the_rest(environment: pytest.MonkeyPatch) -> None:
    shipped = load_config(CONFIG_DIR)
    environment.setenv("FIREBELL_SENDER", "firebell@acme.io")
    config = wiring._shipped_config()
    assert config.directory.notifications.sender == "firebell@acme.io"
    assert config.directory.notifications.sms_digest == shipped.directory.notifications.sms_digest
    assert config.directory.people == shipped.directory.people and config.rules == shipped.rules
    # The config as loaded (cached for the container) is not changed
    assert load_config(CONFIG_DIR).directory.notifications.sender == shipped.directory.notifications.sender


def test_without_it_the_config_s_sender_stays(environment: pytest.MonkeyPatch) -> None:
    assert wiring._shipped_config().directory.notifications.sender == "firebell@example.com"


@pytest.mark.parametrize(
    ("origination", "attributes"),
    [
        ("", TRANSACTIONAL),
        (
            "+18885550142",
            {**TRANSACTIONAL, "AWS.MM.SMS.OriginationNumber": {"DataType": "String", "StringValue": "+18885550142"}},
        ),
        ("FireBell", {**TRANSACTIONAL, "AWS.SNS.SMS.SenderID": {"DataType": "String", "StringValue": "FireBell"}}),
    ],
)
def test_sms_go_out_from_the_origination_identity(
    environment: pytest.MonkeyPatch, origination: str, attributes: dict[str, Any]
) -> None:
    messenger = aws.AwsMessenger("eu-west-1", sms_origination=origination)
    with Stubber(aws.client("sns", "eu-west-1")) as sns:
        sns.add_response(
            "publish",
            {"MessageId": "m-1"},
            {"PhoneNumber": "+14155550123", "Message": "INC-7 P1", "MessageAttributes": attributes},
        )
        assert messenger.send_sms("+14155550123", "INC-7 P1") == "m-1"
        sns.assert_no_pending_responses()
