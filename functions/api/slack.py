"""Slack's requests (docs/chat.md): the buttons on an incident's message and the resolve dialog (the app's
Interactivity Request URL: /chat/slack/interactions) and the /firebell slash command (/chat/slack/commands).
Included by app.py.

Both routes are public to API Gateway: Slack signs every request with the app's signing secret, and nothing is
read before the signature is checked (slack_sdk's SignatureVerifier: HMAC-SHA256 of `v0:<timestamp>:<body>`,
the timestamp within 5 minutes). A request is taken once: a replay of a signed request within those 5 minutes is
refused too. What people do then is firebell/usecases/chat_actions.py's.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qs

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from firebell import wiring
from firebell.domain import chat
from firebell.domain.errors import error_body

if __package__:
    from .openapi import request_body
else:  # Lambda: this folder is the asset's root
    from openapi import request_body

router = Router()
logger = Logger(child=True)
SIGNATURE_WINDOW = timedelta(
    minutes=5
)  # slack_sdk's verifier refuses older timestamps; a request is remembered as long
_REFUSED: dict[int, OpenAPIResponse] = {
    401: {"description": "Not signed by Slack with the app's signing secret, too old, or seen before"}
}
# What Slack sends, form-encoded. Any body is described as valid: in a form every value is a string, so a
# "wrong type" is the same bytes as a right one; what the routes refuse (no signature, a replay, no payload or
# user_id, a payload not Slack's) is refused with a 401 or 400, checked by tests/e2e/test_chat.py.
_INTERACTION = {
    "description": "`payload`: the interaction, as JSON (https://api.slack.com/reference/interaction-payloads)"
}
_COMMAND = {
    "description": "`user_id`, `text`, `command`, `team_id`, `response_url`, `trigger_id` "
    "(https://api.slack.com/interactivity/slash-commands)"
}


class _Slack(BaseModel):
    # (Slack sends far more than firebell reads, and adds fields over time; built on first use: cold start)
    model_config = ConfigDict(extra="ignore", defer_build=True)


class SlackUser(_Slack):
    id: Annotated[str, Field(min_length=1, max_length=64)]


class SlackAction(_Slack):
    action_id: Annotated[str, Field(max_length=255)] = ""
    value: Annotated[str, Field(max_length=2000)] = ""


class SlackView(_Slack):
    callback_id: Annotated[str, Field(max_length=255)] = ""
    private_metadata: Annotated[str, Field(max_length=3000)] = ""
    state: dict[str, Any] = {}

    def value(self, block_id: str, action_id: str) -> str:
        """A plain-text input's value, as Slack files it: state.values.<block>.<action>.value."""
        values = self.state.get("values")
        block = values.get(block_id) if isinstance(values, dict) else None
        found = block.get(action_id) if isinstance(block, dict) else None
        value = found.get("value") if isinstance(found, dict) else None
        return value if isinstance(value, str) else ""


class Interaction(_Slack):
    """The part of Slack's interaction payload firebell reads (https://api.slack.com/reference/interaction-payloads)."""

    type: Annotated[str, Field(max_length=64)]
    user: SlackUser
    actions: Annotated[list[SlackAction], Field(max_length=25)] = []
    trigger_id: Annotated[str, Field(max_length=255)] = ""
    response_url: Annotated[str, Field(max_length=2048)] = ""
    view: SlackView | None = None


def _body() -> bytes:
    """The body as Slack sent it: what its signature covers, byte for byte."""
    event = router.current_event
    if event.is_base64_encoded and event.body:
        try:
            return base64.b64decode(event.body, validate=True)
        except (binascii.Error, ValueError):
            return b""
    return (event.body or "").encode()


def _verified(body: bytes) -> Response[Any] | None:
    """None when Slack signed this request and it was not seen before; else the 401 to answer."""
    from slack_sdk.signature import SignatureVerifier

    headers = {k.lower(): v for k, v in (router.current_event.headers or {}).items()}
    timestamp, signature = headers.get("x-slack-request-timestamp", ""), headers.get("x-slack-signature", "")
    verifier = SignatureVerifier(wiring.slack_signing_secret()().decode())
    # (the verifier raises on a timestamp that is not a number: such a request is no more Slack's than a forged one)
    try:  # (the verifier decodes the body as UTF-8: bytes that are not are no more Slack's than a forgery)
        signed = (
            timestamp.isascii()
            and timestamp.isdigit()
            and len(timestamp) <= 12
            and bool(signature)
            and verifier.is_valid(body, timestamp, signature)
        )
    except (UnicodeDecodeError, ValueError):
        signed = False
    if not signed:
        return _unauthenticated(
            "not signed by Slack: X-Slack-Signature does not match the body, or the timestamp is over 5 minutes old"
        )
    if not wiring.slack_requests().first_time(signature, wiring.utc_now() + SIGNATURE_WINDOW):
        return _unauthenticated("this signed request was received before (a replay)")
    return None


