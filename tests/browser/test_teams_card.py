"""The Microsoft Teams card (domain/chat.py: teams_card) checked by Microsoft's own Adaptive Cards renderer: the npm
package `adaptivecards` (package.json pins it; `make install` installs it), the library Teams' web client renders
cards with, loaded into a real headless Chromium.

For each incident state the card must parse with no parse event (unknown element or action types, invalid values,
properties newer than the card's 1.4: the renderer's SerializationContext targets 1.4, as Teams' Workflows webhook
does), pass the renderer's own validation (validateProperties: supported version, required properties, the host's
action limit) and render, showing what the responder needs. A deliberately broken card proves the checks can fail.

FIREBELL_WRITE_SCREENSHOTS=1 also refreshes docs/chat/teams-card.png (the triggered card); every run leaves a copy
under test-artifacts/chat/ (gitignored), as the console's tests do under test-artifacts/console/.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from firebell.domain.chat import incident_url, teams_card
from firebell.domain.enums import AlarmState, EventType, Impact, Priority, Source, Status, Urgency
from firebell.domain.models import AlarmDetails, Incident, KnownError, SlaClock, SlaTimer
from infra.topology import ROOT
from tests.browser.conftest import REQUIRED

RENDERER = ROOT / "node_modules" / "adaptivecards" / "dist" / "adaptivecards.min.js"
RENDERER_VERSION = "3.0.6"  # package.json's devDependencies pin the same
TEAMS_MAX_BYTES = 28 * 1024  # Teams refuses a message (card included) of 28 KB or more
SCREENSHOT_DOC = ROOT / "docs" / "chat" / "teams-card.png"
ARTIFACTS = ROOT / "test-artifacts" / "chat"
CONSOLE = "https://firebell.example.com"
OPENED = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)

# Parses the card as Teams' renderer would, validates it, renders it into <main>; what each step said.
CHECK = """([card, version]) => {
    const A = window.AdaptiveCards;
    const context = new A.SerializationContext();
    context.targetVersion = A.Version.parse(version, context);
    const adaptive = new A.AdaptiveCard();
    adaptive.parse(card, context);
    const events = [];
    for (let i = 0; i < context.eventCount; i++) {
        const e = context.getEventAt(i);
        events.push({phase: A.ValidationPhase[e.phase], event: A.ValidationEvent[e.event], message: e.message});
    }
    const failures = adaptive.validateProperties().validationEvents.map(
        (e) => ({phase: A.ValidationPhase[e.phase], event: A.ValidationEvent[e.event], message: e.message}));
    const main = document.querySelector("main");
    main.replaceChildren();
    const rendered = adaptive.render();
    if (rendered) main.appendChild(rendered);
    const buttons = Array.from(main.querySelectorAll("button")).map((b) => b.textContent.trim());
    return {events, failures, version: adaptive.version ? adaptive.version.toString() : null,
            rendered: Boolean(rendered), text: main.innerText, buttons,
            actions: adaptive.getActionCount ? Array.from({length: adaptive.getActionCount()},
                (_, i) => ({title: adaptive.getActionAt(i).title, url: adaptive.getActionAt(i).url})) : []};
}"""
# A page like a Teams channel's message pane: white, ~500 px wide, the renderer's default host config and styles.
PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Teams card</title>
<style>body{margin:0;background:#f5f5f5;font-family:"Segoe UI",system-ui,sans-serif}
main{width:500px;margin:16px;background:#fff;border:1px solid #e0e0e0;border-radius:4px;overflow:hidden}</style>
</head><body><main></main></body></html>"""


