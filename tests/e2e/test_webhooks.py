"""Outgoing webhooks on the local runtime: an admin subscribes a URL, reads its secret, and the receiver (a plain
HTTP server here) verifies every delivery with the Standard Webhooks reference library; a receiver that fails gets
the event again, with the same webhook-id, once it answers."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from standardwebhooks import Webhook

from infra.local.demo import http, wait_for
from tests.e2e.conftest import RunningPipeline


class Receiver:
    """Answers each POST with the next status of `answers` (the last one from then on); keeps what it got."""

    def __init__(self) -> None:
        self.answers: list[int] = [200]
        self.got: list[tuple[dict[str, str], str]] = []
        self.statuses: list[int] = []  # what it answered each of `got`
        self.refuse_first_titled: str | None = None  # the first delivery about an incident of this title: answered 503
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                status = receiver.answers.pop(0) if len(receiver.answers) > 1 else receiver.answers[0]
                about = json.loads(body)["data"]["incident"]
                if about["title"] == receiver.refuse_first_titled and not receiver.about(about["reference"]):
                    status = 503
                receiver.statuses.append(status)
                receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/firebell"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def about(self, reference: str) -> list[tuple[dict[str, str], str]]:
        return [(h, b) for h, b in self.got if json.loads(b)["data"]["incident"]["reference"] == reference]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver()
    yield made
    made.server.shutdown()
    made.server.server_close()  # (refused at once from then on: not accepted and left unanswered)


def test_an_admin_subscribes_a_url_and_its_receiver_verifies_every_event_of_an_incident(local_pipeline: RunningPipeline, receiver: Receiver) -> None:
    api = local_pipeline.api_url
    status, entry = http("PUT", f"{api}/admin/webhooks/rx-all", {"id": "rx-all", "url": receiver.url}, as_="carol")
    assert status == 201, entry
    status, answer = http("GET", f"{api}/admin/webhooks/rx-all/secret", as_="carol")
    assert status == 200 and answer["secret"].startswith("whsec_")
    assert http("GET", f"{api}/admin/webhooks/rx-all/secret", as_="alice")[0] == 403
    verify = Webhook(answer["secret"]).verify

    status, incident = http("POST", f"{api}/incidents", {"title": "Webhook test: checkout slow", "service": "checkout"}, as_="erin")
    reference = incident["reference"]
    assert http("POST", f"{api}/incidents/{reference}/acknowledge", as_="alice")[0] == 200

    wait_for("opened and acknowledged delivered", lambda: {json.loads(b)["type"] for _, b in receiver.about(reference)}
             >= {"incident.opened", "incident.acknowledged"}, 30)
    for headers, body in receiver.about(reference):
        assert verify(body, headers)["data"]["incident"]["reference"] == reference
    ids = [h["webhook-id"] for h, _ in receiver.about(reference)]
    assert len(ids) == len(set(ids))


def test_a_failing_receiver_gets_the_event_again_with_the_same_id(local_pipeline: RunningPipeline, receiver: Receiver) -> None:
    api = local_pipeline.api_url
    assert http("PUT", f"{api}/admin/webhooks/rx-flaky", {"id": "rx-flaky", "url": receiver.url}, as_="carol")[0] == 201

    # A subscription reaches the webhooks function within its directory cache's life (15 s): incidents are opened
    # until one of their events reaches the receiver.
    def reached() -> bool:
        if not receiver.got:
            http("POST", f"{api}/incidents", {"title": "Webhook test: subscribed yet?", "service": "checkout"}, as_="erin")
        return bool(receiver.got)

    wait_for("the subscription in effect", reached, 40, interval=2)
    # Then a new incident, whose first delivery the receiver refuses
    receiver.refuse_first_titled = "Webhook test: retried"
    status, incident = http("POST", f"{api}/incidents", {"title": "Webhook test: retried", "service": "checkout"}, as_="erin")

    def retried() -> list[str] | None:  # (the first retry waits 5 s, Standard Webhooks' schedule, unscaled)
        ids = [h["webhook-id"] for h, _ in receiver.about(incident["reference"])]
        return ids if len(ids) >= 2 and ids.count(ids[0]) >= 2 else None

    wait_for("the refused delivery made again, with its id", retried, 45)
