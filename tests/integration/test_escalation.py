"""Classify, escalate, notify, acknowledge: the escalation state machine runs for real (moto executes the ASL)."""

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from firebell import wiring
from infra.local.demo import wait_for
from tests.integration.conftest import CONTACTS, Pipeline, load_event


def open_and_classify(pipeline: Pipeline) -> dict:
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))
    assert pipeline.deliver("classify", "classify") == {"batchItemFailures": []}
    status, incident = pipeline.api("GET", "/incidents/INC-1")
    assert status == 200
    return incident


def wait_for_status(pipeline: Pipeline, execution_arn: str, wanted: str, seconds: float) -> None:
    wait_for(f"execution {wanted}", lambda: pipeline.execution_status(execution_arn) == wanted, seconds)


def to(pipeline: Pipeline, address: str) -> list[dict]:
    return [m for m in pipeline.outbox() if address in m["to"]]


def next_message(pipeline: Pipeline, message_type: str, seconds: float = 30) -> dict:
    """The next notify message of `message_type` (others, such as reminders, are left for later)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for record in pipeline.queued("notify", wait_seconds=0.5)["Records"]:
            body = json.loads(record["body"])
            if body["type"] == message_type:
                return body
    raise AssertionError(f"no {message_type} on the notify queue within {seconds}s")


def deliver_until(pipeline: Pipeline, done, seconds: float = 30, queue: str | tuple[str, ...] = "notify") -> None:
    """Play the event source mapping for `queue` (or each of several) until `done()` holds."""
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, "condition not reached"
        for name in (queue,) if isinstance(queue, str) else queue:
            event = pipeline.queued(name, wait_seconds=0.5)
            if event["Records"]:
                assert pipeline.invoke(name, event) == {"batchItemFailures": []}


def test_classification_prioritises_and_starts_the_escalation(pipeline: Pipeline) -> None:
    # Given an incident opened by the checkout load balancer's 5xx alarm
    # When classify handles the incident.opened event from its queue
    incident = open_and_classify(pipeline)

    # Then the rules kept as data classify it and the SLA clocks start at opening
    assert (incident["category"], incident["impact"], incident["urgency"], incident["priority"]) == (
        "application",
        "high",
        "medium",
        "P2",
    )
    assert (incident["team"], incident["service"]) == ("platform", "checkout")
    assert (
        incident["sla"]["response"]["target_minutes"] == 30 and incident["sla"]["resolution"]["target_minutes"] == 480
    )
    assert incident["sla_status"]["response"]["state"] == "running"
    # And the escalation workflow runs and hands level 1 to notify with a task token
    assert pipeline.execution_status(incident["escalation"]["execution_arn"]) == "RUNNING"
    page = next_message(pipeline, "escalation.page")
    assert page["level"] == {
        "level": 1,
        "targets": [{"kind": "schedule", "ref": "platform-primary"}],
        "timeout_seconds": 300,
    }
    assert page["task_token"]


def test_a_redelivered_opened_event_starts_no_second_escalation(pipeline: Pipeline) -> None:
    # Given a classified incident with its escalation running
    incident = open_and_classify(pipeline)
    opened = {
        "type": "incident.opened",
        "incident_id": incident["incident_id"],
        "reference": "INC-1",
        "occurred_at": incident["opened_at"],
    }
    event = load_event("sqs/classify-incident-opened.json")
    event["Records"][0]["body"] = json.dumps(opened)

    # When the same opened event is delivered again
    assert pipeline.invoke("classify", event) == {"batchItemFailures": []}

    # Then there is still exactly one execution
    machine = pipeline.resources[("state_machine", "escalation")]
    executions = pipeline.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1


def test_level_one_is_paged_by_email_and_sms_and_acknowledging_stops_the_workflow(pipeline: Pipeline) -> None:
    # Given an alarm's incident: level 1 is paged in the change that opens it
    open_and_classify(pipeline)

    # When notify then takes the escalation's level-1 request (it hands over the wait's task token)
    page = next_message(pipeline, "escalation.page")
    assert page["level"]["level"] == 1
    request = load_event("sqs/notify-escalation-page.json")
    request["Records"][0]["body"] = json.dumps(page)
    request["Records"][0]["eventSourceARN"] = pipeline.resources[("queue_arn", "notify")]
    assert pipeline.invoke("notify", request) == {"batchItemFailures": []}

    # Then whoever is on call for the primary schedule got one email and one SMS, each on the timeline
    _, on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")
    email_address, phone = CONTACTS[on_call["person"]["id"]]
    [email] = to(pipeline, email_address)
    assert email["subject"].startswith("[firebell] INC-1 P2 triggered")
    assert "https://api.example.test/prod/ack/" in email["body"]
    assert len(to(pipeline, phone)) == 1
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    sent = [e["details"]["channel"] for e in timeline["items"] if e["kind"] == "notification_sent"]
    assert sorted(sent) == ["email", "sms"]

    # When the responder acknowledges over the API
    status, acknowledged = pipeline.api("POST", "/incidents/INC-1/acknowledge", as_="alice")

    # Then the incident is acknowledged, its response SLA met, and the workflow stops paging at once:
    # it moves on to watching the acknowledgement (its next message is a watch, not a page)
    assert status == 200 and acknowledged["status"] == "acknowledged"
    assert acknowledged["escalation"]["task_token"] is None  # tokens never leave the backend
    assert acknowledged["sla_status"]["response"]["state"] == "met"
    # (how fast is measured in bench/state_transitions, not asserted here)
    next_message(pipeline, "escalation.watch")


@pytest.mark.parametrize("time_scale", [0.004])  # level 1 waits 1 s, level 2 waits 2 s
def test_unacknowledged_levels_escalate_then_page_the_incident_manager(pipeline: Pipeline) -> None:
    # Given an incident paged at level 1 that nobody acknowledges
    incident = open_and_classify(pipeline)

    # When level 1's delay passes, level 2 is asked for; and when level 2's passes, the incident manager
    deliver_until(pipeline, lambda: any("level 2" in m["body"] for m in to(pipeline, "bob@example.com")))
    deliver_until(pipeline, lambda: any("nobody acknowledged" in m["body"] for m in to(pipeline, "carol@example.com")))

    # Then carol, the incident manager, was paged by email and SMS, and the escalation is over
    assert to(pipeline, "+15550100003")
    wait_for_status(pipeline, incident["escalation"]["execution_arn"], "SUCCEEDED", 30)
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    kinds = [e["kind"] for e in timeline["items"]]
    assert kinds.count("paged") == 2 and "escalation_exhausted" in kinds


def test_a_page_that_arrives_after_the_acknowledgement_pages_nobody(pipeline: Pipeline) -> None:
    # Given an incident (level 1 paged when it opened) acknowledged before notify got the workflow's level-1 request
    open_and_classify(pipeline)
    page = next_message(pipeline, "escalation.page")
    pipeline.api("POST", "/incidents/INC-1/acknowledge", as_="alice")
    paged_at_opening = pipeline.outbox()
    pending_page = load_event("sqs/notify-escalation-page.json")
    pending_page["Records"][0]["body"] = json.dumps(page)
    pending_page["Records"][0]["eventSourceARN"] = pipeline.resources[("queue_arn", "notify")]

    # When notify handles that page
    assert pipeline.invoke("notify", pending_page) == {"batchItemFailures": []}

    # Then nobody more is paged, no "not paged" line is written (level 1 was), and the request's own token moves
    # the workflow on to the acknowledgement watch
    assert pipeline.outbox() == paged_at_opening
    assert "page_skipped" not in [e["kind"] for e in pipeline.api("GET", "/incidents/INC-1/timeline")[1]["items"]]
    next_message(pipeline, "escalation.watch")


def test_resolution_tells_stakeholders_and_those_paged(pipeline: Pipeline) -> None:
    # Given an incident whose level 1 was paged
    open_and_classify(pipeline)
    deliver_until(
        pipeline, lambda: "paged" in [e["kind"] for e in pipeline.api("GET", "/incidents/INC-1/timeline")[1]["items"]]
    )

    # When a responder resolves it with notes
    status, resolved = pipeline.api(
        "POST", "/incidents/INC-1/resolve", {"resolution_notes": "Rolled back release 2026.11.22-1"}, as_="alice"
    )
    assert status == 200 and resolved["status"] == "resolved"

    # Then the resolution workflow's confirmation window opens and notify tells the stakeholder and
    # the person paged, with the notes
    deliver_until(pipeline, lambda: to(pipeline, "dave@example.com"))
    [stakeholder] = to(pipeline, "dave@example.com")
    assert "resolved" in stakeholder["subject"] and "Rolled back release" in stakeholder["body"]


def test_resolving_an_acknowledged_incident_stops_its_escalation_and_sla_runs(pipeline: Pipeline) -> None:
    # Given an acknowledged incident: its escalation watches the acknowledgement (waiting for a task token) and its
    # SLA run waits for the next moment (the acknowledgement met the response target): the first stakeholder
    # update round of this P2, an hour on, before the resolution target at risk
    incident = open_and_classify(pipeline)
    deliver_until(pipeline, lambda: "paged" in [e["kind"] for e in timeline(pipeline)])
    _, acknowledged = pipeline.api("POST", "/incidents/INC-1/acknowledge", as_="alice")
    assert acknowledged["sla"]["execution_arn"].endswith("-sla-0-updates-1")
    deliver_until(pipeline, lambda: pipeline.api("GET", "/incidents/INC-1")[1]["escalation"]["watching"])

    # When it is resolved
    status, _ = pipeline.api("POST", "/incidents/INC-1/resolve", {"resolution_notes": "rolled back"}, as_="alice")
    assert status == 200

    # Then both runs are stopped (aborted) at once, not left to time out: nobody answers the watch's token
    wait_for_status(pipeline, incident["escalation"]["execution_arn"], "ABORTED", 10)
    wait_for_status(pipeline, acknowledged["sla"]["execution_arn"], "ABORTED", 10)


def timeline(pipeline: Pipeline) -> list[dict]:
    return pipeline.api("GET", "/incidents/INC-1/timeline")[1]["items"]


@pytest.mark.parametrize("time_scale", [0.004])  # level 1 waits 1 s, level 2 waits 2 s
def test_a_maintenance_window_that_starts_mid_escalation_stops_paging_until_it_ends(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """GoAlert #2594: maintenance turned on during a notification cycle did not stop it. Here level 2 falls due inside
    a window added after level 1 was paged: nobody is paged, that run ends, and the maintenance timer (a real Step
    Functions Wait) restarts the escalation from level 1 at the window's end."""
    monkeypatch.setattr(wiring, "EFFECTIVE_CONFIG_TTL_SECONDS", 0.0)  # notify sees the admin write now, not in 15 s
    incident = open_and_classify(pipeline)
    deliver_until(pipeline, lambda: [e["kind"] for e in timeline(pipeline)].count("paged") == 1)
    paged_first = {tuple(m["to"]) for m in pipeline.outbox()}

    # When a maintenance window starting now (ending in 20 s) is added while level 1 waits for an acknowledgement
    start = datetime.now(UTC) - timedelta(minutes=1)
    end = datetime.now(UTC) + timedelta(
        seconds=20
    )  # (level 2 falls due ~1 s after level 1: inside it however busy the machine)
    status, _ = pipeline.api(
        "POST",
        "/admin/services/checkout/maintenance-windows",
        {"start": start.isoformat(), "end": end.isoformat(), "reason": "failover drill"},
    )
    assert status == 201

    # Then level 2 falls due and pages nobody: bob gets nothing, the run ends
    deliver_until(pipeline, lambda: any("level 2 not paged" in e["message"] for e in timeline(pipeline)))
    assert not to(pipeline, "bob@example.com") and {tuple(m["to"]) for m in pipeline.outbox()} == paged_first
    wait_for_status(pipeline, incident["escalation"]["execution_arn"], "SUCCEEDED", 30)

    # And when the window ends, the maintenance timer wakes classify and a new run pages level 1 again
    # (moto's Wait may wake a moment early, and a page still inside the window is held again: both queues are played)
    deliver_until(
        pipeline,
        lambda: [e["kind"] for e in timeline(pipeline)].count("paged") == 2,
        seconds=60,
        queue=("classify", "notify"),
    )
    assert datetime.now(UTC) >= end - timedelta(seconds=1) and not to(pipeline, "bob@example.com")
    assert pipeline.api("GET", "/incidents/INC-1")[1]["escalation"]["runs"] >= 2