def incident(status: Status, **changes: Any) -> Incident:
    fields: dict[str, Any] = dict(
        incident_id="01HZX3T0CHECKOUT5XX",
        reference="INC-42",
        title="Checkout returns 5xx to 12% of requests",
        description="Threshold Crossed: 1 out of the last 1 datapoints [12.0] was greater than or equal to the threshold (5.0).",
        status=status,
        source=Source.CLOUDWATCH_ALARM,
        reporter="cloudwatch",
        service="checkout",
        alarm=AlarmDetails(
            name="checkout-5xx-high",
            arn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:checkout-5xx-high",
            state=AlarmState.ALARM,
            namespace="AWS/ApplicationELB",
        ),
        category="availability",
        impact=Impact.HIGH,
        urgency=Urgency.HIGH,
        priority=Priority.P1,
        team="payments",
        sla=SlaClock(
            response=SlaTimer(
                target_minutes=15, at_risk_at=OPENED + timedelta(minutes=12), due_at=OPENED + timedelta(minutes=15)
            ),
            resolution=SlaTimer(
                target_minutes=240, at_risk_at=OPENED + timedelta(minutes=192), due_at=OPENED + timedelta(hours=4)
            ),
        ),
        opened_at=OPENED,
        last_seen_at=OPENED + timedelta(minutes=3),
        occurrences=3,
    )
    fields.update(changes)
    return Incident(**fields)


TRIGGERED = incident(
    Status.TRIGGERED,
    known_error=KnownError(
        problem="PRB-7",
        title="Connection pool too small for the Monday peak",
        workaround="Scale the checkout service out to 6 tasks, then restart the oldest task.",
    ),
)
ACKNOWLEDGED = incident(
    Status.ACKNOWLEDGED, assignee="alice", acknowledged_by="alice", acknowledged_at=OPENED + timedelta(minutes=4)
)
RESOLVED = incident(
    Status.RESOLVED,
    assignee="alice",
    acknowledged_by="alice",
    acknowledged_at=OPENED + timedelta(minutes=4),
    resolved_by="alice",
    resolved_at=OPENED + timedelta(minutes=40),
    resolution_notes="Rolled back checkout to v2024.05.01-2; the new TLS client exhausted the pool.",
)
CASES = {
    "triggered": (TRIGGERED, EventType.OPENED),
    "acknowledged": (ACKNOWLEDGED, EventType.ACKNOWLEDGED),
    "resolved": (RESOLVED, EventType.RESOLVED),
}


@pytest.fixture(scope="module")
def page(browser: Any) -> Iterator[Any]:
    """A blank page with Microsoft's renderer loaded (no network: the script comes from node_modules)."""
    if not RENDERER.is_file():  # as a missing browser: skipped, but a failure with FIREBELL_REQUIRE_BROWSER=1 (CI)
        reason = f"the Adaptive Cards renderer is not installed ({RENDERER}): run `make install` (npm install)"
        if REQUIRED:
            pytest.fail(f"FIREBELL_REQUIRE_BROWSER=1 and {reason}")
        pytest.skip(f"browser tests SKIPPED: {reason}")
    installed = json.loads((RENDERER.parents[1] / "package.json").read_text(encoding="utf-8"))["version"]
    assert installed == RENDERER_VERSION, (
        f"node_modules has adaptivecards {installed}; package.json pins {RENDERER_VERSION}"
    )
    context = browser.new_context(viewport={"width": 600, "height": 900}, locale="en-GB")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(f"{error}"))
    opened.set_content(PAGE)
    opened.add_script_tag(path=str(RENDERER))
    opened.add_style_tag(path=str(RENDERER.parent / "adaptivecards.css"))
    assert opened.evaluate("typeof window.AdaptiveCards.AdaptiveCard") == "function"
    yield opened
    context.close()
    assert not errors, f"script errors in the renderer's page: {errors}"


