"""Chat in the console: an admin adds a Slack channel under Directory → Chat channels (others never see the kind,
nor a Teams or Google Chat URL's token), and a chat card's Acknowledge link (`#/incidents/INC-12?do=acknowledge`,
domain/chat.py: teams_card) asks before it acts: only the person's own click acknowledges, never the opening."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.console import NAMES, WAIT_MS, machine, report, sign_in
from tests.e2e.conftest import RunningPipeline

# A Teams Workflows webhook's URL: its `sig` is what lets anyone post to the channel.
TEAMS_URL = (
    "https://prod-12.westeurope.logic.azure.com:443/workflows/0a1b2c3d/triggers/manual/paths/invoke"
    "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=TOKENTHATMUSTNOTSHOW"
)


def row_of(page: Page, entry_id: str) -> Any:
    return page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=entry_id, exact=True))


def test_an_admin_adds_a_slack_channel_and_only_admins_see_chat_channels(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    # A paused Teams channel, added over the API: its URL carries its token
    status, answer = machine(
        pipeline, "PUT", "/admin/chat_channels/ops-teams", {"kind": "teams", "url": TEAMS_URL, "enabled": False}
    )
    assert status in (200, 201), answer
    try:
        page = open_page()
        sign_in(page, pipeline, "frank")  # admin
        page.get_by_role("navigation", name="Main").get_by_role("link", name="Directory").click()
        expect(page.get_by_role("columnheader", name="Slack")).to_be_visible(
            timeout=WAIT_MS
        )  # people's Slack ids: admins only
        page.get_by_role("navigation", name="Directory").get_by_role("link", name="Chat channels").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Directory: Chat channels")

        # The Teams channel shows its host, never its URL's token
        teams = row_of(page, "ops-teams")
        expect(teams).to_contain_text("Microsoft Teams", timeout=WAIT_MS)
        expect(teams).to_contain_text("prod-12.westeurope.logic.azure.com/…")
        expect(teams).to_contain_text("no (paused)")
        expect(page.get_by_role("main")).not_to_contain_text("TOKENTHATMUSTNOTSHOW")

        # When he adds a Slack channel, saving the template as it is: the API's refusal, naming the channel
        page.get_by_role("button", name="Add chat channel").click()
        dialog = page.get_by_role("dialog")
        entry = dialog.get_by_label("The chat channel, as JSON")
        expect(entry).to_have_value(re.compile(r'"kind": "slack"'))
        dialog.get_by_label("Id", exact=True).fill("incidents-slack")
        dialog.get_by_role("button", name="Save").click()
        expect(dialog.get_by_role("alert")).to_contain_text("body.channel", timeout=WAIT_MS)

        # Then with the channel's id it is saved and listed
        entry.fill(
            '{"kind": "slack", "channel": "C0INCIDENTS", "description": "Platform incidents",'
            ' "events": ["incident.opened", "incident.resolved"], "teams": ["platform"], "services": [], "enabled": true}'
        )
        dialog.get_by_role("button", name="Save").click()
        expect(dialog).to_have_count(0, timeout=WAIT_MS)
        slack = row_of(page, "incidents-slack")
        for text in ("Slack", "C0INCIDENTS", "incident.opened, incident.resolved", "platform", "all", "yes", "admin"):
            expect(slack).to_contain_text(text)
        screenshot(page, "directory-chat-channels")
        status, stored = machine(pipeline, "GET", "/admin/chat_channels/incidents-slack")
        assert (status, stored["entry"]["kind"], stored["entry"]["channel"]) == (200, "slack", "C0INCIDENTS"), stored

        # An incident manager's directory has no chat channels, not even by their address
        others = open_page()
        sign_in(others, pipeline, "carol")
        others.goto(f"{pipeline.api_url}/#/directory/chat_channels")
        expect(others.get_by_role("heading", level=1)).to_have_text("Directory: People", timeout=WAIT_MS)
        expect(others.get_by_role("rowheader", name="alice", exact=True)).to_be_visible(timeout=WAIT_MS)
        expect(
            others.get_by_role("navigation", name="Directory").get_by_role("link", name="Chat channels")
        ).to_have_count(0)
        expect(others.get_by_role("columnheader", name="Slack")).to_have_count(0)
    finally:  # the other tests' incidents post to no channel of this test's
        for channel in ("ops-teams", "incidents-slack"):
            machine(pipeline, "DELETE", f"/admin/chat_channels/{channel}")


def prompt(page: Page) -> Any:
    return page.get_by_role("region", name=re.compile(r"^Acknowledge INC-\d+ now\?"))


def notice(page: Page) -> Any:
    return page.locator("section.prompt")


def status_of(pipeline: RunningPipeline, reference: str) -> dict[str, Any]:
    status, incident = machine(pipeline, "GET", f"/incidents/{reference}")
    assert status == 200, incident
    return incident


def test_a_chat_cards_acknowledge_link_asks_first_and_acknowledges_only_on_the_click(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    reference = report(pipeline, "Checkout card payments declined")["reference"]
    link = f"{pipeline.api_url}/#/incidents/{reference}?do=acknowledge"

    # Opened by someone not signed in yet: signing in brings them back to the same link
    page = open_page()
    page.goto(link)
    page.get_by_role("button", name=re.compile(r"^Sign in as Bob Backend \(bob\)")).click(timeout=WAIT_MS)
    expect(page.locator("#who")).to_contain_text(f"Signed in as {NAMES['bob']}", timeout=WAIT_MS)

    # Then the page asks; opening the link did not acknowledge (link scanners and previews open links too)
    asked = prompt(page)
    expect(asked).to_contain_text(f"Acknowledge {reference} now? This stops paging.", timeout=WAIT_MS)
    expect(asked.get_by_role("button", name="Not now")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Checkout card payments declined")
    expect(page.locator("#h-timeline + div li").first).to_be_visible(timeout=WAIT_MS)  # the page loaded whole
    expect(page.locator("#h-similar + div")).not_to_be_empty(timeout=WAIT_MS)
    screenshot(page, "ack-prompt")
    assert status_of(pipeline, reference)["status"] == "triggered"

    # When he clicks Acknowledge, it is acknowledged as him, as the page's own button would
    asked.get_by_role("button", name="Acknowledge").click()
    summary = page.locator("#h-summary + div")
    expect(summary).to_contain_text(f"by {NAMES['bob']} (bob)", timeout=WAIT_MS)
    expect(notice(page)).to_have_text(f"You acknowledged {reference}: paging has stopped.")
    expect(page.locator("#status")).to_contain_text(f"{reference} acknowledged")
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert page.url.endswith(f"#/incidents/{reference}"), page.url  # no ?do= left: a reload does not ask again
    incident = status_of(pipeline, reference)
    assert (incident["status"], incident["acknowledged_by"]) == ("acknowledged", "bob")
    page.reload()
    expect(summary).to_contain_text(f"by {NAMES['bob']} (bob)", timeout=WAIT_MS)
    expect(notice(page)).to_be_hidden()

    # Opening the link again only says so, to him and to anyone else
    page.goto(link)
    expect(notice(page)).to_have_text(f"{reference} is already acknowledged by you.", timeout=WAIT_MS)
    expect(prompt(page)).to_have_count(0)
    other = open_page()
    sign_in(other, pipeline, "alice")
    other.goto(link)
    expect(notice(other)).to_have_text(f"{reference} is already acknowledged by {NAMES['bob']} (bob).", timeout=WAIT_MS)
    expect(prompt(other)).to_have_count(0)
    expect(other.get_by_role("main").get_by_role("button", name="Acknowledge")).to_have_count(0)


def test_not_now_leaves_it_triggered_and_a_viewer_is_never_asked(pipeline: RunningPipeline, open_page: Any) -> None:
    reference = report(pipeline, "Checkout basket empties itself")["reference"]
    link = f"{pipeline.api_url}/#/incidents/{reference}?do=acknowledge"

    # A responder who says Not now: nothing is done, and the address no longer asks
    page = open_page()
    sign_in(page, pipeline, "erin")
    page.goto(link)
    prompt(page).get_by_role("button", name="Not now").click(timeout=WAIT_MS)
    expect(prompt(page)).to_have_count(0)
    assert page.url.endswith(f"#/incidents/{reference}"), page.url
    expect(page.get_by_role("group", name="Actions").get_by_role("button", name="Acknowledge")).to_be_visible()
    assert status_of(pipeline, reference)["status"] == "triggered"

    # A viewer: told it waits for someone who may acknowledge it, with nothing to press
    viewer = open_page()
    sign_in(viewer, pipeline, "dave")
    viewer.goto(link)
    expect(notice(viewer)).to_have_text(
        f"{reference} is waiting to be acknowledged, but your roles do not allow you to acknowledge it.",
        timeout=WAIT_MS,
    )
    expect(prompt(viewer)).to_have_count(0)
    expect(viewer.get_by_role("main").get_by_role("button")).to_have_count(0)
    assert status_of(pipeline, reference)["status"] == "triggered"
