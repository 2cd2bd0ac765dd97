"""Integration fixture: the real topology rendered onto moto's in-process mock, handlers invoked directly
with Lambda-shaped events (from events/ or read off the real queues)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from firebell import wiring
from firebell.config import load_config
from firebell.container import running_as
from infra.local.demo import changed_now
from infra.local.http_api import proxy_event
from infra.local.iam import enforce, stop_enforcing
from infra.local.lambdas import LocalFunction
from infra.local.moto_patches import install_local_patches
from infra.local.render import (
    REGION,
    captured_outbox,
    common_environment,
    own_environment,
    peek_dead_letters,
    render_topology,
    sqs_lambda_record,
)
from infra.topology import CONFIG_DIR, ROOT, TOPOLOGY

EVENTS = ROOT / "events"
PEOPLE = {p.id: p for p in load_config(CONFIG_DIR).directory.people}
CONTACTS = {p.id: (p.email, p.phone) for p in PEOPLE.values()}
MACHINE = "machine"
# What a SigV4-signing client sends (the local gateway checks no signature: infra/local/http_api.py).
SIGV4 = (
    "AWS4-HMAC-SHA256 Credential=AKIDLOCAL/20261201/us-east-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=0000"
)


def cognito_claims(person: str) -> dict[str, str]:
    """What API Gateway's Cognito authorizer hands the function for this config person's ID token: every claim a
    string, the groups (their roles) comma-separated as a REST API passes them."""
    found = PEOPLE[person]
    return {
        "sub": f"sub-{person}",
        "email": found.email or f"{person}@example.com",
        "token_use": "id",
        "cognito:groups": ",".join(role.value for role in found.roles),
    }


def load_event(relative: str) -> dict[str, Any]:
    return json.loads((EVENTS / relative).read_text())


def another_copy(event: dict[str, Any]) -> dict[str, Any]:
    """The same alarm notification published again: a new SNS MessageId (a redelivery keeps the old one)."""
    for record in event["Records"]:
        body = json.loads(record["body"])
        body["MessageId"] = str(uuid.uuid4())
        record["body"] = json.dumps(body)
        record["messageId"] = str(uuid.uuid4())
    return event


@dataclass
class Pipeline:
    resources: dict[tuple[str, str], str]
    iam: Any = None  # infra.local.iam.LocalIam: what each function's role allows, and what it denied

    def client(self, service: str) -> Any:
        return boto3.client(service, region_name=REGION)

    def built_for(self, function: str, build):
        """What `build` (a wiring builder) gives inside `function`'s container (e.g. to watch or patch it)."""
        environment = {**os.environ, **own_environment(TOPOLOGY.function(function), self.resources)}
        with running_as(function, environment):
            return build()

    def invoke(self, function: str, event: dict) -> Any:
        return LocalFunction(TOPOLOGY.function(function), self.resources).invoke(event)

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw_body: str | None = None,
        as_: str | None = MACHINE,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """`as_`: MACHINE (SigV4, an IAM principal: may call anything), a config person's id (signed in with Cognito,
        their config roles as groups), or None (no credentials)."""
        return self.api_response(method, path, body, raw_body, as_, headers)[:2]

    def api_response(
        self,
        method: str,
        path: str,
        body: Any = None,
        raw_body: str | None = None,
        as_: str | None = MACHINE,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, Any]]:
        payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else "")
        sent = {
            "Content-Type": "application/json",
            **({"Authorization": SIGV4} if as_ == MACHINE else {}),
            **(headers or {}),
        }
        # As API Gateway hands it over at the URL the topology is rendered with (its stage in requestContext.path):
        # the pages the api sends link back there, as the other functions' do.
        event = proxy_event(
            method,
            path,
            sent,
            payload.encode(),
            "198.51.100.7",
            domain="api.example.test",
            scheme="https",
            base_path="/prod",
        )
        if as_ not in (None, MACHINE):
            event["requestContext"]["authorizer"] = {"claims": cognito_claims(as_)}
        response = self.invoke("api", event)
        try:
            answer = json.loads(response["body"]) if response.get("body") else None
        except ValueError:  # a page (the acknowledgement link's), a calendar
            answer = response["body"]
        return response["statusCode"], answer, response

    def queued(self, queue: str, wait_seconds: float = 0.0, expect: int = 1) -> dict[str, Any]:
        """Take what is on a queue as one Lambda SQS event (waiting up to `wait_seconds` for `expect` messages)."""
        sqs = self.client("sqs")
        deadline = time.monotonic() + wait_seconds
        messages: list[dict] = []
        while True:
            # SQS long polling waits for a message itself (up to 20 s a call), so no pause is needed here.
            remaining = deadline - time.monotonic()
            messages += sqs.receive_message(
                QueueUrl=self.resources[("queue_url", queue)],
                MaxNumberOfMessages=10,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
                WaitTimeSeconds=min(20, max(0, math.ceil(remaining))),
            ).get("Messages", [])
            if len(messages) >= expect or time.monotonic() >= deadline:
                break
        return {"Records": [sqs_lambda_record(m, self.resources[("queue_arn", queue)]) for m in messages]}

    def queued_about(self, queue: str, incident_id: str) -> list[dict[str, Any]]:
        """What is on a queue about one incident. Queues keep their names from test to test, and an execution an
        earlier test stopped may finish the send it was making (seen on a busy machine): a test that says
        "nothing was sent" means about its own incident."""
        return [r for r in self.queued(queue)["Records"] if json.loads(r["body"]).get("incident_id") == incident_id]

    def deliver(self, queue: str, function: str, wait_seconds: float = 0.0, expect: int = 1) -> dict[str, Any]:
        """What the event source mapping does: hand the queue's messages to the function."""
        event = self.queued(queue, wait_seconds, expect)
        assert event["Records"], f"nothing arrived on {queue}"
        return self.invoke(function, event)

    def outbox(self) -> list[dict[str, Any]]:
        return captured_outbox()

    def dead_letters(self) -> dict[str, list[dict[str, Any]]]:
        return peek_dead_letters(TOPOLOGY, self.resources)

    def execution_status(self, execution_arn: str) -> str:
        return self.client("stepfunctions").describe_execution(executionArn=execution_arn)["status"]

    def publish_alarm(self, relative: str) -> None:
        """The shipped notification as its alarm's action publishes it now."""
        self.client("sns").publish(
            TopicArn=self.resources[("topic", "alarms")], Message=json.dumps(changed_now(load_event(relative)))
        )