@pytest.fixture
def check(page: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def check_(card: dict[str, Any]) -> dict[str, Any]:
        return page.evaluate(CHECK, [card, "1.4"])

    return check_


def the_card(body: dict[str, Any]) -> dict[str, Any]:
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["contentUrl"] is None
    return attachment["content"]


@pytest.mark.parametrize("case", list(CASES))
def test_the_teams_card_passes_microsofts_renderer_and_shows_the_incident(
    case: str, check: Callable[..., dict[str, Any]]
) -> None:
    subject, event_type = CASES[case]
    body = teams_card(subject, event_type, CONSOLE)
    size = len(json.dumps(body, ensure_ascii=False).encode("utf-8"))
    assert size < TEAMS_MAX_BYTES, f"the Teams message is {size} bytes; Teams refuses 28 KB or more"
    card = the_card(body)
    assert card["version"] == "1.4"

    result = check(card)

    assert result["events"] == [], f"the renderer's parse events: {result['events']}"
    assert result["failures"] == [], f"the renderer's validation failures: {result['failures']}"
    assert result["version"] == "1.4"
    assert result["rendered"]
    text = result["text"]
    assert subject.reference in text and subject.title in text
    assert event_type.value in text
    url = incident_url(CONSOLE, subject.reference)
    assert {"title": "Open in firebell", "url": url} in result["actions"]
    assert "Open in firebell" in result["buttons"]
    if subject.status is Status.TRIGGERED:
        assert "Acknowledge" in result["buttons"]
        assert {"title": "Acknowledge", "url": f"{url}?do=acknowledge"} in result["actions"]
        assert subject.known_error is not None and subject.known_error.problem in text
        assert "Resolve by" in text and "2024-05-01 14:00 UTC" in text
    else:
        assert "Acknowledge" not in result["buttons"]
        assert all(action["title"] != "Acknowledge" for action in result["actions"])
    if subject.status is Status.ACKNOWLEDGED:
        assert "acknowledged by alice" in text
    if subject.status is Status.RESOLVED:
        assert f"Resolution: {subject.resolution_notes}" in text
        assert "Resolve by" not in text


BROKEN = {
    "an unknown element type": (
        lambda card: card["body"].append({"type": "Gauge", "value": 3}),
        "events",
        "UnknownElementType",
    ),
    "an unknown action type": (
        lambda card: card["actions"].append({"type": "Action.Page", "title": "Page"}),
        "events",
        "UnknownActionType",
    ),
    "a version no renderer knows": (lambda card: card.update(version="9.9"), "failures", "UnsupportedCardVersion"),
    "a property newer than 1.4": (
        lambda card: card["body"][0].update(style="heading"),
        "events",
        "UnsupportedProperty",
    ),
    "an invalid value": (lambda card: card["body"][0].update(size="Enormous"), "events", "InvalidPropertyValue"),
    "an Action.OpenUrl without its url": (lambda card: card["actions"][0].pop("url"), "failures", "PropertyCantBeNull"),
}


@pytest.mark.parametrize("breakage", list(BROKEN))
def test_a_broken_card_is_caught(breakage: str, check: Callable[..., dict[str, Any]]) -> None:
    """The negative control: the checks above can fail, each for its own reason."""
    card = copy.deepcopy(the_card(teams_card(TRIGGERED, EventType.OPENED, CONSOLE)))
    unbroken = check(card)
    assert unbroken["events"] == [] and unbroken["failures"] == []
    change, where, event = BROKEN[breakage]
    change(card)

    result = check(card)

    assert event in [found["event"] for found in result[where]], result


def test_a_screenshot_of_the_triggered_card(page: Any, check: Callable[..., dict[str, Any]]) -> None:
    result = check(the_card(teams_card(TRIGGERED, EventType.OPENED, CONSOLE)))
    assert result["events"] == [] and result["failures"] == []
    card = page.locator("main")
    assert card.bounding_box()["width"] == pytest.approx(502, abs=1)  # 500 px and its border
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    card.screenshot(path=str(ARTIFACTS / "teams-card.png"))
    if os.environ.get("FIREBELL_WRITE_SCREENSHOTS") == "1":
        SCREENSHOT_DOC.parent.mkdir(parents=True, exist_ok=True)
        card.screenshot(path=str(SCREENSHOT_DOC))
