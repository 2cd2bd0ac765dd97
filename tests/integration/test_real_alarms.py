"""Real CloudWatch notifications (events/cloudwatch/real/, sources in SOURCES.md), 2014 to 2022, with and
without AlarmArn, published to the alarms topic as CloudWatch would: each ALARM opens an incident and the
matching OK resolves it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import EVENTS, Pipeline

REAL = EVENTS / "cloudwatch" / "real"


def alarm_message(path: Path) -> str:
    """The notification's Message, as CloudWatch published it: files hold a Lambda SNS event, an SNS HTTP
    notification or the message itself."""
    text = path.read_text(encoding="utf-8")
    document = json.loads(text)
    if "Records" in document:
        return document["Records"][0]["Sns"]["Message"]
    if document.get("Type") == "Notification":
        return document["Message"]
    return text


def in_state(message: str, state: str) -> str:
    """The same alarm's notification of its next state change (for sources that published only one)."""
    alarm = json.loads(message)
    return json.dumps(alarm | {"OldStateValue": alarm["NewStateValue"], "NewStateValue": state}, ensure_ascii=False)


# Each real alarm: its region code and partition as botocore names them, whatever the notification wrote.
ALARMS = {
    "2014-eu-ireland-ec2": ("eu-west-1", "aws"),
    "2016-us-west-oregon-rds": ("us-west-2", "aws"),
    "2019-eu-london-log-metric": ("eu-west-2", "aws"),
    "2019-us-east-virginia-metric-math": ("us-east-1", "aws"),
    "2019-china-beijing-rds": ("cn-north-1", "aws-cn"),
    "2020-us-east-ohio-ecs": ("us-east-2", "aws"),
    "2022-us-west-oregon-composite": ("us-west-2", "aws"),
}


def alarm_and_ok(name: str) -> tuple[str, str]:
    found = {state: REAL / f"{name}-{state}.json" for state in ("alarm", "ok")}
    alarm = alarm_message(found["alarm"]) if found["alarm"].exists() else None
    ok = alarm_message(found["ok"]) if found["ok"].exists() else None
    assert alarm or ok, f"no file for {name}"
    return alarm or in_state(ok, "ALARM"), ok or in_state(alarm, "OK")


def publish(pipeline: Pipeline, message: str) -> None:
    pipeline.client("sns").publish(TopicArn=pipeline.resources[("topic", "alarms")], Message=message)
    assert pipeline.deliver("intake", "intake", wait_seconds=5) == {"batchItemFailures": []}


def incidents(pipeline: Pipeline) -> list[dict]:
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200
    return page["items"]


def test_every_real_file_is_listed_and_sourced() -> None:
    files = {p.name for p in REAL.glob("*.json")}
    listed = {f"{name}-{state}.json" for name in ALARMS for state in ("alarm", "ok")}
    assert files <= listed and {f.rsplit("-", 1)[0] for f in files} == set(ALARMS)
    sources = (REAL / "SOURCES.md").read_text(encoding="utf-8")
    assert all(name in sources for name in files)


@pytest.mark.parametrize("name", sorted(ALARMS))
def test_a_real_alarm_opens_an_incident_and_its_ok_resolves_it(pipeline: Pipeline, name: str) -> None:
    # Given a real notification of an alarm, and its return to OK
    alarm, ok = alarm_and_ok(name)
    sent = json.loads(alarm)
    code, partition = ALARMS[name]
    arn = sent.get("AlarmArn") or f"arn:{partition}:cloudwatch:{code}:{sent['AWSAccountId']}:alarm:{sent['AlarmName']}"

    # When the ALARM is published to the alarms topic and intake handles it
    publish(pipeline, alarm)

    # Then one incident is open for that alarm, its name and description intact, its region a code
    [incident] = incidents(pipeline)
    assert incident["status"] == "triggered"
    assert incident["alarm"]["name"] == sent["AlarmName"]
    assert incident["alarm"]["description"] == sent.get("AlarmDescription")
    assert (incident["alarm"]["arn"], incident["alarm"]["region"]) == (arn, code)
    assert incident["title"].startswith(sent["AlarmName"])

    # When the OK is published the same way
    publish(pipeline, ok)

    # Then that incident is resolved automatically; nothing was dead-lettered
    [resolved] = incidents(pipeline)
    assert (resolved["reference"], resolved["status"], resolved["auto_resolved"]) == (
        incident["reference"],
        "resolved",
        True,
    )
    assert pipeline.dead_letters()["intake-dlq"] == []


def test_a_non_ascii_description_survives_intact(pipeline: Pipeline) -> None:
    # Given the 2019 Beijing alarm, whose description is Chinese
    alarm, _ = alarm_and_ok("2019-china-beijing-rds")

    # When it opens an incident
    publish(pipeline, alarm)

    # Then the title and the alarm's description carry the same characters
    [incident] = incidents(pipeline)
    assert incident["alarm"]["description"] == "db数据库可用内存不足5g"
    assert incident["title"] == "db_mem: db数据库可用内存不足5g"


def test_the_same_alarm_with_and_without_its_arn_is_one_incident(pipeline: Pipeline) -> None:
    # Given an old-format ALARM (no AlarmArn), and the same alarm firing again in today's format
    old, _ = alarm_and_ok("2019-china-beijing-rds")
    new = json.dumps(json.loads(old) | {"AlarmArn": "arn:aws-cn:cloudwatch:cn-north-1:377051238643:alarm:db_mem"})

    # When both are published
    publish(pipeline, old)
    publish(pipeline, new)

    # Then they are one incident, seen twice
    [incident] = incidents(pipeline)
    assert incident["occurrences"] == 2


def test_an_old_format_alarm_in_an_unknown_region_is_dead_lettered_with_the_reason(pipeline: Pipeline) -> None:
    # Given an old-format alarm (no AlarmArn) whose Region is no AWS region's name
    alarm, _ = alarm_and_ok("2014-eu-ireland-ec2")
    alarm = json.dumps(json.loads(alarm) | {"Region": "Atlantis - Lost City"})

    # When it is published
    publish(pipeline, alarm)

    # Then nothing is opened, and the dead letter says why
    assert incidents(pipeline) == []
    (dead,) = pipeline.dead_letters()["intake-dlq"]
    assert "AlarmArn is missing and Region 'Atlantis - Lost City' is not a known AWS region name" in dead["reason"]
