"""Classify, escalate, notify, acknowledge: the escalation state machine runs for real (moto executes the ASL)."""

import json
import time

import pytest

from tests.integration.conftest import Pipeline, load_event


def open_and_classify(pipeline: Pipeline) -> dict:
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))
    assert pipeline.deliver("classify", "classify") == {"batchItemFailures": []}
    status, incident = pipeline.api("GET", "/incidents/INC-1")
    assert status == 200
    return incident


def wait_for_status(pipeline: Pipeline, execution_arn: str, wanted: str, seconds: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if pipeline.execution_status(execution_arn) == wanted:
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError(f"execution not {wanted} after {seconds}s: {pipeline.execution_status(execution_arn)}")


def to(pipeline: Pipeline, address: str) -> list[dict]:
    return [m for m in pipeline.outbox() if address in m["to"]]


def test_classification_prioritises_and_starts_the_escalation(pipeline: Pipeline) -> None:
    # Given an incident opened by the checkout load balancer's 5xx alarm
    # When classify handles the incident.opened event from its queue
    incident = open_and_classify(pipeline)

    # Then the rules kept as data classify it and the SLA clocks start at opening
    assert (incident["category"], incident["impact"], incident["urgency"], incident["priority"]) == (
        "application", "high", "medium", "P2")
    assert (incident["team"], incident["service"]) == ("platform", "checkout")
    assert incident["sla"]["response_minutes"] == 30 and incident["sla"]["resolution_minutes"] == 480
    # And the escalation workflow runs and hands level 1 to notify with a task token
    assert pipeline.execution_status(incident["escalation"]["execution_arn"]) == "RUNNING"
    page = json.loads(pipeline.queued("notify", wait_seconds=5)["Records"][0]["body"])
    assert page["type"] == "escalation.page"
    assert page["level"] == {"level": 1, "targets": ["alice"], "timeout_seconds": 300}
    assert page["task_token"]


def test_a_redelivered_opened_event_starts_no_second_escalation(pipeline: Pipeline) -> None:
    # Given a classified incident with its escalation running
    incident = open_and_classify(pipeline)
    opened = {"type": "incident.opened", "incident_id": incident["incident_id"], "reference": "INC-1",
              "occurred_at": incident["opened_at"]}
    event = load_event("sqs/classify-incident-opened.json")
    event["Records"][0]["body"] = json.dumps(opened)

    # When the same opened event is delivered again
    assert pipeline.invoke("classify", event) == {"batchItemFailures": []}

    # Then there is still exactly one execution
    machine = pipeline.resources[("state_machine", "escalation")]
    executions = pipeline.client("stepfunctions").list_executions(stateMachineArn=machine)["executions"]
    assert len(executions) == 1


def test_level_one_is_paged_by_email_and_sms_and_acknowledging_stops_the_workflow(pipeline: Pipeline) -> None:
    # Given a classified incident whose escalation has asked for level 1 to be paged
    incident = open_and_classify(pipeline)

    # When notify handles the page
    assert pipeline.deliver("notify", "notify", wait_seconds=5) == {"batchItemFailures": []}

    # Then alice gets an email and an SMS, each recorded on the timeline
    [email] = to(pipeline, "alice@example.com")
    assert email["subject"].startswith("[firebell] INC-1 P2 triggered")
    assert "https://api.example.test/prod/incidents/INC-1/acknowledge" in email["body"]
    assert len(to(pipeline, "+15550100001")) == 1
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    sent = [e["details"]["channel"] for e in timeline["items"] if e["kind"] == "notification_sent"]
    assert sorted(sent) == ["email", "sms"]

    # When alice acknowledges over the API
    status, acknowledged = pipeline.api("POST", "/incidents/INC-1/acknowledge", {"by": "alice"})

    # Then the incident is acknowledged and the workflow ends within seconds, paging nobody else
    assert status == 200 and acknowledged["status"] == "acknowledged"
    assert wait_for_status(pipeline, incident["escalation"]["execution_arn"], "SUCCEEDED", 5) < 2
    assert "task_token" not in acknowledged["escalation"]


@pytest.mark.parametrize("time_scale", [0.004])  # level 1 waits 1 s, level 2 waits 2 s
def test_unacknowledged_levels_escalate_then_page_the_incident_manager(pipeline: Pipeline) -> None:
    # Given an incident paged at level 1 that nobody acknowledges
    incident = open_and_classify(pipeline)
    pipeline.deliver("notify", "notify", wait_seconds=5)

    # When level 1's delay passes, level 2 is asked for; and when level 2's passes, the incident manager
    pipeline.deliver("notify", "notify", wait_seconds=5)
    assert len(to(pipeline, "bob@example.com")) == 1
    pipeline.deliver("notify", "notify", wait_seconds=6)

    # Then carol, the incident manager, is paged and the escalation is over
    assert len(to(pipeline, "carol@example.com")) == 1 and len(to(pipeline, "+15550100003")) == 1
    wait_for_status(pipeline, incident["escalation"]["execution_arn"], "SUCCEEDED", 5)
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    kinds = [e["kind"] for e in timeline["items"]]
    assert kinds.count("paged") == 2 and kinds[-1] == "escalation_exhausted"


def test_a_page_that_arrives_after_the_acknowledgement_pages_nobody(pipeline: Pipeline) -> None:
    # Given an incident acknowledged before notify got to its level-1 page
    incident = open_and_classify(pipeline)
    pending_page = pipeline.queued("notify", wait_seconds=5)
    pipeline.api("POST", "/incidents/INC-1/acknowledge", {"by": "alice"})

    # When notify handles that page
    assert pipeline.invoke("notify", pending_page) == {"batchItemFailures": []}

    # Then nobody is paged and the workflow is stopped with the page's own token
    assert pipeline.outbox() == []
    wait_for_status(pipeline, incident["escalation"]["execution_arn"], "SUCCEEDED", 5)


def test_resolution_tells_stakeholders_and_those_paged(pipeline: Pipeline) -> None:
    # Given an incident whose level 1 was paged
    open_and_classify(pipeline)
    pipeline.deliver("notify", "notify", wait_seconds=5)

    # When a responder resolves it with notes
    status, resolved = pipeline.api("POST", "/incidents/INC-1/resolve", {"by": "alice", "resolution_notes": "Rolled back release 2026.11.22-1"})
    assert status == 200 and resolved["status"] == "resolved"

    # Then notify hears incident.resolved and emails the stakeholder and alice, with the notes
    pipeline.deliver("notify", "notify", wait_seconds=5)
    [stakeholder] = to(pipeline, "dave@example.com")
    assert "resolved" in stakeholder["subject"] and "Rolled back release" in stakeholder["body"]
    assert len(to(pipeline, "alice@example.com")) == 2
