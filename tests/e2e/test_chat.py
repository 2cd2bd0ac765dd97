"""Chat on the local runtime, against stand-ins that hold firebell to what the real services require: Slack
(infra/local/slack_stand_in.py: its Web API checks the bot token and every message's Block Kit with slack_sdk's
models; its person signs every click and command as Slack does, with slack_sdk's SignatureVerifier), and Teams and
Google Chat webhooks (plain receivers that keep what they got).

An incident is one Slack message, updated in place as it changes, whoever changed it and from wherever; its buttons
and /firebell act as the clicking person of the directory, with their roles; requests Slack did not sign, or signed
long ago, or sent before, are refused."""

from __future__ import annotations

import json
import os
import secrets
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from firebell.domain import chat
from infra.local.demo import http, wait_for
from infra.local.slack_stand_in import Message, SlackStandIn
from infra.local.webhook_receiver import WebhookReceiver
from infra.topology import ROOT
from tests.e2e.conftest import TIME_SCALE, RunningPipeline, running_pipeline

CHANNEL = "C0INCIDENTS"
PEOPLE = {"bob": "U0BOB", "dave": "U0DAVE"}  # a responder, and a viewer
ON_CALL_SLACK = "U0ONCALL"


@pytest.fixture(scope="module")
def slack() -> Iterator[SlackStandIn]:
    stand_in = SlackStandIn(bot_token=f"xoxb-{secrets.token_hex(8)}", signing_secret=secrets.token_hex(16))
    yield stand_in
    stand_in.close()


@pytest.fixture(scope="module")
def teams() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def google() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    yield receiver
    receiver.close()


@pytest.fixture(scope="module")
def pipeline(slack: SlackStandIn, teams: WebhookReceiver, google: WebhookReceiver) -> Iterator[RunningPipeline]:
    """Its own runtime, told where Slack is and given the app's secrets, as a deployer gives them; the channels are
    set up first (the directory reaches the functions within 15 s: the first message waited for says they have it)."""
    given = {
        "FIREBELL_SLACK_API_URL": slack.api_url,
        "FIREBELL_SLACK_BOT_TOKEN": slack.bot_token,
        "FIREBELL_SLACK_SIGNING_SECRET": slack.signing_secret,
    }
    before = {name: os.environ.get(name) for name in given}
    os.environ.update(given)
    try:
        with running_pipeline(ROOT / "config", TIME_SCALE) as running:
            api = running.api_url
            for entry in (
                {"id": "incidents", "kind": "slack", "channel": CHANNEL},
                {"id": "teams-ops", "kind": "teams", "url": teams.url},
                {
                    "id": "gchat-ops",
                    "kind": "google_chat",
                    "url": f"{google.url}?key=k&token=t",
                    "events": ["incident.opened"],
                },
            ):
                status, answer = http("PUT", f"{api}/admin/chat_channels/{entry['id']}", entry, as_="carol")
                assert status == 201, answer
            # The person on call for the platform (where these tests' reports go) gets pages in Slack too.
            on_call = http("GET", f"{api}/schedules/platform-primary/on-call")[1]["person"]["id"]
            for person, slack_user in {**PEOPLE, on_call: PEOPLE.get(on_call, ON_CALL_SLACK)}.items():
                _, entry = http("GET", f"{api}/admin/people/{person}", as_="carol")
                rules = {"notification_rules": {"high": {"via": ["slack", "email"]}}} if person == on_call else {}
                status, answer = http(
                    "PUT",
                    f"{api}/admin/people/{person}",
                    {**entry["entry"], "slack_user_id": slack_user, **rules},
                    as_="carol",
                )
                assert status == 200, answer
            yield running
    finally:
        for name, value in before.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _report(pipeline: RunningPipeline, title: str) -> dict:
    status, incident = http(
        "POST", f"{pipeline.api_url}/incidents", {"title": title, "impact": "high", "urgency": "high"}
    )
    assert status == 201, incident
    return incident


