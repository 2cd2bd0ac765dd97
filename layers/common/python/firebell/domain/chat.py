"""Chat (pure): which channels hear about which incidents, and what each chat shows (docs/chat.md).

A channel (the directory's `chat_channels`, admins only: PUT /admin/chat_channels/<id>) is one of:
- `slack`: a Slack channel id; the bot posts one message per incident and updates it in place on every event,
  with buttons to acknowledge, resolve and escalate (Block Kit, https://api.slack.com/block-kit);
- `teams`: a Microsoft Teams Workflows webhook URL ("Post to a channel when a webhook request is received"); each
  event posts an Adaptive Card (1.4) with the incident and links to acknowledge and open it in the console;
- `google_chat`: a Google Chat space's incoming webhook URL; each event posts a card into the incident's own
  thread (threadKey), under a client-assigned message id, so a repeated post is refused rather than shown twice.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import Field, field_validator, model_validator

from .enums import EventType, Status
from .models import Incident
from .webhooks import Subscriber, check_url
from .wire import text_problem

# The buttons' action ids (block_actions payloads carry them back) and the resolve dialog's callback id.
ACKNOWLEDGE = "firebell.acknowledge"
RESOLVE = "firebell.resolve"
ESCALATE = "firebell.escalate"
RESOLVE_DIALOG = "firebell.resolve_dialog"
NOTES_BLOCK, NOTES_INPUT = "notes", "notes_input"
POST_TIMEOUT_SECONDS = 10  # what a Teams or Google Chat webhook gets to answer
ATTEMPTS = 8  # deliveries of one event before it is dead-lettered with the reason
# Slack's message metadata: what finds the incident's message again when an answer to chat.postMessage was lost.
METADATA_TYPE = "firebell_incident"
_STATUS_MARK = {
    Status.TRIGGERED: "🔴",
    Status.ACKNOWLEDGED: "🟠",
    Status.ON_HOLD: "⏸️",
    Status.RESOLVED: "✅",
    Status.CLOSED: "⚪",
}
# Slack's limits (Block Kit reference): header text 150, section text 3,000, a field 2,000, button text 75.
_HEADER_MAX, _SECTION_MAX, _FIELD_MAX = 150, 3000, 2000


class ChatChannel(Subscriber):
    kind: Literal["slack", "teams", "google_chat"]
    channel: Annotated[str | None, Field(pattern=r"^[CGD][A-Z0-9]{2,20}$")] = None  # Slack: the channel's id
    url: Annotated[str | None, Field(max_length=2048)] = None  # Teams, Google Chat: the incoming webhook's URL

    @field_validator("url")
    @classmethod
    def _https(cls, url: str | None) -> str | None:
        return None if url is None else check_url(url)

    def wants(self, event_type: EventType, team: str | None, service: str | None) -> bool:
        # A card per event: the classification that comes with the opening would be a second card saying the same;
        # a card channel shows (re)classifications only when it lists them. Slack's one message shows every change.
        if self.kind != "slack" and event_type is EventType.CLASSIFIED and EventType.CLASSIFIED not in self.events:
            return False
        return super().wants(event_type, team, service)

    @model_validator(mode="after")
    def _destination(self) -> ChatChannel:
        if self.kind == "slack" and (not self.channel or self.url):
            raise ValueError("channel: a Slack channel is its id (e.g. C0123ABCD), and no url")
        if self.kind != "slack" and (not self.url or self.channel):
            raise ValueError(f"url: a {self.kind} channel is its incoming webhook's URL, and no channel")
        return self


def incident_url(console_url: str, reference: str) -> str:
    return f"{console_url.rstrip('/')}/#/incidents/{quote(reference)}"


def slack_escaped(text: str) -> str:
    """Slack's mrkdwn takes &, < and > as markup: escaped, an alarm's text cannot forge a link or a mention."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_TEAMS_MARKUP = re.compile(r"([\\`*_\[\]<>~])")


def _teams_escaped(text: str) -> str:
    """Teams renders a subset of Markdown in a card's text: backslash-escaped, an alarm's text cannot make a link,
    bold or a list (the escapes are CommonMark's, which Teams' renderer honours)."""
    return _TEAMS_MARKUP.sub(r"\\\1", text)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _state(incident: Incident) -> str:
    state = incident.status.value.replace("_", " ")
    if incident.status is Status.ACKNOWLEDGED and incident.acknowledged_by:
        state += f" by {incident.acknowledged_by}"
    if incident.status in (Status.RESOLVED, Status.CLOSED) and incident.resolved_by:
        state += f" by {incident.resolved_by}"
    return state


def headline(incident: Incident) -> str:
    drill = "DRILL " if incident.drill else ""
    return f"{_STATUS_MARK[incident.status]} {drill}{incident.reference} {incident.priority or 'unprioritised'}: {incident.title}"


def _facts(incident: Incident) -> list[tuple[str, str]]:
    facts = [
        ("Status", _state(incident)),
        ("Priority", incident.priority or "unprioritised"),
        ("Team", incident.team or "-"),
        ("Service", incident.service or "-"),
    ]
    if incident.assignee:
        facts.append(("Assignee", incident.assignee))
    if incident.sla and incident.status in (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.ON_HOLD):
        facts.append(("Resolve by", f"{incident.sla.resolution.due_at:%Y-%m-%d %H:%M} UTC"))
    return facts


def _notes(incident: Incident) -> str:
    if incident.resolution_notes and incident.status in (Status.RESOLVED, Status.CLOSED):
        return f"Resolution: {incident.resolution_notes}"
    if incident.known_error and incident.status is not Status.CLOSED:
        return f"Known error {incident.known_error.problem}. Workaround: {incident.known_error.workaround}"
    return incident.description


def slack_message(incident: Incident, console_url: str) -> dict[str, Any]:
    """chat.postMessage / chat.update arguments (without the channel): the incident as it stands now."""
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _cut(headline(incident), _HEADER_MAX), "emoji": True},
        },
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": _cut(f"*{name}*\n{slack_escaped(value)}", _FIELD_MAX)}
                for name, value in _facts(incident)
            ],
        },
    ]
    notes = _notes(incident)
    if notes:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": _cut(slack_escaped(notes), _SECTION_MAX)}})
    buttons: list[dict[str, Any]] = []
    if incident.status is Status.TRIGGERED:
        buttons.append(
            {
                "type": "button",
                "action_id": ACKNOWLEDGE,
                "style": "primary",
                "value": incident.incident_id,
                "text": {"type": "plain_text", "text": "Acknowledge"},
            }
        )
    if incident.status in (Status.TRIGGERED, Status.ACKNOWLEDGED, Status.ON_HOLD):
        buttons.append(
            {
                "type": "button",
                "action_id": RESOLVE,
                "value": incident.incident_id,
                "text": {"type": "plain_text", "text": "Resolve…"},
            }
        )
        buttons.append(
            {
                "type": "button",
                "action_id": ESCALATE,
                "style": "danger",
                "value": incident.incident_id,
                "text": {"type": "plain_text", "text": "Escalate"},
                "confirm": {
                    "title": {"type": "plain_text", "text": "Escalate now?"},
                    "text": {"type": "plain_text", "text": "The next level is paged at once."},
                    "confirm": {"type": "plain_text", "text": "Escalate"},
                    "deny": {"type": "plain_text", "text": "Cancel"},
                },
            }
        )
    if console_url:
        buttons.append(
            {
                "type": "button",
                "action_id": "firebell.open",
                "url": incident_url(console_url, incident.reference),
                "text": {"type": "plain_text", "text": "Open in firebell"},
            }
        )
    if buttons:
        blocks.append({"type": "actions", "block_id": "firebell.actions", "elements": buttons})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": slack_escaped(
                        f"Opened {incident.opened_at:%Y-%m-%d %H:%M} UTC · {incident.source.value} · seen {incident.occurrences}×"
                    ),
                }
            ],
        }
    )
    # (the top-level text is mrkdwn too, and it is what notifications show: escaped as well; the header is plain text)
    return {
        "text": _cut(slack_escaped(f"{headline(incident)} ({_state(incident)})"), 3000),
        "blocks": blocks,
        "metadata": {
            "event_type": METADATA_TYPE,
            "event_payload": {"incident_id": incident.incident_id, "reference": incident.reference},
        },
        "unfurl_links": False,
    }


def resolve_dialog(incident: Incident) -> dict[str, Any]:
    """views.open's view: resolution notes, which resolving requires (ITIL: how it was fixed)."""
    return {
        "type": "modal",
        "callback_id": RESOLVE_DIALOG,
        "private_metadata": incident.incident_id,
        "title": {"type": "plain_text", "text": _cut(f"Resolve {incident.reference}", 24)},
        "submit": {"type": "plain_text", "text": "Resolve"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": NOTES_BLOCK,
                "label": {"type": "plain_text", "text": "Resolution notes"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": NOTES_INPUT,
                    "multiline": True,
                    "min_length": 1,
                    "max_length": 3000,
                },
            }
        ],
    }


def teams_card(incident: Incident, event_type: EventType, console_url: str) -> dict[str, Any]:
    """The Workflows webhook's body: a message with one Adaptive Card 1.4 (what Teams renders in channels)."""
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": _teams_escaped(headline(incident)),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {"type": "TextBlock", "text": f"{event_type.value}", "isSubtle": True, "spacing": "None", "wrap": True},
        {
            "type": "FactSet",
            "facts": [{"title": name, "value": _teams_escaped(value)} for name, value in _facts(incident)],
        },
    ]
    notes = _notes(incident)
    if notes:
        body.append({"type": "TextBlock", "text": _teams_escaped(_cut(notes, _SECTION_MAX)), "wrap": True})
    actions: list[dict[str, Any]] = []
    if console_url:
        url = incident_url(console_url, incident.reference)
        if incident.status is Status.TRIGGERED:  # the console acknowledges as whoever signs in
            actions.append(
                {"type": "Action.OpenUrl", "title": "Acknowledge", "url": f"{url}?do=acknowledge", "style": "positive"}
            )
        actions.append({"type": "Action.OpenUrl", "title": "Open in firebell", "url": url})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
        "actions": actions,
        "msteams": {"width": "Full"},
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def google_chat_message(incident: Incident, event_type: EventType, console_url: str) -> dict[str, Any]:
    """An incoming webhook's body (Chat API Message): a text fallback and a card, in the incident's thread."""
    # Google Chat reads <…> in a message's text as mentions and links, and a card's text as HTML: the text carries
    # nothing an alarm wrote, and the card's text is escaped.
    widgets: list[dict[str, Any]] = [
        {"decoratedText": {"topLabel": name, "text": html.escape(value)}} for name, value in _facts(incident)
    ]
    notes = _notes(incident)
    if notes:
        widgets.append({"textParagraph": {"text": html.escape(_cut(notes, _SECTION_MAX))}})
    if console_url:
        widgets.append(
            {
                "buttonList": {
                    "buttons": [
                        {
                            "text": "Open in firebell",
                            "onClick": {"openLink": {"url": incident_url(console_url, incident.reference)}},
                        }
                    ]
                }
            }
        )
    drill = "DRILL " if incident.drill else ""
    return {
        "text": f"{_STATUS_MARK[incident.status]} {drill}{incident.reference} {incident.priority or 'unprioritised'} ({event_type.value})",
        "thread": {"threadKey": incident.incident_id},
        "cardsV2": [
            {
                "cardId": "incident",
                "card": {
                    "header": {"title": _cut(headline(incident), 200), "subtitle": event_type.value},
                    "sections": [{"widgets": widgets}],
                },
            }
        ],
    }


def google_message_id(event_type: EventType, incident_id: str, occurred_at_iso: str, channel_id: str) -> str:
    """Google Chat's client-assigned message id: `client-` and up to 57 of [a-z0-9-]; the same for every attempt."""
    digest = hashlib.sha256(f"{incident_id}|{event_type.value}|{occurred_at_iso}|{channel_id}".encode()).hexdigest()
    return f"client-{digest[:40]}"


def google_chat_url(url: str, message_id: str) -> str:
    """The webhook's URL with the message id, and "reply in the incident's thread, else start it"."""
    joiner = "&" if "?" in url else "?"
    return f"{url}{joiner}messageId={message_id}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"


# --- the /firebell slash command -----------------------------------------------------------------------------

_REFERENCE = re.compile(r"^INC-\d{1,12}$", re.IGNORECASE)
USAGE = (
    "Usage: `/firebell ack INC-12` · `/firebell resolve INC-12 <what fixed it>` · `/firebell oncall [team]` · "
    "`/firebell report <title>`"
)


class CommandRefused(ValueError):
    """What the person typed is not a command firebell knows: the usage is the answer."""


def parse_command(text: str) -> tuple[str, str | None, str]:
    """(verb, incident reference or None, the rest) of the slash command's text."""
    problem = text_problem(text)  # (what the API refuses in any text: a NUL would travel on into emails and SMS)
    if problem:
        raise CommandRefused(f"Not taken: the text {problem}.")
    verb, rest = ([*text.split(None, 1), "", ""])[:2]  # (any whitespace between: a tab is what some keyboards send)
    verb = {
        "ack": "acknowledge",
        "acknowledge": "acknowledge",
        "resolve": "resolve",
        "oncall": "oncall",
        "on-call": "oncall",
        "report": "report",
        "help": "help",
        "": "help",
    }.get(verb.lower(), "")
    rest = rest.strip()
    if not verb:
        raise CommandRefused(f"Unknown command. {USAGE}")
    if verb in ("acknowledge", "resolve"):
        reference, rest = ([*rest.split(None, 1), "", ""])[:2]
        if not _REFERENCE.match(reference):
            raise CommandRefused(f"Name the incident, e.g. `/firebell {text.split()[0]} INC-12`.")
        if verb == "resolve" and not rest.strip():
            raise CommandRefused("Say what fixed it: `/firebell resolve INC-12 <resolution notes>`.")
        return verb, reference.upper(), rest.strip()
    if verb == "report" and not rest:
        raise CommandRefused("Give a title: `/firebell report <what is wrong>`.")
    return verb, None, rest
