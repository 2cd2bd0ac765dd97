"""The local dead-letters view (GET /_local/dead-letters) shows every message in every DLQ, with its reason and
receive count, a count per queue, and consumes nothing: also past the 10 one ReceiveMessage returns, and also
for a message the redrive policy moved after the function kept crashing (no reason attribute)."""

from __future__ import annotations

import json

from infra.local.render import dead_letters_view
from infra.topology import TOPOLOGY

from .conftest import Pipeline

POISON = 12  # more than one ReceiveMessage can return


def crash_on(pipeline: Pipeline, queue: str, body: str) -> None:
    """A message whose function crashes on every receive: received and never deleted, as the event source mapping
    does when the invocation fails, until the queue's redrive policy moves it to the DLQ."""
    sqs = pipeline.client("sqs")
    url = pipeline.resources[("queue_url", queue)]
    sqs.send_message(QueueUrl=url, MessageBody=body)
    for _ in range(TOPOLOGY.queue(queue).max_receive_count):
        (received,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"]
        assert received["Body"] == body
    # The receive after the last allowed one is when SQS moves it.
    assert sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0).get("Messages", []) == []


def test_every_dead_letter_is_shown_with_its_reason_and_none_is_consumed(pipeline: Pipeline) -> None:
    # Given 12 alarms intake cannot read (dead-lettered by its batch processor, with reasons)
    sqs = pipeline.client("sqs")
    for n in range(POISON):
        sqs.send_message(QueueUrl=pipeline.resources[("queue_url", "intake")], MessageBody=f"not json {n}")
    assert pipeline.deliver("intake", "intake", wait_seconds=10, expect=POISON) == {"batchItemFailures": []}
    # and one incident.opened on which classify kept crashing (moved by the redrive policy, no reason)
    crash_on(pipeline, "classify", json.dumps({"type": "incident.opened", "incident_id": "01CRASH"}))

    # When the view is read twice
    first = dead_letters_view(TOPOLOGY, pipeline.resources)
    second = dead_letters_view(TOPOLOGY, pipeline.resources)

    # Then it shows all 13, counted per queue, and reading changed nothing (same messages, same receive counts)
    assert first == second
    assert first["total"] == POISON + 1
    intake = first["queues"]["intake-dlq"]
    assert intake["count"] == POISON == len(intake["messages"])
    assert sorted(m["body"] for m in intake["messages"]) == sorted(f"not json {n}" for n in range(POISON))
    assert all(
        m["reason"].startswith("ValidationError (IntakeMessage): (top level): Invalid JSON") and m["reason_recorded"]
        for m in intake["messages"]
    )
    assert all(m["receive_count"] == 1 for m in intake["messages"])
    assert {m["source"] for m in intake["messages"]} == {pipeline.resources[("queue_arn", "intake")]}

    classify = first["queues"]["classify-dlq"]
    assert classify["count"] == 1
    (crashed,) = classify["messages"]
    receives = TOPOLOGY.queue("classify").max_receive_count
    assert crashed["receive_count"] == receives
    assert not crashed["reason_recorded"]
    assert crashed["reason"].startswith(f"moved by the redrive policy after {receives} receives (no reason recorded")

    assert first["queues"]["notify-dlq"] == {"count": 0, "messages": []}
    # And the messages are still on their queues for whoever redrives them
    attributes = sqs.get_queue_attributes(
        QueueUrl=pipeline.resources[("queue_url", "intake-dlq")], AttributeNames=["All"]
    )["Attributes"]
    assert int(attributes["ApproximateNumberOfMessages"]) == POISON
    assert int(attributes["ApproximateNumberOfMessagesNotVisible"]) == 0
