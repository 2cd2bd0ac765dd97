"""The walking skeleton end to end: the local runtime driven over SNS (the AWS endpoint) and HTTP only."""

import contextlib
import json
import subprocess
import sys

from infra.local.demo import Demo, contacts, http, level_timeouts, local_aws_client, wait_for
from infra.topology import CONFIG_DIR, ROOT
from tests.e2e.conftest import TIME_SCALE, RunningPipeline


def test_the_demo_scenario_happens_step_by_step(local_pipeline: RunningPipeline) -> None:
    # Given the pipeline running locally with timers scaled down
    demo = Demo(
        local_pipeline.api_url,
        local_pipeline.aws_url,
        local_pipeline.resources["topic:alarms"],
        level_timeouts(CONFIG_DIR, TIME_SCALE),
        out=lambda line: None,
    )

    # When a CloudWatch alarm fires, nobody answers level 1, bob acknowledges, and the alarm recovers
    reference = demo.play()

    # Then every step of the demo happened
    assert len(demo.steps_passed) == 9, demo.steps_passed
    # And the timeline tells the whole story in order
    _, timeline = http("GET", f"{local_pipeline.api_url}/incidents/{reference}/timeline")
    kinds = [entry["kind"] for entry in timeline["items"]]
    assert kinds[:3] == ["opened", "classified", "escalation_started"]
    assert kinds.count("paged") == 2
    assert kinds.index("acknowledged") > max(i for i, k in enumerate(kinds) if k == "paged")
    assert kinds.index("resolved") > kinds.index("acknowledged")
    assert "escalation_exhausted" not in kinds
    # And the outbox holds exactly the pages and the resolution notices (bob's says the review is his: one email
    # for the one event), never the incident manager
    _, on_call = http("GET", f"{local_pipeline.api_url}/schedules/platform-primary/on-call")
    primary_email, primary_phone = contacts(CONFIG_DIR)[on_call["person"]["id"]]
    expected = sorted(
        [
            ("email", primary_email),
            ("sms", primary_phone),
            ("email", "bob@example.com"),
            ("sms", "+15550100002"),
            ("email", "dave@example.com"),
            ("email", primary_email),
            ("email", "bob@example.com"),
        ]
    )

    def recipients() -> list[tuple[str, str]]:
        return sorted(
            (m["channel"], m["to"][0]) for m in http("GET", f"{local_pipeline.api_url}/_local/outbox")[1]["items"]
        )

    # (the last notices are sent asynchronously by the resolution and review workflows: wait for them)
    with contextlib.suppress(AssertionError):
        wait_for("every notice sent", lambda: recipients() == expected, 15)
    assert recipients() == expected
    outbox = http("GET", f"{local_pipeline.api_url}/_local/outbox")[1]["items"]
    assert any("the post-incident review is yours" in m["body"] for m in outbox if m["to"] == ["bob@example.com"])
    # And the incident ends resolved automatically, its escalation workflow stopped
    _, incident = http("GET", f"{local_pipeline.api_url}/incidents/{reference}")
    assert (incident["status"], incident["auto_resolved"], incident["acknowledged_by"]) == ("resolved", True, "bob")
    sfn = local_aws_client("stepfunctions", local_pipeline.aws_url)
    assert sfn.describe_execution(executionArn=incident["escalation"]["execution_arn"])["status"] == "ABORTED"
    assert incident["review"]["owner"] == "bob" and incident["review"]["completed_at"] is None


def test_an_unreadable_alarm_lands_in_the_dlq_with_its_reason(local_pipeline: RunningPipeline) -> None:
    # Given a tool that publishes something that is not a CloudWatch alarm to the alarms topic
    sns = local_aws_client("sns", local_pipeline.aws_url)
    sns.publish(TopicArn=local_pipeline.resources["topic:alarms"], Message=json.dumps({"AlarmName": "half-an-alarm"}))

    # When intake has had its go at it
    demo = Demo(local_pipeline.api_url, local_pipeline.aws_url, "", [1, 1], out=lambda line: None)
    dead = demo._wait_for(
        "dead letter",
        lambda: http("GET", f"{local_pipeline.api_url}/_local/dead-letters")[1]["queues"]["intake-dlq"]["messages"],
        15,
    )

    # Then it waits in the intake DLQ, saying which fields were missing
    assert "half-an-alarm" in dead[0]["body"]
    assert "AWSAccountId: Field required" in dead[0]["reason"]


def test_bad_http_input_gets_a_4xx_json_error(local_pipeline: RunningPipeline) -> None:
    status, error = http("POST", f"{local_pipeline.api_url}/incidents", {"reporter": "me"})
    assert status == 422 and error["fields"][0]["field"] == "body.title"
    status, error = http("POST", f"{local_pipeline.api_url}/incidents/INC-424242/acknowledge", {"by": "me"})
    assert status == 422 and error["fields"] == [{"field": "body.by", "problem": "Extra inputs are not permitted"}]
    status, error = http("POST", f"{local_pipeline.api_url}/incidents/INC-424242/acknowledge", as_="bob")
    assert status == 404 and error["error"] == "incident_not_found"
    status, error = http("GET", f"{local_pipeline.api_url}/incidents", as_=None)
    assert status == 401 and error["error"] == "unauthenticated"


def test_the_cli_refuses_ports_in_use_with_a_clear_message(local_pipeline: RunningPipeline) -> None:
    # When a second runtime is started on the same ports
    api_port = local_pipeline.api_url.rsplit(":", 1)[1]
    result = subprocess.run(
        [sys.executable, "-m", "infra.local", "--demo-only", f"--api-port={api_port}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )

    # Then it exits non-zero and says which port and how to choose another
    assert result.returncode == 2
    assert f"port {api_port}" in result.stderr and "--api-port" in result.stderr