def _message(slack: SlackStandIn, incident: dict, showing: str = "", timeout: float = 40) -> Message:
    """The incident's one message in the channel, once it shows `showing` (the directory reaches the functions
    within 15 s of an admin's change)."""

    def shown() -> Message | None:
        found = slack.message(CHANNEL, incident["incident_id"])
        assert len(found) <= 1, f"{len(found)} messages for {incident['reference']}"
        return found[0] if found and showing in found[0].text else None

    return wait_for(f"{incident['reference']}'s Slack message showing {showing!r}", shown, timeout)


def _incident(pipeline: RunningPipeline, incident: dict) -> dict:
    status, current = http("GET", f"{pipeline.api_url}/incidents/{incident['incident_id']}")
    assert status == 200
    return current


def _buttons(message: Message) -> list[str]:
    return [e.get("action_id") for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def test_an_incident_is_one_message_updated_in_place_also_when_acknowledged_elsewhere(
    pipeline: RunningPipeline, slack: SlackStandIn
) -> None:
    incident = _report(pipeline, "Checkout latency over 2 s")
    message = _message(slack, incident, "triggered")
    assert incident["reference"] in message.text and "Checkout latency over 2 s" in message.text
    assert _buttons(message) == [chat.ACKNOWLEDGE, chat.RESOLVE, chat.ESCALATE, "firebell.open"]
    # Acknowledged from the console (or the CLI, or an SMS link): the channel sees it, in the same message.
    status, _ = http("POST", f"{pipeline.api_url}/incidents/{incident['incident_id']}/acknowledge", {}, as_="alice")
    assert status == 200
    message = _message(slack, incident, "acknowledged by alice")
    assert message.edits >= 1 and chat.ACKNOWLEDGE not in _buttons(message)
    timeline = http("GET", f"{pipeline.api_url}/incidents/{incident['incident_id']}/timeline")[1]["items"]
    posted = [e for e in timeline if e["details"].get("chat_channel") == "incidents"]  # (the Slack channel's own)
    assert len(posted) == 1 and posted[0]["message"] == "Posted to Slack (incidents)"


def test_buttons_act_as_the_directory_person_with_their_roles(pipeline: RunningPipeline, slack: SlackStandIn) -> None:
    api = pipeline.api_url
    incident = _report(pipeline, "Payments webhook failing")
    message = _message(slack, incident, "triggered")
    # Someone Slack knows but the directory does not: told so, only them, and nothing changes.
    assert slack.click(api, "U0STRANGER", message, chat.ACKNOWLEDGE)[0] == 200
    assert (
        "linked to no firebell person" in slack.responses[-1]["text"]
        and slack.responses[-1]["response_type"] == "ephemeral"
    )
    # A viewer may not acknowledge: the same rule as the API's.
    assert slack.click(api, PEOPLE["dave"], message, chat.ACKNOWLEDGE)[0] == 200
    assert "viewer may not acknowledge incidents" in slack.responses[-1]["text"]
    assert _incident(pipeline, incident)["status"] == "triggered"
    # Bob may: acknowledged as bob, and the message says so.
    assert slack.click(api, PEOPLE["bob"], message, chat.ACKNOWLEDGE)[0] == 200
    assert _incident(pipeline, incident)["acknowledged_by"] == "bob"
    message = _message(slack, incident, "acknowledged by bob")
    # Resolve… opens a dialog (Slack's modal, checked with slack_sdk's View model); its notes resolve it as bob.
    assert slack.click(api, PEOPLE["bob"], message, chat.RESOLVE)[0] == 200
    assert slack.views[-1]["view"]["private_metadata"] == incident["incident_id"]
    status, body = slack.submit_resolve(api, PEOPLE["bob"], "   ")  # blank: the dialog says why, nothing resolves
    assert status == 200 and json.loads(body)["response_action"] == "errors"
    assert _incident(pipeline, incident)["status"] == "acknowledged"
    status, body = slack.submit_resolve(api, PEOPLE["bob"], "rotated the webhook signing key")
    assert status == 200 and body == ""
    resolved = _incident(pipeline, incident)
    assert (resolved["status"], resolved["resolved_by"], resolved["resolution_notes"]) == (
        "resolved",
        "bob",
        "rotated the webhook signing key",
    )
    message = _message(slack, incident, "resolved by bob")
    assert _buttons(message) == ["firebell.open"]
    assert "rotated the webhook signing key" in json.dumps(message.blocks)


def test_the_slash_command_as_people_type_it(pipeline: RunningPipeline, slack: SlackStandIn) -> None:
    api = pipeline.api_url
    incident = _report(pipeline, "Search index stale")
    _message(slack, incident, "triggered")

    def answer(user: str, text: str) -> str:
        status, body = slack.command(api, user, text)
        assert status == 200, body
        reply = json.loads(body)
        assert reply["response_type"] == "ephemeral"
        return reply["text"]

    assert (
        answer(PEOPLE["bob"], f"ack {incident['reference']}")
        == f"{incident['reference']} acknowledged: paging has stopped."
    )
    _message(slack, incident, "acknowledged by bob")
    assert "Usage" in answer(PEOPLE["bob"], "")
    assert "Unknown command" in answer(PEOPLE["bob"], "dance")
    assert "Say what fixed it" in answer(PEOPLE["bob"], f"resolve {incident['reference']}")
    # The API's own limits: no control characters, notes within 65,536 characters
    assert answer(PEOPLE["bob"], "report bad\x00char") == "Not taken: the text contains the control character U+0000."
    assert answer(PEOPLE["bob"], f"resolve {incident['reference']} {'x' * 70_000}").startswith("Not done:")
    assert (
        answer(PEOPLE["bob"], f"resolve {incident['reference']} rebuilt the index")
        == f"{incident['reference']} resolved."
    )
    assert (
        "Platform primary" in answer(PEOPLE["dave"], "oncall platform")
        or "platform" in answer(PEOPLE["dave"], "oncall platform").lower()
    )
    reported = answer(PEOPLE["dave"], "report Printer on fire")
    assert reported.startswith("Not done:") and "viewer" in reported  # a viewer reports nothing
    reported = answer(PEOPLE["bob"], "report Printer on fire on floor 3")
    assert reported.startswith("Reported as INC-")
    status, found = http("GET", f"{api}/incidents/{reported.split()[2].rstrip(':')}")
    assert status == 200 and found["title"] == "Printer on fire on floor 3" and found["reporter"] == "bob"


def test_requests_slack_did_not_sign_or_sent_before_are_refused(pipeline: RunningPipeline, slack: SlackStandIn) -> None:
    url = f"{pipeline.api_url}/chat/slack/commands"
    form = {"command": "/firebell", "text": "help", "user_id": PEOPLE["bob"]}
    forged = SlackStandIn.__new__(SlackStandIn)  # (only its signing: another app's secret)
    forged.signing_secret = "not-the-apps-secret"
    assert SlackStandIn.send(forged, url, form)[0] == 401
    assert slack.send(url, form, timestamp=int(time.time()) - 600)[0] == 401  # signed 10 minutes ago
    # The same signed request twice: the second is a replay.
    from urllib.parse import urlencode

    from slack_sdk.signature import SignatureVerifier

    from infra.local.slack_stand_in import post_signed

    body, timestamp = urlencode(form), str(int(time.time()))
    signature = SignatureVerifier(slack.signing_secret).generate_signature(timestamp=timestamp, body=body)
    assert post_signed(url, body, timestamp, signature)[0] == 200
    status, answer = post_signed(url, body, timestamp, signature)
    assert status == 401 and "replay" in answer
    assert post_signed(url, body, timestamp, "")[0] == 401
    for hostile in ("abc", "1e10", "²", "-1", " " + timestamp):  # not a time: as unsigned as a forgery, never a 5xx
        assert post_signed(url, body, hostile, signature)[0] == 401, hostile
    assert post_signed(url, b"\xff", timestamp, "v0=forged")[0] == 401  # (not UTF-8: the verifier's decoding raised)
    assert post_signed(f"{pipeline.api_url}/chat/slack/interactions", "payload=%ff%fe", timestamp, signature)[0] == 401


def test_a_post_whose_answer_was_lost_is_found_not_posted_twice(pipeline: RunningPipeline, slack: SlackStandIn) -> None:
    slack.fail("chat.postMessage", "lost_answer", channel=CHANNEL)
    slack.fail("chat.update", "http_429", times=2, channel=CHANNEL)  # and Slack rate-limits the updates for a while
    incident = _report(pipeline, "Disk 95% full on db-7")
    message = _message(slack, incident, "triggered")  # (there at once: the post that lost its answer)
    http("POST", f"{pipeline.api_url}/incidents/{incident['incident_id']}/acknowledge", {}, as_="alice")
    assert _message(slack, incident, "acknowledged by alice").ts == message.ts
    assert len(slack.message(CHANNEL, incident["incident_id"])) == 1
    assert slack.calls.count("conversations.history") >= 1  # (the retry looked for it before posting)


def test_the_on_call_persons_rules_page_them_in_slack(pipeline: RunningPipeline, slack: SlackStandIn) -> None:
    on_call = http("GET", f"{pipeline.api_url}/schedules/platform-primary/on-call")[1]["person"]["id"]
    member = PEOPLE.get(on_call, ON_CALL_SLACK)
    incident = _report(pipeline, "Primary database deadlock")
    _message(slack, incident, "triggered")  # (the directory change is in effect by now: a second report follows it)
    incident = _report(pipeline, "Replica lag over 5 minutes")
    dm = wait_for(
        "the page as a Slack direct message",
        lambda: next((m for m in slack.channel(member) if incident["reference"] in m.text), None),
        40,
    )
    assert "Ack:" in dm.text
    timeline = http("GET", f"{pipeline.api_url}/incidents/{incident['incident_id']}/timeline")[1]["items"]
    assert any(e["details"].get("channel") == "slack" and e["details"].get("to") == member for e in timeline)


def test_a_deleted_message_is_posted_again_when_the_incident_changes(
    pipeline: RunningPipeline, slack: SlackStandIn
) -> None:
    incident = _report(pipeline, "Cache hit rate under 50%")
    gone = _message(slack, incident, "triggered")
    with slack._lock:
        slack.messages.remove(gone)  # (someone deleted it in Slack)
    http("POST", f"{pipeline.api_url}/incidents/{incident['incident_id']}/acknowledge", {}, as_="alice")
    again = _message(slack, incident, "acknowledged by alice")
    assert again.ts != gone.ts
    assert pipeline.process.poll() is None


def test_teams_and_google_chat_get_a_card_per_event(
    pipeline: RunningPipeline, slack: SlackStandIn, teams: WebhookReceiver, google: WebhookReceiver
) -> None:
    api = pipeline.api_url
    incident = _report(pipeline, "Login errors over 5%")
    _message(slack, incident, "triggered")  # (the channels are in effect)
    http("POST", f"{api}/incidents/{incident['incident_id']}/acknowledge", {}, as_="alice")

    def cards() -> list[dict] | None:
        mine = [json.loads(body) for _, body, _ in teams.got if incident["reference"] in body]
        return mine if len(mine) >= 2 else None

    for card in wait_for("Teams cards for the opening and the acknowledgement", cards, 40):
        (attachment,) = card["attachments"]
        assert card["type"] == "message" and attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert attachment["content"]["version"] == "1.4" and attachment["content"]["type"] == "AdaptiveCard"
    body = wait_for(
        "a Google Chat post",
        lambda: next((json.loads(b) for _, b, _ in google.got if incident["reference"] in b), None),
        40,
    )
    assert (
        body["thread"] == {"threadKey": incident["incident_id"]}
        and body["cardsV2"][0]["card"]["header"]["subtitle"] == "incident.opened"
    )
    path = next(p for p, (_, b, _) in zip(google.paths, google.got, strict=True) if incident["reference"] in b)
    query = parse_qs(urlsplit(path).query)
    assert query["messageId"][0].startswith("client-") and query["messageReplyOption"] == [
        "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"
    ]
    assert query["key"] == ["k"] and query["token"] == ["t"]

    def recorded() -> set[str] | None:
        entries = http("GET", f"{api}/incidents/{incident['incident_id']}/timeline")[1]["items"]
        posts = {e["message"] for e in entries if e["details"].get("channel") in ("teams", "google_chat")}
        return posts if len(posts) >= 3 else None

    assert wait_for("the posts on the timeline", recorded, 20) == {
        "Posted incident.opened to Teams (teams-ops)",
        "Posted incident.acknowledged to Teams (teams-ops)",
        "Posted incident.opened to Google Chat (gchat-ops)",
    }
