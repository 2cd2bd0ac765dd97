"""The heartbeat at intake (firebell/heartbeat.py): counted, never an incident; firebell's own ops alarms skipped;
and how the local runtime judges its freshness (infra/local/health.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from firebell import heartbeat, wiring
from firebell.batch import QueueRecord
from firebell.config import ConfigError, load_config
from functions.intake import app as intake
from infra.local.health import MIN_HEARTBEAT_SECONDS, heartbeat_interval, heartbeat_status, missing_after
from infra.monitoring import HeartbeatSpec
from tests.unit.conftest import CONFIG_DIR, World

EVENTS = Path(__file__).resolve().parents[2] / "events"


class RecordingMetrics:
    def __init__(self) -> None:
        self.added: list[tuple[str, float]] = []

    def add_metric(self, name: str, unit: Any, value: float) -> None:
        self.added.append((name, value))


def sqs_record(body: dict[str, Any]) -> QueueRecord:
    return QueueRecord(
        {
            "messageId": "m-1",
            "receiptHandle": "r-1",
            "body": json.dumps(body),
            "attributes": {"ApproximateReceiveCount": "1"},
            "messageAttributes": {},
            "eventSource": "aws:sqs",
            "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:firebell-intake",
            "awsRegion": "us-east-1",
        }
    )


def handled(record: QueueRecord) -> None:
    """Intake's batch handling of one record, which must not fail."""
    assert intake.handle_batch([record], lambda work: work(0)) == {}


def the_heartbeat() -> dict[str, Any]:
    return heartbeat.heartbeat_event(
        partition="aws", region="us-east-1", account="123456789012", time="2026-12-01T10:00:00Z"
    )


@pytest.fixture
def intake_on_fakes(world: World, monkeypatch: pytest.MonkeyPatch) -> RecordingMetrics:
    metrics = RecordingMetrics()
    monkeypatch.setattr(wiring, "intake", lambda: world.service.intake)
    monkeypatch.setattr(intake, "metrics", metrics)
    return metrics


def test_the_heartbeat_is_counted_and_opens_no_incident(world: World, intake_on_fakes: RecordingMetrics) -> None:
    # Given the synthetic alarm state change the schedule puts on the intake queue
    seen_before, _ = heartbeat.seen()

    # When intake handles it
    handled(sqs_record(the_heartbeat()))

    # Then no incident exists and nothing was announced
    assert world.store._incidents == {}
    assert world.events.published == []
    # And the Heartbeat metric the heartbeat alarm watches was emitted, and this process saw it
    assert intake_on_fakes.added == [(heartbeat.HEARTBEAT_METRIC, 1)]
    assert heartbeat.seen()[0] == seen_before + 1


def test_a_real_alarm_in_the_same_format_still_opens_an_incident(
    world: World, intake_on_fakes: RecordingMetrics
) -> None:
    # Given an EventBridge alarm state change that is not the heartbeat
    event = json.loads((EVENTS / "eventbridge/metric-alarm.json").read_text())

    # When intake handles it
    handled(sqs_record(event))

    # Then it opened an incident (the heartbeat check lets every other alarm through)
    assert len(world.store._incidents) == 1
    assert heartbeat.HEARTBEAT_METRIC not in [name for name, _ in intake_on_fakes.added]


def test_firebell_s_own_ops_alarms_are_skipped(world: World, intake_on_fakes: RecordingMetrics) -> None:
    # Given the state change of one of the stack's self-monitoring alarms (forwarded by the account-wide rule)
    event = json.loads((EVENTS / "eventbridge/metric-alarm.json").read_text())
    name = f"{heartbeat.OPS_ALARM_PREFIX}Firebell-intake-dlq-depth"
    event["detail"]["alarmName"] = name
    event["resources"] = [f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"]

    # When intake handles it
    handled(sqs_record(event))

    # Then it is counted as skipped, not paged through the pipeline
    assert world.store._incidents == {}
    assert intake_on_fakes.added == [(heartbeat.OPS_ALARM_SKIPPED_METRIC, 1)]


@pytest.mark.parametrize(
    ("last_seen", "now", "ok"),
    [
        (None, 100.0 + 29.9, True),  # none yet, inside the first periods
        (None, 100.0 + 30.1, False),  # none at all for the whole allowance
        (105.0, 105.0 + 30.0, True),  # seen, not yet too long ago
        (105.0, 105.0 + 30.5, False),  # stopped
    ],
)
def test_local_heartbeat_is_missing_after_its_silent_periods(last_seen: float | None, now: float, ok: bool) -> None:
    status = heartbeat_status(started_at=100.0, last_seen=last_seen, now=now, allowed=30.0)
    assert status["ok"] is ok
    assert status["missing_after_seconds"] == 30.0


def test_local_heartbeat_is_scaled_like_the_other_timers_with_a_floor() -> None:
    spec = HeartbeatSpec()
    # Given real time (scale 1), the local heartbeat beats as the schedule does and is missing when the alarm fires
    assert heartbeat_interval(spec, 1.0) == spec.every_minutes * 60
    assert (
        missing_after(heartbeat_interval(spec, 1.0), spec.missing_periods)
        == spec.every_minutes * 60 * spec.missing_periods
    )
    # And scaled down, not more often than every MIN_HEARTBEAT_SECONDS
    assert heartbeat_interval(spec, 0.01) == MIN_HEARTBEAT_SECONDS


def test_ops_section_is_validated(tmp_path: Path) -> None:
    # Given the shipped config with a phone number that SNS cannot text
    for name in ("firebell.yaml", "rules.yaml"):
        (tmp_path / name).write_text((CONFIG_DIR / name).read_text())
    text = (tmp_path / "firebell.yaml").read_text().replace('phones: ["+15550100009"]', 'phones: ["555-0100"]')
    (tmp_path / "firebell.yaml").write_text(text)

    # When it is loaded, Then the file and the path say what is wrong
    with pytest.raises(ConfigError, match=r"firebell.yaml: ops.phones\[0\]: String should match pattern"):
        load_config(tmp_path)


def test_shipped_config_names_ops_subscribers(shipped_config) -> None:
    assert shipped_config.directory.ops.emails and shipped_config.directory.ops.phones
