"""The one reopen rule, at a local time scale, through the real topic, queues and resolution state machine: an
alarm returning while its incident is resolved (the confirmation window open) reopens that incident; once the
window has closed it, the alarm's next firing opens a new incident."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from firebell.config import load_config
from firebell.domain.escalation import scaled_timeout
from infra.local.demo import wait_for
from infra.topology import CONFIG_DIR
from tests.integration.conftest import Pipeline

TIME_SCALE = 0.002  # the confirmation window (60 min) lasts 7 s
WINDOW_MINUTES = load_config(CONFIG_DIR).rules.process.confirmation_window_minutes
# The flapping window that used to decide instead (30 min, 3.6 s here): an alarm returning after it but inside
# the confirmation window opened a new incident, though the README said it reopens.
OLD_FLAPPING_WINDOW = timedelta(minutes=30 * TIME_SCALE)


@pytest.fixture
def time_scale() -> float:
    return TIME_SCALE


def publish(pipeline: Pipeline, state: str) -> None:
    pipeline.publish_alarm(f"cloudwatch/alarm-state-{state}.json")
    assert pipeline.deliver("intake", "intake", wait_seconds=5) == {"batchItemFailures": []}


def incident(pipeline: Pipeline, reference: str) -> dict:
    status, body = pipeline.api("GET", f"/incidents/{reference}")
    assert status == 200
    return body


def references(pipeline: Pipeline) -> list[str]:
    _, page = pipeline.api("GET", "/incidents")
    return sorted(i["reference"] for i in page["items"])


def window_seconds(pipeline: Pipeline, execution_arn: str) -> int:
    described = pipeline.client("stepfunctions").describe_execution(executionArn=execution_arn)
    return json.loads(described["input"])["confirmation_seconds"]


def notify_what_arrives(pipeline: Pipeline) -> None:
    """What notify's event source mapping does, once: the resolution machine's messages reach notify."""
    event = pipeline.queued("notify")
    if event["Records"]:
        assert pipeline.invoke("notify", event) == {"batchItemFailures": []}


def test_an_alarm_returning_inside_the_window_reopens_and_after_it_opens_a_new_incident(pipeline: Pipeline) -> None:
    # Given INC-1 opened by an alarm and resolved by its OK: the resolution machine runs the rules' window, scaled
    publish(pipeline, "alarm")
    publish(pipeline, "ok")
    resolved = incident(pipeline, "INC-1")
    assert resolved["status"] == "resolved"
    assert (
        window_seconds(pipeline, resolved["resolution"]["execution_arn"])
        == scaled_timeout(WINDOW_MINUTES, TIME_SCALE)
        == 7
    )

    # When the alarm fires again after what used to be the flapping window, while the confirmation window is open
    resolved_at = datetime.fromisoformat(resolved["resolved_at"])
    wait_for("the old flapping window to pass", lambda: datetime.now(UTC) - resolved_at > OLD_FLAPPING_WINDOW, 30)
    assert incident(pipeline, "INC-1")["status"] == "resolved"  # nothing closes it before notify handles the timeout
    publish(pipeline, "alarm")

    # Then the same incident is reopened: no new incident
    reopened = incident(pipeline, "INC-1")
    assert (reopened["status"], reopened["reopened_count"]) == ("triggered", 1)
    assert references(pipeline) == ["INC-1"]

    # When it recovers again and this time the confirmation window runs out
    publish(pipeline, "ok")
    wait_for(
        "the window to close INC-1",
        lambda: notify_what_arrives(pipeline) or incident(pipeline, "INC-1")["status"] == "closed",
        60,
    )

    # Then the alarm's next firing opens a new incident
    publish(pipeline, "alarm")
    assert references(pipeline) == ["INC-1", "INC-2"]
    assert incident(pipeline, "INC-2")["status"] == "triggered"
    assert pipeline.dead_letters()["intake-dlq"] == []
