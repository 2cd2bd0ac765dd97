"""Single-flight escalation under concurrency: people acknowledging, noting, resolving, reopening and reassigning
one incident at once, through three API containers, while the escalation really runs (moto executes the ASL)
and notify pages whatever it asks for. Never two escalation runs at once; no page while the incident is not
triggered."""

from __future__ import annotations

import json
import random
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from infra.local.demo import wait_for
from infra.local.lambdas import LocalFunction
from infra.topology import TOPOLOGY
from tests.integration.conftest import Pipeline, cognito_claims, load_event

THREADS = 20
ACTIONS_PER_THREAD = 6
PAGE_REASONS = ("level ", "nobody acknowledged")


@pytest.fixture
def time_scale() -> float:
    return 0.005  # level 1 waits 1.5 s, level 2 3 s: the runs page and escalate while people act


class NotifyPoller(threading.Thread):
    """notify's event source mapping and the outbox relay's schedule, while the test runs."""

    def __init__(self, pipeline: Pipeline) -> None:
        super().__init__(daemon=True)
        self.pipeline = pipeline
        self.function = LocalFunction(TOPOLOGY.function("notify"))
        self.relay = LocalFunction(TOPOLOGY.function("outbox"))
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            event = self.pipeline.queued("notify", wait_seconds=0.2)
            if event["Records"]:
                self.function.invoke(event)
            self.relay.invoke({})


STOPPED_PAGING: list[tuple[datetime, str]] = []  # when an acknowledge or resolve answered 200


def act(pipeline: Pipeline, api: LocalFunction, action: str, who: str) -> int:
    from infra.local.http_api import proxy_event

    body = {
        "acknowledge": {},
        "notes": {"text": f"{who} looking"},
        "resolve": {"resolution_notes": "restarted"},
        "reopen": {"reason": "still broken"},
        "reassign": {"to": random.choice(["alice", "bob", "erin"])},
    }[action]
    event = proxy_event(
        "POST",
        f"/incidents/INC-1/{action}",
        {"Content-Type": "application/json"},
        json.dumps(body).encode(),
        "198.51.100.7",
    )
    event["requestContext"]["authorizer"] = {"claims": cognito_claims(who)}  # signed in as `who`
    status = api.invoke(event)["statusCode"]
    if status == 200 and action in ("acknowledge", "resolve"):
        STOPPED_PAGING.append((datetime.now(UTC), action))
    return status


def escalation_runs(pipeline: Pipeline, incident_id: str) -> list[dict]:
    sfn = pipeline.client("stepfunctions")
    machine = pipeline.resources[("state_machine", "escalation")]
    runs = [
        sfn.describe_execution(executionArn=e["executionArn"])
        for e in sfn.list_executions(stateMachineArn=machine)["executions"]
    ]
    return sorted(
        (r for r in runs if json.loads(r["input"])["incident_id"] == incident_id), key=lambda r: r["startDate"]
    )


@pytest.fixture
def run_calls(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, str, str]]:
    """When firebell started and stopped escalation runs: (monotonic time, "start" | "stop", execution name).
    moto stamps an aborted run's stopDate only when its worker thread notices, so its dates cannot tell."""
    from firebell.adapters import aws

    calls: list[tuple[float, str, str]] = []
    lock = threading.Lock()
    start, stop = aws.StepFunctionsWorkflows.start, aws.StepFunctionsWorkflows.stop

    def recorded_start(self, machine, name, payload):  # type: ignore[no-untyped-def]
        arn = start(self, machine, name, payload)
        if machine == "escalation":
            with lock:
                calls.append((time.monotonic(), "start", name))
        return arn

    def recorded_stop(self, execution_id, cause):  # type: ignore[no-untyped-def]
        with lock:  # recorded before the call: a stop counts from when it was asked for
            calls.append((time.monotonic(), "stop", execution_id.rsplit(":", 1)[1]))
        return stop(self, execution_id, cause)

    monkeypatch.setattr(aws.StepFunctionsWorkflows, "start", recorded_start)
    monkeypatch.setattr(aws.StepFunctionsWorkflows, "stop", recorded_stop)
    return calls


