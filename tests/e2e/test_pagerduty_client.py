"""A real PagerDuty client library (pdpyras) pointed at firebell's local runtime, unchanged but for its base URL."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest

from infra.topology import ROOT
from tests.e2e.conftest import TIME_SCALE, RunningPipeline, pagerduty_incident, running_pipeline

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pdpyras announces on import that it is superseded by "pagerduty"
    import pdpyras

pytestmark = pytest.mark.e2e

KEY = "R0UT1NGKEYCHECKOUT0000000000DEMO"  # the checkout service's demo integration key (config/firebell.yaml)


@pytest.fixture(scope="module")
def firebell() -> Iterator[RunningPipeline]:
    with running_pipeline(ROOT / "config", TIME_SCALE) as pipeline:
        yield pipeline


def events_session(pipeline: RunningPipeline, routing_key: str = KEY) -> pdpyras.EventsAPISession:
    session = pdpyras.EventsAPISession(routing_key)
    session.url = pipeline.api_url  # the only change: firebell's base URL instead of events.pagerduty.com
    return session


def test_pdpyras_triggers_deduplicates_acknowledges_and_resolves(firebell: RunningPipeline) -> None:
    session = events_session(firebell)

    # When the client triggers an alert without a dedup key, firebell answers with one
    dedup_key = session.trigger(
        "Checkout database replication lag above 30 s",
        "db-checkout-1.example.com",
        severity="error",
        payload={"component": "postgres", "group": "checkout-db", "class": "replication"},
        custom_details={"lag_seconds": 42, "replica": "db-checkout-2"},
        links=[{"href": "https://grafana.example.com/d/replication", "text": "Replication dashboard"}],
        images=[{"src": "https://grafana.example.com/render/replication.png", "alt": "lag"}],
    )
    assert dedup_key

    # Then an incident is open with impact and urgency from the severity and what the client sent
    incident = pagerduty_incident(firebell, dedup_key)
    assert (incident["source"], incident["service"], incident["status"]) == (
        "pagerduty_events",
        "checkout",
        "triggered",
    )
    assert (incident["impact"], incident["urgency"]) == ("high", "medium")
    assert incident["title"] == "Checkout database replication lag above 30 s"
    assert incident["custom_details"]["custom_details"] == {"lag_seconds": 42, "replica": "db-checkout-2"}
    assert incident["custom_details"]["component"] == "postgres"
    assert incident["links"] == [{"href": "https://grafana.example.com/d/replication", "text": "Replication dashboard"}]

    # When the client triggers again with that key, it is the same incident, seen twice
    assert (
        session.trigger(
            "Checkout database replication lag above 30 s",
            "db-checkout-1.example.com",
            severity="error",
            dedup_key=dedup_key,
        )
        == dedup_key
    )
    again = pagerduty_incident(firebell, dedup_key)
    assert (again["reference"], again["occurrences"]) == (incident["reference"], 2)

    # And acknowledge and resolve act on it
    assert session.acknowledge(dedup_key) == dedup_key
    assert pagerduty_incident(firebell, dedup_key)["status"] == "acknowledged"
    assert session.resolve(dedup_key) == dedup_key
    resolved = pagerduty_incident(firebell, dedup_key)
    assert (resolved["status"], resolved["auto_resolved"]) == ("resolved", True)


def test_pdpyras_sees_pagerduty_s_errors(firebell: RunningPipeline) -> None:
    # An invalid event: the client raises with firebell's 400, whose errors name the field
    with pytest.raises(pdpyras.PDClientError) as refused:
        events_session(firebell).trigger("Disk full", "db-1", severity="fatal")
    assert refused.value.response.status_code == 400
    assert refused.value.response.json()["errors"] == [
        "'payload.severity' is invalid (must be one of: critical, error, warning, info)"
    ]

    # An unknown routing key is refused
    with pytest.raises(pdpyras.PDClientError) as refused:
        events_session(firebell, "R0UT1NGKEYNOBODY0000000000000000").trigger("Disk full", "db-1")
    assert refused.value.response.status_code == 400
    assert refused.value.response.json()["errors"] == ["'routing_key' is not the integration key of any service"]
