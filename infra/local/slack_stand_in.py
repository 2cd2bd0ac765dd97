"""Slack, standing in on this machine (docs/chat.md): the Web API methods firebell calls, held to what Slack
requires, and the person on the other side who clicks and types, signing every request as Slack does.

The Web API part answers chat.postMessage, chat.update, conversations.history and views.open as Slack does
(`{"ok": false, "error": …}` with HTTP 200; 429 with Retry-After when told to), checks the bot token, and checks
every message's blocks with slack_sdk's own Block Kit models (lengths, counts, required fields) — a message Slack
would refuse is refused here with `invalid_blocks`. `response_url`s lead back here too. Tests and the local
runtime's demo read what each channel shows (`channel`, `message`), and make it fail (`fail`).

The person part builds the requests Slack sends (a click on a message's button, the resolve dialog, /firebell)
and signs them with the app's signing secret (slack_sdk's SignatureVerifier), to firebell's API.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit


@dataclass
class Message:
    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    metadata: dict[str, Any] | None
    edits: int = 0


@dataclass
class Failure:
    method: str
    error: str  # a Slack error code, "http_429", or "lost_answer" (done, then the connection closed unanswered)
    times: int = 1
    channel: str | None = None  # only calls about this channel (or member); None: any


@dataclass
class SlackStandIn:
    bot_token: str
    signing_secret: str
    channels: set[str] = field(default_factory=lambda: {"C0INCIDENTS", "C0PAYMENTS"})  # the bot is a member of these
    messages: list[Message] = field(default_factory=list)
    views: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # what came to response_urls
    calls: list[str] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.RLock()
        self._ts = itertools.count(1)
        self._triggers = itertools.count(1)
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                stand_in._serve(self)

            def do_GET(self) -> None:
                stand_in._serve(self)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.api_url = f"{self.url}/api/"
        threading.Thread(target=self._server.serve_forever, name="slack-stand-in", daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # --- what tests read and set ------------------------------------------------------------------

    def channel(self, channel: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.channel == channel]

    def message(self, channel: str, incident_id: str) -> list[Message]:
        """The channel's messages about one incident (by their metadata)."""
        return [
            m
            for m in self.channel(channel)
            if ((m.metadata or {}).get("event_payload") or {}).get("incident_id") == incident_id
        ]

    def fail(self, method: str, error: str, times: int = 1, channel: str | None = None) -> None:
        with self._lock:
            self.failures.append(Failure(method, error, times, channel))

    # --- the Web API ------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        path = urlsplit(request.path).path
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length).decode() if length else ""
        if path.startswith("/actions/"):  # a response_url
            with self._lock:
                self.responses.append(json.loads(raw or "{}"))
            return _answer(request, 200, "ok", "text/plain")
        if not path.startswith("/api/"):
            return _answer(request, 404, "not found", "text/plain")
        method = path.removeprefix("/api/")
        arguments = _arguments(request, raw)
        with self._lock:
            self.calls.append(method)
            failure = next(
                (
                    f
                    for f in self.failures
                    if f.method == method and f.times > 0 and f.channel in (None, arguments.get("channel"))
                ),
                None,
            )
            if failure is not None:
                failure.times -= 1
        if failure is not None and failure.error == "http_429":
            return _answer(
                request, 429, json.dumps({"ok": False, "error": "ratelimited"}), headers={"Retry-After": "1"}
            )
        if failure is not None and failure.error != "lost_answer":
            return _answer(request, 200, json.dumps({"ok": False, "error": failure.error}))
        if request.headers.get("Authorization") != f"Bearer {self.bot_token}":
            return _answer(request, 200, json.dumps({"ok": False, "error": "invalid_auth"}))
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        answer = handler(arguments) if handler else {"ok": False, "error": "unknown_method"}
        if failure is not None:  # lost_answer: what was asked is done, and no answer comes back
            request.close_connection = True
            request.connection.close()
            return None
        return _answer(request, 200, json.dumps(answer))

    def _chat_postMessage(self, arguments: dict[str, Any]) -> dict[str, Any]:
        problem = self._refusal(arguments)
        if problem:
            return {"ok": False, "error": problem}
        with self._lock:
            ts = f"{int(time.time())}.{next(self._ts):06d}"
            self.messages.append(
                Message(
                    arguments["channel"],
                    ts,
                    arguments.get("text") or "",
                    _json(arguments.get("blocks")) or [],
                    _json(arguments.get("metadata")),
                )
            )
        return {"ok": True, "channel": arguments["channel"], "ts": ts}

    def _chat_update(self, arguments: dict[str, Any]) -> dict[str, Any]:
        problem = self._refusal(arguments)
        if problem:
            return {"ok": False, "error": problem}
        with self._lock:
            found = next(
                (m for m in self.messages if m.channel == arguments["channel"] and m.ts == arguments.get("ts")), None
            )
            if found is None:
                return {"ok": False, "error": "message_not_found"}
            found.text, found.blocks, found.edits = (
                arguments.get("text") or "",
                _json(arguments.get("blocks")) or [],
                found.edits + 1,
            )
            if arguments.get("metadata"):
                found.metadata = _json(arguments["metadata"])
        return {"ok": True, "channel": found.channel, "ts": found.ts}

    def _conversations_history(self, arguments: dict[str, Any]) -> dict[str, Any]:
        channel = arguments.get("channel")
        if channel not in self.channels:
            return {"ok": False, "error": "channel_not_found"}
        oldest = float(arguments.get("oldest") or 0)
        with_metadata = str(arguments.get("include_all_metadata")).lower() in ("true", "1")
        with self._lock:
            found = [m for m in self.messages if m.channel == channel and float(m.ts) >= oldest]
        found.sort(key=lambda m: float(m.ts), reverse=True)  # newest first, as Slack lists them
        return {
            "ok": True,
            "has_more": False,
            "messages": [
                {
                    "type": "message",
                    "ts": m.ts,
                    "text": m.text,
                    **({"metadata": m.metadata} if with_metadata and m.metadata else {}),
                }
                for m in found
            ],
        }

    def _views_open(self, arguments: dict[str, Any]) -> dict[str, Any]:
        view = _json(arguments.get("view")) or {}
        if not str(arguments.get("trigger_id") or "").startswith("trigger."):
            return {"ok": False, "error": "invalid_trigger_id"}
        from slack_sdk.models.views import View

        try:
            View(**view).validate_json()
        except Exception as error:  # (slack_sdk's SlackObjectFormationError, or a field it does not know)
            return {"ok": False, "error": "invalid_arguments", "detail": str(error)}
        with self._lock:
            self.views.append({"trigger_id": arguments["trigger_id"], "view": view})
        return {"ok": True, "view": {"id": f"V{len(self.views)}", **view}}

    def _refusal(self, arguments: dict[str, Any]) -> str | None:
        """What Slack would answer to a message it would not show, or None."""
        channel = str(arguments.get("channel", ""))
        if channel not in self.channels and not channel.startswith(("U", "W")):  # (a member id: the app's DM with them)
            return "not_in_channel" if channel.startswith("C") else "channel_not_found"
        if not (arguments.get("text") or arguments.get("blocks")):
            return "no_text"
        from slack_sdk.models.blocks import Block

        blocks = _json(arguments.get("blocks")) or []
        if len(blocks) > 50:
            return "invalid_blocks"
        try:
            for block in blocks:
                parsed = Block.parse(block)
                if parsed is None:
                    return "invalid_blocks"
                parsed.validate_json()
        except Exception:  # (slack_sdk's SlackObjectFormationError: a length, a count, a required field)
            return "invalid_blocks"
        metadata = _json(arguments.get("metadata"))
        if metadata is not None and not (
            isinstance(metadata.get("event_type"), str) and isinstance(metadata.get("event_payload"), dict)
        ):
            return "invalid_metadata_format"
        return None

    # --- the person in Slack ----------------------------------------------------------------------

    def click(self, api_url: str, user: str, message: Message, action_id: str) -> tuple[int, str]:
        """`user` clicks the button `action_id` on `message`: Slack's block_actions request, signed, to firebell."""
        button = next(
            e
            for b in message.blocks
            if b["type"] == "actions"
            for e in b["elements"]
            if e.get("action_id") == action_id
        )
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": user.lower()},
            "team": {"id": "T0FIREBELL"},
            "trigger_id": f"trigger.{next(self._triggers)}",
            "response_url": f"{self.url}/actions/{next(self._ts)}",
            "container": {"type": "message", "message_ts": message.ts, "channel_id": message.channel},
            "channel": {"id": message.channel},
            "message": {"ts": message.ts, "text": message.text},
            "actions": [
                {
                    "type": "button",
                    "action_id": action_id,
                    "block_id": "firebell.actions",
                    "value": button.get("value"),
                    "action_ts": str(time.time()),
                }
            ],
        }
        return self.send(f"{api_url}/chat/slack/interactions", {"payload": json.dumps(payload)})

    def submit_resolve(self, api_url: str, user: str, notes: str) -> tuple[int, str]:
        """`user` fills in the last dialog opened and submits it: Slack's view_submission request."""
        view = self.views[-1]["view"]
        block = view["blocks"][0]
        payload = {
            "type": "view_submission",
            "user": {"id": user},
            "team": {"id": "T0FIREBELL"},
            "view": {
                **view,
                "id": "V1",
                "state": {
                    "values": {
                        block["block_id"]: {block["element"]["action_id"]: {"type": "plain_text_input", "value": notes}}
                    }
                },
            },
        }
        return self.send(f"{api_url}/chat/slack/interactions", {"payload": json.dumps(payload)})

    def command(self, api_url: str, user: str, text: str) -> tuple[int, str]:
        """`user` types `/firebell <text>`."""
        return self.send(
            f"{api_url}/chat/slack/commands",
            {
                "token": "deprecated-verification-token",
                "team_id": "T0FIREBELL",
                "channel_id": "C0INCIDENTS",
                "user_id": user,
                "user_name": user.lower(),
                "command": "/firebell",
                "text": text,
                "api_app_id": "A0FIREBELL",
                "response_url": f"{self.url}/actions/{next(self._ts)}",
                "trigger_id": f"trigger.{next(self._triggers)}",
            },
        )

    def send(
        self, url: str, form: dict[str, str], timestamp: int | None = None, signature: str | None = None
    ) -> tuple[int, str]:
        """A form-encoded request signed as Slack signs it (or with the timestamp and signature given)."""
        from slack_sdk.signature import SignatureVerifier

        body = urlencode(form)
        timestamp = int(time.time()) if timestamp is None else timestamp
        signature = signature or SignatureVerifier(self.signing_secret).generate_signature(
            timestamp=str(timestamp), body=body
        )
        return post_signed(url, body, str(timestamp), signature or "")


def post_signed(url: str, body: str | bytes, timestamp: str, signature: str) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=body if isinstance(body, bytes) else body.encode(),
        method="POST",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": signature,
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _arguments(request: BaseHTTPRequestHandler, raw: str) -> dict[str, Any]:
    query = {k: v[0] for k, v in parse_qs(urlsplit(request.path).query).items()}
    kind = (request.headers.get("Content-Type") or "").split(";")[0].strip()
    if kind == "application/json" and raw:
        return {**query, **json.loads(raw)}
    return {**query, **{k: v[0] for k, v in parse_qs(raw).items()}}


def _json(value: Any) -> Any:
    """A form-encoded argument arrives as a JSON string; a JSON one as itself."""
    return json.loads(value) if isinstance(value, str) and value[:1] in "[{" else value


def _answer(
    request: BaseHTTPRequestHandler,
    status: int,
    body: str,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    data = body.encode()
    request.send_response(status)
    request.send_header("Content-Type", f"{content_type}; charset=utf-8")
    request.send_header("Content-Length", str(len(data)))
    for name, value in (headers or {}).items():
        request.send_header(name, value)
    request.end_headers()
    request.wfile.write(data)
