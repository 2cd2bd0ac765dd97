"""A webhook receiver on this machine, standing in for the endpoints outgoing webhooks reach (docs/webhooks.md):
it answers each POST with the status a test gives and keeps what it got, for the tests and the fault harness."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Answer = Callable[
    [dict[str, Any], "WebhookReceiver"], int
]  # (the delivery's body, the receiver) → the status to answer


class WebhookReceiver:
    def __init__(self, answer: Answer = lambda _body, _receiver: 200) -> None:
        self.answer = answer
        self.got: list[tuple[dict[str, str], str, int]] = []  # headers (lower-case names), body, the status answered
        self.paths: list[str] = []  # each request's path and query, in the same order
        self._lock = threading.RLock()  # (an answer may read what it got: about())
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                with receiver._lock:
                    try:
                        status = receiver.answer(json.loads(body), receiver)
                    except ValueError:
                        status = 400
                    receiver.got.append(({k.lower(): v for k, v in self.headers.items()}, body, status))
                    receiver.paths.append(self.path)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/firebell"
        threading.Thread(target=self._server.serve_forever, name="webhook-receiver", daemon=True).start()

    def about(self, reference: str) -> list[tuple[dict[str, str], str, int]]:
        """What it got about one incident, in order."""
        with self._lock:
            return [(h, b, s) for h, b, s in self.got if json.loads(b)["data"]["incident"]["reference"] == reference]

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()  # (refused at once from then on: not accepted and left unanswered)
