"""The official PagerDuty client (`pagerduty` v7, EventsApiV2Client) against the local runtime, unchanged but for its
base URL. It accepts only https:// base URLs, so it talks to the runtime's HTTPS listener, trusting the CA the
runtime made on start the way a user would: SSL_CERT_FILE, which its HTTP library (httpx2) honours."""

from __future__ import annotations

import shutil
import socket
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pagerduty
import pytest

from firebell.domain.routing_keys import routing_key_sha256
from infra.local.demo import http
from infra.topology import ROOT
from tests.e2e.conftest import TIME_SCALE, RunningPipeline, pagerduty_incident, running_pipeline

pytestmark = pytest.mark.e2e

KEY = "R0UT1NGKEYCHECKOUT0000000000DEMO"  # the checkout service's demo integration key (config/firebell.yaml)
PAYMENTS_KEY = "R0UT1NGKEYPAYMENTS00000000000001"  # another service's, added to a copy of config/ below


@pytest.fixture(scope="module")
def firebell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    config = tmp_path_factory.mktemp("config")
    shutil.copytree(ROOT / "config", config, dirs_exist_ok=True)
    directory = config / "firebell.yaml"
    text = directory.read_text()
    assert "\ndefault_team:" in text
    directory.write_text(
        text.replace(
            "\ndefault_team:",
            f"""
  - id: payments
    team: platform
    routing_keys: [{{sha256: {routing_key_sha256(PAYMENTS_KEY)}}}]

default_team:""",
            1,
        )
    )
    with running_pipeline(config, TIME_SCALE) as pipeline:
        yield pipeline


@pytest.fixture
def trusting(firebell: RunningPipeline, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SSL_CERT_FILE", str(firebell.ca_file))
    return firebell.ca_file


def events_client(pipeline: RunningPipeline, routing_key: str = KEY) -> pagerduty.EventsApiV2Client:
    return pagerduty.EventsApiV2Client(routing_key, base_url=pipeline.https_url)  # the only change


def timeline(pipeline: RunningPipeline, incident_id: str) -> list[dict]:
    status, body = http("GET", f"{pipeline.api_url}/incidents/{incident_id}/timeline")
    assert status == 200
    return body["items"]


def test_the_client_refuses_http_so_the_runtime_serves_https_with_a_certificate_its_ca_vouches_for(
    firebell: RunningPipeline,
) -> None:
    with pytest.raises(pagerduty.UrlError):
        pagerduty.EventsApiV2Client(KEY, base_url=firebell.api_url)
    port = int(firebell.https_url.rsplit(":", 1)[1])
    # Without the CA the certificate is not trusted ...
    with pytest.raises(ssl.SSLCertVerificationError), socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        ssl.create_default_context().wrap_socket(raw, server_hostname="127.0.0.1")
    # ... with it, it is, for 127.0.0.1 and localhost alike
    context = ssl.create_default_context(cafile=firebell.ca_file)
    for name in ("127.0.0.1", "localhost"):
        with (
            socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
            context.wrap_socket(raw, server_hostname=name) as tls,
        ):
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_official_client_triggers_acknowledges_and_resolves(firebell: RunningPipeline, trusting: Path) -> None:
    client = events_client(firebell)

    dedup_key = client.trigger(
        "Checkout payments gateway timeouts above 2%",
        "gw-1.example.com",
        severity="critical",
        custom_details={"timeouts_pct": 2.4},
        links=[{"href": "https://grafana.example.com/d/gw", "text": "Gateway"}],
    )
    incident = pagerduty_incident(firebell, dedup_key)
    assert (incident["status"], incident["service"], incident["impact"], incident["urgency"]) == (
        "triggered",
        "checkout",
        "high",
        "high",
    )
    assert incident["title"] == "Checkout payments gateway timeouts above 2%"
    assert incident["custom_details"]["custom_details"] == {"timeouts_pct": 2.4}

    assert client.acknowledge(dedup_key) == dedup_key
    assert pagerduty_incident(firebell, dedup_key)["status"] == "acknowledged"

    assert client.resolve(dedup_key) == dedup_key
    resolved = pagerduty_incident(firebell, dedup_key)
    assert (resolved["status"], resolved["auto_resolved"]) == ("resolved", True)


def test_acknowledge_and_resolve_through_another_services_key_change_nothing(
    firebell: RunningPipeline, trusting: Path
) -> None:
    dedup_key = events_client(firebell).trigger("Checkout cart service is down", "cart-1.example.com", severity="error")
    incident_id = pagerduty_incident(firebell, dedup_key)["incident_id"]

    # Accepted, as PagerDuty accepts them (202 with the key) ...
    other = events_client(firebell, PAYMENTS_KEY)
    assert other.acknowledge(dedup_key) == dedup_key
    assert other.resolve(dedup_key) == dedup_key

    # ... and dropped: the dedup key belongs to checkout's integration (the escalation meanwhile pages as usual)
    assert pagerduty_incident(firebell, dedup_key)["status"] == "triggered"
    assert [e for e in timeline(firebell, incident_id) if e["kind"] in ("acknowledged", "resolved")] == []

    # While checkout's own key acknowledges it
    events_client(firebell).acknowledge(dedup_key)
    assert [e["kind"] for e in timeline(firebell, incident_id) if e["kind"] in ("acknowledged", "resolved")] == [
        "acknowledged"
    ]


def test_change_events_show_on_the_services_open_incidents(firebell: RunningPipeline, trusting: Path) -> None:
    checkout, payments = events_client(firebell), events_client(firebell, PAYMENTS_KEY)
    open_key = checkout.trigger("Checkout latency p99 above 2 s", "lb-1.example.com", severity="warning")
    payments_key = payments.trigger("Payments queue backlog", "mq-1.example.com", severity="warning")

    # The client's two ways to send a change: submit() and send_change_event(). submit() needs its timestamp given:
    # pagerduty 7.2.0 fails making its own (AttributeError in EventsApiV2Client.event_timestamp), before any request.
    checkout.submit(
        "Deployed checkout v2.14.0",
        "github-actions",
        custom_details={"sha": "9f2c1e0"},
        links=[{"href": "https://github.example.com/acme/checkout/releases/v2.14.0", "text": "Release"}],
        timestamp=datetime.now(UTC).isoformat(),
    )
    checkout.send_change_event(payload={"summary": "Feature flag fast-cart enabled", "source": "flags"})

    incident = pagerduty_incident(firebell, open_key)
    changes = [e for e in timeline(firebell, incident["incident_id"]) if e["kind"] == "change_event"]
    assert [e["message"] for e in changes] == [
        "Change on checkout (from github-actions): Deployed checkout v2.14.0",
        "Change on checkout (from flags): Feature flag fast-cart enabled",
    ]
    assert changes[0]["details"]["custom_details"] == {"sha": "9f2c1e0"}
    assert changes[0]["details"]["links"] == [
        {"href": "https://github.example.com/acme/checkout/releases/v2.14.0", "text": "Release"}
    ]
    assert incident["status"] == "triggered"
    # Not on another service's incident
    other = pagerduty_incident(firebell, payments_key, service="payments")
    assert [e for e in timeline(firebell, other["incident_id"]) if e["kind"] == "change_event"] == []
