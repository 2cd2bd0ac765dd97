"""Slack's Web API (usecases/chat.py), through Slack's own slack_sdk: post, update, find a message again, open
the resolve dialog, answer a click. The base URL is Slack's unless set (the local runtime's stand-in)."""

from __future__ import annotations

import logging
from datetime import datetime
from functools import cache
from typing import Any

from ..domain.errors import PermanentError, TransientError

logger = logging.getLogger(__name__)
TIMEOUT_SECONDS = 10
_HISTORY_PAGES = 3  # the message is looked for among the channel's newest 600 since the incident opened
# Errors no retry mends (https://api.slack.com/methods/chat.postMessage#errors): the reason tells an admin what to do.
_ADVICE = {
    "not_in_channel": "invite the firebell app to the channel",
    "channel_not_found": "check the channel's id, and that the app was invited to it",
    "is_archived": "the channel is archived",
    "invalid_auth": "the bot token (Secrets Manager `slack-bot-token`) is not valid",
    "not_authed": "the bot token (Secrets Manager `slack-bot-token`) is not set",
    "token_revoked": "the bot token was revoked: install the app again",
    "account_inactive": "the bot token's workspace or user is inactive",
    "missing_scope": "give the app the chat:write, channels:history and groups:history scopes (docs/chat/slack-app-manifest.yaml)",
    "invalid_blocks": "Slack refused the message's blocks",
    "msg_too_long": "Slack refused the message's length",
}
_TRANSIENT = {
    "ratelimited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
    "team_added_to_org",
}


class SlackUnreachable(TransientError):
    """Slack did not answer, or asked to be called later (rate limited, its own trouble)."""


class SlackRefused(PermanentError):
    """Slack refused the call for a reason no retry mends (the reason says what to change)."""


class SlackMessageGone(SlackRefused):
    """The message to update is not there any more (someone deleted it): a new one may be posted."""

    message_gone = True


@cache
def _client(token: str, base_url: str) -> Any:
    from slack_sdk import WebClient

    # No retry handlers: the SDK's default one posts again after a connection error, and a post whose answer was
    # lost is then shown twice. firebell retries itself, and looks for the message before posting again.
    return WebClient(token=token, base_url=base_url, timeout=TIMEOUT_SECONDS, retry_handlers=[])


class SlackWebApi:
    def __init__(self, token: Any, base_url: str = "") -> None:
        self._token = token  # () → the bot token (read when first needed, never at import)
        self._base_url = base_url or "https://slack.com/api/"

    def _call(self, method: str, **arguments: Any) -> dict[str, Any]:
        from slack_sdk.errors import SlackApiError

        client = _client(self._token(), self._base_url)
        try:
            # (the SDK's own method for each: it sends each call the way Slack takes it, JSON or form)
            data: dict[str, Any] = getattr(client, method.replace(".", "_"))(**arguments).data
            return data
        except SlackApiError as error:
            code = str(error.response.get("error") or error.response.status_code)
            if code in _TRANSIENT or error.response.status_code >= 500:
                raise SlackUnreachable(f"Slack {method}: {code}") from None
            if code == "message_not_found":
                raise SlackMessageGone(f"Slack {method}: message_not_found") from None
            advice = _ADVICE.get(code, "")
            raise SlackRefused(f"Slack refused {method}: {code}" + (f" ({advice})" if advice else "")) from None
        except OSError as error:  # no answer: refused, reset, timed out (urllib's errors are OSErrors)
            raise SlackUnreachable(f"Slack {method}: no answer ({type(error).__name__})") from None

    def post(self, channel: str, message: dict[str, Any]) -> str:
        return str(self._call("chat.postMessage", channel=channel, **message)["ts"])

    def update(self, channel: str, ts: str, message: dict[str, Any]) -> None:
        fields = {k: v for k, v in message.items() if k != "unfurl_links"}  # (chat.update takes no unfurl settings)
        self._call("chat.update", channel=channel, ts=ts, **fields)

    def find(self, channel: str, metadata_type: str, incident_id: str, since: datetime) -> str | None:
        """The ts of the channel's message carrying the incident's metadata, posted since `since`; None if none."""
        cursor = None
        for _ in range(_HISTORY_PAGES):
            arguments: dict[str, Any] = {
                "channel": channel,
                "oldest": f"{since.timestamp():.6f}",
                "limit": 200,
                "include_all_metadata": True,
            }
            if cursor:
                arguments["cursor"] = cursor
            answer = self._call("conversations.history", **arguments)
            for message in answer.get("messages") or []:
                metadata = message.get("metadata") or {}
                if (
                    metadata.get("event_type") == metadata_type
                    and (metadata.get("event_payload") or {}).get("incident_id") == incident_id
                ):
                    return str(message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        return None

    def open_view(self, trigger_id: str, view: dict[str, Any]) -> None:
        self._call("views.open", trigger_id=trigger_id, view=view)

    def respond(self, response_url: str, text: str) -> None:
        """Tell only the person who clicked (an ephemeral answer through the click's response_url)."""
        from slack_sdk.webhook import WebhookClient

        try:
            WebhookClient(response_url, timeout=TIMEOUT_SECONDS).send(
                text=text, response_type="ephemeral", replace_original=False
            )
        except OSError as error:  # (an answer to one person: the action itself is done, or refused, already)
            logger.info("slack response_url: no answer (%s)", type(error).__name__)