def _unauthenticated(message: str) -> Response[Any]:
    logger.warning("slack request refused", extra={"why": message})
    return Response(401, "application/json", json.dumps(error_body("unauthenticated", message)))


def _form(body: bytes) -> dict[str, str] | None:
    """Slack's form fields; None when the body is not a form Slack would send."""
    try:
        return {
            name: values[0] for name, values in parse_qs(body.decode(), max_num_fields=64, strict_parsing=False).items()
        }
    except (UnicodeDecodeError, ValueError):  # (not UTF-8, or more fields than any Slack request has)
        return None


def _ephemeral(text: str) -> Response[Any]:
    return Response(200, "application/json", json.dumps({"response_type": "ephemeral", "text": text}))


@router.post(
    "/chat/slack/interactions",
    summary="Slack: a button on an incident's message, or the resolve dialog",
    responses={
        200: {
            "description": "Taken (the message changes; a refusal is shown to the clicker only): empty, or the "
            "dialog's errors as Slack expects them (response_action)",
            "content": {
                "text/plain": {"schema": {"type": "string", "maxLength": 0}},
                "application/json": {"schema": {"type": "object"}},
            },
        },
        **_REFUSED,
    },
)
@request_body(
    _INTERACTION,
    {
        "payload": '{"type": "block_actions", "user": {"id": "U0BOB"}, "actions": [{"action_id": '
        '"firebell.acknowledge", "value": "01J..."}], "trigger_id": "1.2.3", "response_url": '
        '"https://hooks.slack.com/actions/..."}'
    },
    "Slack's interaction payload, form-encoded (`payload=<JSON>`)",
    media_type="application/x-www-form-urlencoded",
)
def slack_interactions() -> Response[str]:
    """Acknowledge, Resolve… (opens a dialog for the resolution notes) and Escalate, as the directory person whose
    `slack_user_id` is the clicker's, with what their directory roles allow."""
    body = _body()
    refused = _verified(body)
    if refused is not None:
        return refused
    try:
        interaction = Interaction.model_validate_json((_form(body) or {}).get("payload") or "")
    except ValidationError as invalid:
        where = ", ".join(".".join(str(p) for p in ("body", "payload", *e["loc"])) for e in invalid.errors()[:5])
        return Response(
            400,
            "application/json",
            json.dumps(error_body("invalid_payload", f"not a Slack interaction payload: {where}")),
        )
    actions = wiring.chat_actions()
    user = interaction.user.id
    if interaction.type == "block_actions":
        for action in interaction.actions:
            answer = actions.click(user, action.action_id, action.value, interaction.trigger_id)
            if answer and interaction.response_url:
                wiring.slack_api().respond(interaction.response_url, answer)
        return Response(200, "text/plain", "")
    view = interaction.view
    if interaction.type == "view_submission" and view is not None and view.callback_id == chat.RESOLVE_DIALOG:
        problem = actions.resolve_submitted(user, view.private_metadata, view.value(chat.NOTES_BLOCK, chat.NOTES_INPUT))
        if problem:
            return Response(
                200,
                "application/json",
                json.dumps({"response_action": "errors", "errors": {chat.NOTES_BLOCK: problem[:150]}}),
            )
        return Response(200, "text/plain", "")
    return Response(200, "text/plain", "")  # (another kind of interaction: nothing of firebell's)


@router.post(
    "/chat/slack/commands",
    summary="Slack: the /firebell slash command (ack, resolve, oncall, report)",
    responses={
        200: {
            "description": "The answer, shown to the person who typed the command only",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["response_type", "text"],
                        "properties": {
                            "response_type": {"type": "string", "const": "ephemeral"},
                            "text": {"type": "string"},
                        },
                    }
                }
            },
        },
        **_REFUSED,
    },
)
@request_body(
    _COMMAND,
    {"command": "/firebell", "text": "ack INC-12", "user_id": "U0BOB", "team_id": "T0ACME"},
    "Slack's slash command request, form-encoded",
    media_type="application/x-www-form-urlencoded",
)
def slack_command() -> Response[str]:
    """`/firebell ack INC-12`, `/firebell resolve INC-12 <notes>`, `/firebell oncall [team]`, `/firebell report
    <title>`, as the directory person whose `slack_user_id` is the typist's."""
    body = _body()
    refused = _verified(body)
    if refused is not None:
        return refused
    form = _form(body) or {}
    if not form.get("user_id"):
        return Response(400, "application/json", json.dumps(error_body("invalid_payload", "body.user_id: missing")))
    return _ephemeral(wiring.chat_actions().command(form["user_id"], form.get("text") or ""))
