"""The heartbeat through the real intake path under moto: the schedule's message on the intake queue, handed to
intake as the event source mapping would, is counted and leaves no incident, no announcement and no dead letter."""

import json

from firebell import heartbeat
from infra.local.render import ACCOUNT_ID, REGION
from tests.integration.conftest import Pipeline


def test_heartbeat_on_the_intake_queue_opens_no_incident(pipeline: Pipeline) -> None:
    # Given the heartbeat the schedule's rule puts on the intake queue
    seen_before, _ = heartbeat.seen()
    message = heartbeat.heartbeat_event(partition="aws", region=REGION, account=ACCOUNT_ID, time="2026-12-01T10:00:00Z")
    pipeline.client("sqs").send_message(
        QueueUrl=pipeline.resources[("queue_url", "intake")], MessageBody=json.dumps(message)
    )

    # When intake takes it from the queue
    response = pipeline.deliver("intake", "intake")

    # Then it succeeded, was seen, and left no trace in the pipeline
    assert response == {"batchItemFailures": []}
    assert heartbeat.seen()[0] == seen_before + 1
    status, page = pipeline.api("GET", "/incidents")
    assert (status, page["items"]) == (200, [])
    assert pipeline.queued("classify")["Records"] == []
    assert pipeline.dead_letters()["intake-dlq"] == []