@pytest.fixture
def time_scale() -> float:
    """Escalation delays × this; 1.0 keeps the real minutes so no level times out during a test."""
    return 1.0


@pytest.fixture
def pipeline(monkeypatch: pytest.MonkeyPatch, time_scale: float) -> Iterator[Pipeline]:
    for variable in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "MOTO_PORT"):
        monkeypatch.delenv(variable, raising=False)
    for variable, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        # As deployed: without a namespace powertools raises once 100 values of one metric pile up.
        "POWERTOOLS_METRICS_NAMESPACE": "firebell",
        # What the local runtime gives the api function for its sign-in (infra/local/runtime.py).
        "FIREBELL_SESSION_SECRET": "integration-test-session-secret",
    }.items():
        monkeypatch.setenv(variable, value)
    install_local_patches()
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        resources = render_topology(TOPOLOGY, CONFIG_DIR, "https://api.example.test/prod")
        for variable, value in common_environment(Path(CONFIG_DIR), time_scale).items():
            monkeypatch.setenv(variable, value)
        # Each function runs with its own environment and may call only what its role allows (infra/local/iam.py):
        # a missing grant or variable fails these tests, not a deploy.
        pipeline_iam = enforce(TOPOLOGY, resources)
        wiring.reset()
        pipeline = Pipeline(resources, pipeline_iam)
        yield pipeline
        stop_enforcing()
        assert pipeline_iam.denied == [], f"calls outside the functions' roles: {pipeline_iam.denied}"
        # Executions a test started end with it: their threads outlive mock_aws and would otherwise send
        # into the next test's (identically named) queues.
        sfn = pipeline.client("stepfunctions")
        for machine in sfn.list_state_machines()["stateMachines"]:
            for execution in sfn.list_executions(stateMachineArn=machine["stateMachineArn"], statusFilter="RUNNING")[
                "executions"
            ]:
                with contextlib.suppress(Exception):
                    sfn.stop_execution(executionArn=execution["executionArn"])
    wiring.reset()
