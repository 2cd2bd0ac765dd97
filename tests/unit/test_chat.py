"""Chat, pure (domain/chat.py): Slack messages Slack accepts (checked with slack_sdk's own Block Kit models), what
alarm text can and cannot do in them, the Teams and Google Chat bodies, the channels an admin may set up, and the
/firebell command as people type it. Teams cards are checked with Microsoft's renderer in tests/browser/test_teams_card.py."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from firebell.domain import chat
from firebell.domain.chat import ChatChannel, CommandRefused, parse_command
from firebell.domain.enums import EventType, Source, Status
from firebell.domain.models import Incident

OPENED = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def incident(status: Status = Status.TRIGGERED, **changes) -> Incident:
    fields = dict(
        incident_id="01HZX3T0CHECKOUT5XX",
        reference="INC-42",
        title="Checkout returns 5xx",
        status=status,
        source=Source.CLOUDWATCH_ALARM,
        reporter="cloudwatch",
        service="checkout",
        team="payments",
        priority="P1",
        opened_at=OPENED,
        last_seen_at=OPENED,
    )
    return Incident(**{**fields, **changes})


def blocks_slack_accepts(message: dict) -> list[dict]:
    for block in message["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()  # raises SlackObjectFormationError past Slack's limits
    assert len(message["blocks"]) <= 50
    return message["blocks"]


def buttons(message: dict) -> list[str]:
    return [e["action_id"] for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


@pytest.mark.parametrize(
    "status, expected",
    [
        (Status.TRIGGERED, [chat.ACKNOWLEDGE, chat.RESOLVE, chat.ESCALATE, "firebell.open"]),
        (Status.ACKNOWLEDGED, [chat.RESOLVE, chat.ESCALATE, "firebell.open"]),
        (Status.ON_HOLD, [chat.RESOLVE, chat.ESCALATE, "firebell.open"]),
        (Status.RESOLVED, ["firebell.open"]),
        (Status.CLOSED, ["firebell.open"]),
    ],
)
def test_a_slack_message_offers_what_can_be_done_in_each_state(status: Status, expected: list[str]) -> None:
    message = chat.slack_message(
        incident(status, acknowledged_by="bob", resolved_by="bob", resolution_notes="restarted"),
        "https://console.example.com",
    )
    blocks_slack_accepts(message)
    assert buttons(message) == expected
    assert message["metadata"] == {
        "event_type": chat.METADATA_TYPE,
        "event_payload": {"incident_id": "01HZX3T0CHECKOUT5XX", "reference": "INC-42"},
    }
    link = next(
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "firebell.open"
    )
    assert link["url"] == "https://console.example.com/#/incidents/INC-42"


def test_the_longest_texts_firebell_takes_still_make_a_message_slack_accepts() -> None:
    longest = incident(title="T" * 1024, description="D" * 65_536, service="s" * 128, team="t" * 128)
    message = chat.slack_message(longest, "")
    blocks_slack_accepts(message)
    assert "firebell.open" not in buttons(message)  # (no console address known: no link)
    assert len(message["text"]) <= 3000


def test_alarm_text_cannot_mention_everyone_or_forge_a_link_in_slack() -> None:
    hostile = incident(
        title="<!channel> disk full <https://evil.example|click me> & more", description="<@U0BOSS> look"
    )
    message = chat.slack_message(hostile, "")
    # Slack reads mrkdwn (where <!channel> and <url|text> are markup) in the message's text and its sections and
    # context; the header is plain text, shown as it is.
    rendered = json.dumps([message["text"], *(b for b in message["blocks"] if b["type"] != "header")])
    assert message["blocks"][0]["text"]["type"] == "plain_text"
    assert "<!channel>" not in rendered and "<https://evil" not in rendered and "<@U0BOSS>" not in rendered
    assert "&lt;!channel&gt;" in rendered and "&amp; more" in rendered


def test_alarm_text_cannot_make_a_link_or_bold_in_a_teams_card() -> None:
    card = chat.teams_card(incident(title="[click](https://evil.example) *now*"), EventType.OPENED, "https://c.example")
    content = card["attachments"][0]["content"]
    assert content["body"][0]["text"].endswith(r"\[click\](https://evil.example) \*now\*")
    assert [a["title"] for a in content["actions"]] == ["Acknowledge", "Open in firebell"]
    assert content["actions"][0]["url"] == "https://c.example/#/incidents/INC-42?do=acknowledge"


def test_alarm_text_cannot_mention_a_google_chat_space_or_make_a_link_there() -> None:
    body = chat.google_chat_message(
        incident(
            title="<users/all> <https://evil.example/login|Acknowledge here>",
            description="<a href='https://evil.example'>x</a>",
        ),
        EventType.OPENED,
        "",
    )
    assert "<" not in body["text"] and "evil" not in body["text"]  # (the text carries no alarm text at all)
    rendered = json.dumps(body["cardsV2"][0]["card"]["sections"])
    assert "<a href" not in rendered and "&lt;a href=" in rendered


def test_a_google_chat_post_goes_into_the_incidents_thread_under_an_id_google_accepts() -> None:
    body = chat.google_chat_message(incident(), EventType.OPENED, "https://c.example")
    assert body["thread"] == {"threadKey": "01HZX3T0CHECKOUT5XX"}
    message_id = chat.google_message_id(EventType.OPENED, "01HZX3T0CHECKOUT5XX", OPENED.isoformat(), "gchat")
    # Google Chat: "client-" then letters, numbers and hyphens, 63 characters at most.
    assert re.fullmatch(r"client-[a-z0-9-]{1,56}", message_id)
    assert message_id == chat.google_message_id(EventType.OPENED, "01HZX3T0CHECKOUT5XX", OPENED.isoformat(), "gchat")
    assert message_id != chat.google_message_id(EventType.RESOLVED, "01HZX3T0CHECKOUT5XX", OPENED.isoformat(), "gchat")
    url = chat.google_chat_url("https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t", message_id)
    assert url == (
        "https://chat.googleapis.com/v1/spaces/AAA/messages?key=k&token=t"
        f"&messageId={message_id}&messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
    )


def test_the_resolve_dialog_is_a_modal_slack_accepts() -> None:
    view = chat.resolve_dialog(incident(reference="INC-123456789"))
    View(**view).validate_json()
    assert view["private_metadata"] == "01HZX3T0CHECKOUT5XX"


def test_channels_name_where_they_post_and_card_channels_skip_the_opening_classification() -> None:
    slack = ChatChannel(id="ops", kind="slack", channel="C0INCIDENTS")
    teams = ChatChannel(id="t", kind="teams", url="https://example.webhook.office.com/workflows/x")
    assert slack.wants(EventType.CLASSIFIED, "payments", None) and not teams.wants(
        EventType.CLASSIFIED, "payments", None
    )
    assert ChatChannel(id="t", kind="teams", url="https://h.example/x", events=[EventType.CLASSIFIED]).wants(
        EventType.CLASSIFIED, None, None
    )
    for wrong, field in (
        ({"kind": "slack"}, "channel"),
        ({"kind": "slack", "channel": "C0X1", "url": "https://h.example"}, "channel"),
        ({"kind": "teams"}, "url"),
        ({"kind": "google_chat", "url": "http://evil.example/x"}, "url"),
        ({"kind": "slack", "channel": "#incidents"}, "channel"),
        ({"kind": "discord", "url": "https://x.example"}, "kind"),
    ):
        with pytest.raises(ValidationError, match=field):
            ChatChannel(id="x", **wrong)


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("ack INC-12", ("acknowledge", "INC-12", "")),
        ("  acknowledge   inc-12 ", ("acknowledge", "INC-12", "")),
        ("resolve INC-7 rolled back v2.4.1", ("resolve", "INC-7", "rolled back v2.4.1")),
        ("oncall", ("oncall", None, "")),
        ("on-call payments", ("oncall", None, "payments")),
        ("report Printer on fire", ("report", None, "Printer on fire")),
        ("", ("help", None, "")),
        ("HELP", ("help", None, "")),
        ("ack\tINC-22", ("acknowledge", "INC-22", "")),
    ],
)
def test_the_command_as_people_type_it(typed: str, expected: tuple) -> None:
    assert parse_command(typed) == expected


@pytest.mark.parametrize(
    "typed, says",
    [
        ("dance", "Unknown command"),
        ("ack", "Name the incident"),
        ("ack 12", "Name the incident"),
        ("resolve INC-7", "Say what fixed it"),
        ("report", "Give a title"),
        ("ack INC-" + "9" * 40, "Name the incident"),
    ],
)
def test_what_the_command_refuses_says_what_to_type(typed: str, says: str) -> None:
    with pytest.raises(CommandRefused, match=says):
        parse_command(typed)


def sample_message() -> dict:
    """What docs/chat/slack-message.json shows (paste its blocks into Slack's Block Kit Builder to see it)."""
    shown = incident(
        Status.ACKNOWLEDGED,
        acknowledged_by="bob",
        acknowledged_at=OPENED + timedelta(minutes=3),
        assignee="bob",
        description="Threshold Crossed: 1 out of the last 1 datapoints [12.0] was greater than or equal to the threshold (5.0).",
        occurrences=3,
    )
    return chat.slack_message(shown, "https://d111111abcdef8.cloudfront.net")


def test_docs_show_the_slack_message_as_firebell_makes_it() -> None:
    path = Path(__file__).parents[2] / "docs" / "chat" / "slack-message.json"
    assert json.loads(path.read_text(encoding="utf-8")) == {"blocks": sample_message()["blocks"]}, (
        "docs/chat/slack-message.json: regenerate with `python -m tests.unit.test_chat`"
    )


if __name__ == "__main__":  # python -m tests.unit.test_chat: docs/chat/slack-message.json
    target = Path(__file__).parents[2] / "docs" / "chat" / "slack-message.json"
    target.write_text(
        json.dumps({"blocks": sample_message()["blocks"]}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
