"""Alarms that carry no ARN (SNS notifications from before ~2018, EventBridge events without `resources`) are
named by account, region and alarm name, the region found from its display name in botocore's endpoint data."""

from __future__ import annotations

import copy
import json

import pytest
from pydantic import ValidationError

from firebell.adapters.regions import lookup
from firebell.batch import describe
from firebell.domain.alarms import REGIONS, CloudWatchAlarmNotification, CloudWatchAlarmStateChange, Region, region_key

from .builders import ALARM_ARN, CLOUDWATCH_ALARM
from .conftest import ROOT

CONTEXT = {REGIONS: lookup}


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("US East - N. Virginia", "us-east-1"),  # before ~2018
        ("US East (N. Virginia)", "us-east-1"),
        ("EU - Ireland", "eu-west-1"),
        ("EU (Ireland)", "eu-west-1"),  # before 2020
        ("Europe (Ireland)", "eu-west-1"),
        ("Asia Pacific - Tokyo", "ap-northeast-1"),
        ("Asia Pacific (Tokyo)", "ap-northeast-1"),
        ("South America - Sao Paulo", "sa-east-1"),
        ("China (Beijing)", "cn-north-1"),
        ("AWS GovCloud (US-West)", "us-gov-west-1"),
        ("  US   West -\tOregon ", "us-west-2"),  # odd whitespace
        ("us east (ohio)", "us-east-2"),
        ("eu-central-1", "eu-central-1"),  # a code is a name too
    ],
)
def test_region_names_as_cloudwatch_has_written_them(written: str, code: str) -> None:
    found = lookup(written)
    assert found is not None and found.code == code


def test_an_unknown_name_is_no_region() -> None:
    assert lookup("Atlantis - Lost City") is None
    assert lookup("") is None


def test_region_key_spells_old_and_new_names_alike() -> None:
    assert region_key("EU - Ireland") == region_key("Europe (Ireland)") == "europe (ireland)"


def old_format(**changes: object) -> dict:
    """CLOUDWATCH_ALARM as CloudWatch sent it before ~2018: no AlarmArn, the region's display name."""
    message = {k: v for k, v in CLOUDWATCH_ALARM.items() if k != "AlarmArn"}
    return message | {"Region": "US East - N. Virginia"} | changes


def parse(message: dict, context: dict | None = CONTEXT) -> CloudWatchAlarmNotification:
    return CloudWatchAlarmNotification.model_validate_json(json.dumps(message), context=context)


def test_without_an_arn_the_alarm_is_named_by_account_region_and_name() -> None:
    """Given the same alarm in the old format and today's, then both have the same ARN (one dedup key)."""
    details = parse(old_format()).details()
    assert (details.arn, details.region) == (ALARM_ARN, "us-east-1")
    assert details == parse(CLOUDWATCH_ALARM).details()


def test_the_partition_comes_with_the_region() -> None:
    details = parse(old_format(Region="China (Ningxia)", AWSAccountId="377051238643")).details()
    assert details.arn == "arn:aws-cn:cloudwatch:cn-northwest-1:377051238643:alarm:checkout-5xx-high"


@pytest.mark.parametrize(
    ("changes", "context"),
    [({"Region": "Atlantis - Lost City"}, CONTEXT), ({"Region": None}, CONTEXT), ({}, None)],
    ids=["unknown-region", "no-region", "no-lookup"],
)
def test_without_an_arn_or_a_known_region_the_alarm_is_refused_saying_why(changes: dict, context: dict | None) -> None:
    with pytest.raises(ValidationError) as caught:
        parse(old_format(**changes), context)
    assert "AlarmArn is missing and Region" in describe(caught.value)
    assert "is not a known AWS region name" in describe(caught.value)


def test_an_arn_wins_over_the_region_name() -> None:
    """Given an ARN and a Region that is no longer a known name, then the ARN names the alarm."""
    assert parse(CLOUDWATCH_ALARM | {"Region": "Somewhere (Renamed)"}).details().arn == ALARM_ARN


# --- EventBridge ------------------------------------------------------------------------------------------

METRIC_ALARM = json.loads((ROOT / "events" / "eventbridge" / "metric-alarm.json").read_text())


def without_resources(**changes: object) -> dict:
    return copy.deepcopy(METRIC_ALARM) | {"resources": []} | changes


def parse_event(event: dict, context: dict | None = CONTEXT) -> CloudWatchAlarmStateChange:
    return CloudWatchAlarmStateChange.model_validate_json(json.dumps(event), context=context)


def test_an_event_without_resources_is_named_by_its_account_and_region() -> None:
    assert parse_event(without_resources()).details() == parse_event(METRIC_ALARM).details()


def test_a_china_event_without_resources_gets_the_china_partition() -> None:
    details = parse_event(without_resources(region="cn-north-1", account="377051238643")).details()
    assert details.arn == "arn:aws-cn:cloudwatch:cn-north-1:377051238643:alarm:ServerCpuTooHigh"


@pytest.mark.parametrize("changes", [{"account": None}, {"region": "mars-1"}], ids=["no-account", "unknown-region"])
def test_an_event_without_resources_or_its_account_and_region_is_refused(changes: dict) -> None:
    event = {k: v for k, v in without_resources(**changes).items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        parse_event(event)
    assert "resources is empty, so the event's account and region must name the alarm's" in describe(caught.value)


def test_a_region_is_what_the_lookup_returns() -> None:
    assert lookup("us-east-1") == Region(code="us-east-1", partition="aws")
