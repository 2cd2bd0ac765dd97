"""Locally, each function's AWS calls are held to the role the stack gives it (derived from the use cases it
runs), and it sees only its own environment: what would fail after `cdk deploy` fails here."""

from __future__ import annotations

from firebell import wiring
from infra.local.demo import wait_for
from infra.local.iam import Grant
from infra.topology import TOPOLOGY
from tests.integration.conftest import Pipeline, load_event


def test_removing_one_needed_grant_fails_locally(pipeline: Pipeline) -> None:
    # Given intake's role without sns:Publish on the events topic (one grant its use cases need)
    events_topic = pipeline.resources[("topic", "events")]
    full = pipeline.iam.grants_of("intake")
    pipeline.iam._grants["intake"] = [g for g in full if g != Grant("sns:Publish", events_topic)]
    try:
        # When an alarm opens an incident
        assert pipeline.invoke("intake", load_event("sqs/intake-alarm.json")) == {"batchItemFailures": []}

        # Then announcing it was denied as AWS would deny it, and nothing reached classify
        assert pipeline.iam.denied == [("intake", "sns:Publish", events_topic)]
        assert pipeline.queued("classify")["Records"] == []
    finally:
        pipeline.iam._grants["intake"] = full
        pipeline.iam.denied.clear()

    # And with the grant back, the outbox relay announces it once its grace is over (the effect was kept)
    def relayed() -> bool:
        pipeline.invoke("outbox", {})
        return bool(pipeline.queued("classify", wait_seconds=0.5)["Records"])

    wait_for("the relay announcing the incident", relayed, 30)


def test_each_function_sees_only_its_own_environment(pipeline: Pipeline) -> None:
    # The classify function starts no resolution window and signs no links from the API's own URL... it has
    # no variable for the resolution machine; the API has no PUBLIC_API_URL (it would depend on itself)
    classify = pipeline.built_for("classify", wiring.get_settings)
    api = pipeline.built_for("api", wiring.get_settings)
    assert classify.resolution_state_machine_arn == "" and classify.escalation_state_machine_arn
    assert api.public_api_url == "" and api.resolution_state_machine_arn
    assert "RESOLUTION_STATE_MACHINE_ARN" not in TOPOLOGY.function("classify").environment


def test_grants_follow_the_use_cases(pipeline: Pipeline) -> None:
    # The API pages (reassign) and emails stakeholders (updates): it may send email and SMS; notify resolves
    # quiet alerts (starting the confirmation window) and stops runs (the escalation, the SLA clock, the update
    # reminders of old); classify stops only an SLA run that gives way to stakeholder updates at a maintenance
    # window's end
    api, notify, classify = (TOPOLOGY.function(n).permissions for n in ("api", "notify", "classify"))
    assert api.send_email and api.send_sms
    assert "resolution" in notify.start_executions and set(notify.stop_executions) == {"escalation", "sla", "reminder"}
    assert classify.stop_executions == ("sla",)
