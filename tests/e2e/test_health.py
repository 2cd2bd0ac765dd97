"""GET /_local/health on the local runtime, started as a user starts it: the stack's self-monitoring checks,
measured locally. A pipeline of its own: the test makes it unhealthy on purpose."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.demo import http, local_aws_client, wait_for
from infra.monitoring import checks
from infra.topology import ROOT, TOPOLOGY
from tests.e2e.conftest import TIME_SCALE, RunningPipeline, running_pipeline

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def pipeline() -> Iterator[RunningPipeline]:
    with running_pipeline(ROOT / "config", TIME_SCALE) as running:
        yield running


def health(pipeline: RunningPipeline) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{pipeline.api_url}/_local/health", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["name"]: c for c in report["checks"]}


def test_healthy_at_start_with_every_check_reported(pipeline: RunningPipeline) -> None:
    # When we ask a freshly started runtime
    status, report = health(pipeline)

    # Then it is healthy, and reports every check the stack alarms on
    assert (status, report["ok"], report["failing"]) == (200, True, []), report["failing"]
    assert set(by_name(report)) == {c.name for c in checks(TOPOLOGY)}
    for queue in TOPOLOGY.queues:
        assert by_name(report)[f"{TOPOLOGY.dlq_name(queue.name)}-depth"]["value"] == 0
    # And what cannot be measured on moto says so instead of claiming health
    unobservable = {c["name"] for c in report["checks"] if not c["observable"]}
    assert {"sms-failures", "email-bounces", "email-bounce-rate"} <= unobservable
    assert all(
        c["ok"] is None and "not observable locally" in c["detail"] for c in report["checks"] if not c["observable"]
    )


def test_heartbeat_reaches_intake(pipeline: RunningPipeline) -> None:
    # Then the runtime's heartbeat timer has gone through the intake queue and intake counted it
    def seen() -> dict[str, Any] | None:
        check = by_name(health(pipeline)[1])["heartbeat-missing"]
        return check if check["seen"] >= 1 else None

    beat = wait_for("a heartbeat seen by intake", seen, 30)
    assert beat["ok"] is True and beat["sent"] >= 1 and beat["last_seen_seconds_ago"] is not None
    # And it opened no incident
    status, page = http("GET", f"{pipeline.api_url}/incidents")
    assert status == 200 and page["items"] == []


def test_a_dead_letter_turns_health_503_naming_the_queue(pipeline: RunningPipeline) -> None:
    # Given a healthy runtime
    assert health(pipeline)[0] == 200
    # When a message intake can never process arrives on its queue (intake dead-letters it with the reason)
    sqs = local_aws_client("sqs", pipeline.aws_url)
    sqs.send_message(QueueUrl=pipeline.resources["queue_url:intake"], MessageBody="this is not an alarm")

    # Then health turns 503 and names the intake DLQ
    def unhealthy() -> dict[str, Any] | None:
        status, report = health(pipeline)
        return report if status == 503 else None

    report = wait_for("health to answer 503", unhealthy, 30)
    assert report["ok"] is False and report["failing"] == ["intake-dlq-depth"]
    assert by_name(report)["intake-dlq-depth"]["subject"] == "intake-dlq"
    assert by_name(report)["intake-dlq-depth"]["value"] == 1