def test_mixed_commands_from_many_threads_never_run_two_escalations_and_page_only_while_triggered(
    pipeline: Pipeline, run_calls: list[tuple[float, str, str]]
) -> None:
    # Given an incident whose escalation is running, and notify paging whatever it asks for
    STOPPED_PAGING.clear()
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))
    assert pipeline.deliver("classify", "classify") == {"batchItemFailures": []}
    poller = NotifyPoller(pipeline)
    poller.start()
    wait_for("level 1 paged", lambda: [m for m in pipeline.outbox() if "level 1" in json.dumps(m)], 30)
    apis = [LocalFunction(TOPOLOGY.function("api")) for _ in range(3)]  # three containers
    rng = random.Random(7)
    plans = [
        [rng.choice(["acknowledge", "notes", "resolve", "reopen", "reassign"]) for _ in range(ACTIONS_PER_THREAD)]
        for _ in range(THREADS)
    ]

    # When 20 people act on it at once through three API containers
    def person(n: int) -> list[int]:
        statuses = []
        for action in plans[n]:
            statuses.append(act(pipeline, apis[n % 3], action, ["alice", "bob", "erin", "carol"][n % 4]))
            time.sleep(rng.uniform(0, 0.05))  # people are not a tight loop; the escalation keeps running meanwhile
        return statuses

    try:
        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            statuses = [s for result in pool.map(person, range(THREADS)) for s in result]
        # And finally somebody resolves it, and the escalation's levels would have been due twice over
        final = act(pipeline, apis[0], "resolve", "carol")
        status, incident = pipeline.api("GET", "/incidents/INC-1")
        if incident["status"] != "resolved":
            assert final == 200
        wait_for(
            "every escalation run over after the resolution",
            lambda: not any(r["status"] == "RUNNING" for r in escalation_runs(pipeline, incident["incident_id"])),
            30,
        )
    finally:
        poller.stopping.set()
        poller.join(timeout=10)

    # Then every answer was a decision, never a server error
    assert set(statuses) <= {200, 201, 409}, sorted(set(statuses))
    # And the escalation runs never overlapped: whenever a run was started, every earlier run had been stopped
    running: set[str] = set()
    starts = 0
    for _, call, name in sorted(run_calls):
        if call == "start":
            assert not running - {name}, f"{name} started while {running} still ran"
            running.add(name)
            starts += 1
        else:
            running.discard(name)
    assert starts >= 2  # reopening started new runs
    assert all(r["status"] != "RUNNING" for r in escalation_runs(pipeline, incident["incident_id"]))
    # And every page was sent right after its incident was seen triggered, at a version where the timeline (the
    # same transactions, replayed in version order) says it was triggered
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    status_at: dict[int, str] = {}
    for entry in sorted((e for e in timeline["items"] if e["version"] is not None), key=lambda e: e["version"]):
        changed = {
            "opened": "triggered",
            "reopened": "triggered",
            "retriggered": "triggered",
            "escalated": "triggered",
            "acknowledged": "acknowledged",
            "on_hold": "on_hold",
            "resumed": "acknowledged",
            "resolved": "resolved",
            "closed": "closed",
        }.get(entry["kind"])
        if changed:
            status_at[entry["version"]] = changed

    def status(version: int) -> str:
        return status_at[max(v for v in status_at if v <= version)]

    pages = [
        e
        for e in timeline["items"]
        if e["kind"] == "notification_sent" and e["details"]["why"].startswith(PAGE_REASONS)
    ]
    assert pages, "the escalation paged nobody: the test proves nothing"
    assert [p["message"] for p in pages if status(p["details"]["checked_version"]) != "triggered"] == []
    # And after the last resolution answered, nobody was paged at all
    last_answer = max(answered for answered, action in STOPPED_PAGING if action == "resolve")
    assert [p["message"] for p in pages if datetime.fromisoformat(p["details"]["checked_at"]) > last_answer] == []
