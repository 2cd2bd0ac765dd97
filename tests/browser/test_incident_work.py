"""Working incidents in the console: a responder sees an alarm's incident arrive and works it to resolution, a
viewer sees no action buttons, and the keyboard alone acknowledges an incident."""

from __future__ import annotations

import re
import uuid
from typing import Any

from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.console import NAMES, WAIT_MS, machine, open_incident, publish_alarm, report, sign_in
from tests.e2e.conftest import RunningPipeline


def summary(page: Page) -> Any:
    return page.locator("#h-summary + div")


def timeline(page: Page) -> Any:
    return page.locator("#h-timeline + div")


def actions(page: Page) -> Any:
    return page.get_by_role("group", name="Actions")


def test_a_responder_sees_a_new_alarm_arrive_then_acknowledges_notes_and_resolves_it(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "alice")
    expect(page.get_by_role("heading", name="Incidents")).to_be_visible()

    # When CloudWatch publishes an alarm while the list is open
    name = publish_alarm(pipeline)

    # Then its incident appears without a reload, and screen readers hear of it
    row = page.get_by_role("row").filter(has_text=name)
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("#status")).to_contain_text("New: INC-", timeout=WAIT_MS)
    expect(row).to_contain_text("Triggered")
    screenshot(page, "incidents")

    # When she opens it
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    reference = re.match(r"(INC-\d+)", page.get_by_role("heading", level=1).inner_text()).group(1)
    expect(page.locator("#h-paging + div")).to_contain_text("paged", timeout=WAIT_MS)  # level 1 was paged

    # And acknowledges it
    actions(page).get_by_role("button", name="Acknowledge").click()
    expect(summary(page)).to_contain_text("Acknowledged", timeout=WAIT_MS)
    expect(actions(page).get_by_role("button", name="Acknowledge")).to_have_count(0)
    expect(page.locator("#status")).to_contain_text(f"{reference} acknowledged")

    # And tries to add an empty note: the API's refusal is shown in its words, beside the field
    actions(page).get_by_role("button", name="Add note").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("button", name="Add note").click()
    expect(dialog.get_by_role("alert")).to_contain_text("body.text")
    expect(dialog.get_by_label("Note")).to_have_attribute("aria-invalid", "true")

    # And then a real one
    dialog.get_by_label("Note").fill("Rolled back release 42; error rate falling")
    dialog.get_by_role("button", name="Add note").click()
    expect(dialog).to_have_count(0)
    expect(timeline(page)).to_contain_text("Rolled back release 42", timeout=WAIT_MS)

    # And resolves it with notes
    actions(page).get_by_role("button", name="Resolve").click()
    page.get_by_role("dialog").get_by_label("Resolution notes").fill("Release 42 rolled back; 5xx back under 0.1%")
    page.get_by_role("dialog").get_by_role("button", name="Resolve").click()
    expect(summary(page)).to_contain_text("Resolved", timeout=WAIT_MS)
    expect(actions(page).get_by_role("button", name="Reopen")).to_be_visible()
    screenshot(page, "incident")

    # Then the API recorded every step as hers: the actor is the signed-in person, never a body field
    status, incident = machine(pipeline, "GET", f"/incidents/{reference}")
    assert status == 200
    assert (incident["status"], incident["acknowledged_by"], incident["resolved_by"]) == ("resolved", "alice", "alice")
    assert incident["resolution_notes"] == "Release 42 rolled back; 5xx back under 0.1%"
    _, entries = machine(pipeline, "GET", f"/incidents/{reference}/timeline")
    [note] = [e for e in entries["items"] if e["kind"] == "note"]
    assert (note["actor"], note["message"].endswith("Rolled back release 42; error rate falling")) == ("alice", True)


def test_a_viewer_reads_an_incident_but_is_offered_no_action(pipeline: RunningPipeline, open_page: Any) -> None:
    incident = report(pipeline, "Payments page times out")
    reference = incident["reference"]

    # Given an incident manager sees the actions on it (so the page does offer them)
    manager = open_page()
    sign_in(manager, pipeline, "carol")
    open_incident(manager, pipeline, reference)
    expect(actions(manager).get_by_role("button", name="Acknowledge")).to_be_visible()
    expect(actions(manager).get_by_role("button", name="Post stakeholder update")).to_be_visible()

    # When a viewer (a stakeholder) opens it
    viewer = open_page()
    sign_in(viewer, pipeline, "dave")
    open_incident(viewer, pipeline, reference)

    # Then they read it all, and no action is offered
    expect(summary(viewer)).to_contain_text("Triggered")
    expect(viewer.locator("#h-sla + div")).to_contain_text("Response")
    expect(actions(viewer).get_by_role("button")).to_have_count(0)
    screenshot(viewer, "incident-viewer")
    # Nor anywhere else: no report form, a directory to read but not change, no shift to take or give
    navigation = viewer.get_by_role("navigation", name="Main")
    expect(navigation.get_by_role("link", name="Report an incident")).to_have_count(0)
    navigation.get_by_role("link", name="Directory").click()
    expect(viewer.get_by_role("rowheader", name="alice", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(viewer.get_by_role("main").get_by_role("button")).to_have_count(0)
    expect(viewer.get_by_role("columnheader", name="Phone")).to_have_count(0)
    navigation.get_by_role("link", name="On call").click()
    expect(viewer.locator("#h-now + div")).to_contain_text("Platform primary", timeout=WAIT_MS)
    expect(viewer.locator("#h-mine + div")).to_contain_text("no shifts", timeout=WAIT_MS)
    # Sign out, and their own calendar address: nothing that changes who is on call
    expect(viewer.get_by_role("button")).to_have_text(["Sign out", "Make an address"])


def test_an_incident_is_acknowledged_with_the_keyboard_alone(pipeline: RunningPipeline, open_page: Any) -> None:
    reference = report(pipeline, "Search returns no results")["reference"]
    page = open_page()
    page.goto(f"{pipeline.api_url}/")
    expect(page.get_by_role("button", name=re.compile("^Sign in as Erin Ops"))).to_be_visible(timeout=WAIT_MS)

    # Sign in by keyboard: Tab to her name, Enter
    tab_to(page, lambda name: name.startswith("Sign in as Erin Ops"))
    page.keyboard.press("Enter")
    expect(page.locator("#who")).to_contain_text(f"Signed in as {NAMES['erin']}", timeout=WAIT_MS)

    # Opening the incident puts focus on its title, and the next Tab is Acknowledge
    open_incident(page, pipeline, reference)
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    assert tab_to(page, lambda name: name == "Acknowledge") == ["Acknowledge"]

    # From the top of a freshly loaded page, the order is the reading order: skip link, navigation, the page
    page.reload()
    expect(page.get_by_role("group", name="Actions").get_by_role("button", name="Acknowledge")).to_be_visible(
        timeout=WAIT_MS
    )
    order = tab_to(page, lambda name: name == "Acknowledge")
    assert order[0] == "Skip to content", order
    assert (
        order.index("Incidents") < order.index("Sign out") < order.index("← All incidents") < order.index("Acknowledge")
    ), order

    # Enter acknowledges; focus goes to the title, as the button is gone
    page.keyboard.press("Enter")
    expect(summary(page)).to_contain_text("Acknowledged", timeout=WAIT_MS)
    expect(page.get_by_role("heading", level=1)).to_be_focused()
    status, incident = machine(pipeline, "GET", f"/incidents/{reference}")
    assert (status, incident["status"], incident["acknowledged_by"]) == (200, "acknowledged", "erin")


def tab_to(page: Page, wanted: Any, at_most: int = 40) -> list[str]:
    """Presses Tab until the focused element's accessible name is `wanted`; each stop must show its focus. The names."""
    names: list[str] = []
    for _ in range(at_most):
        page.keyboard.press("Tab")
        focused = page.evaluate("""() => {
            const el = document.activeElement, style = getComputedStyle(el), box = el.getBoundingClientRect();
            return {name: (el.getAttribute('aria-label') || el.innerText || el.value || '').trim(),
                    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2,
                    visible: box.width > 0 && box.height > 0};
        }""")
        assert focused["outline"] and focused["visible"], f"focus is not visible on {focused['name']!r} (after {names})"
        names.append(focused["name"])
        if wanted(focused["name"]):
            return names
    raise AssertionError(f"Tab never reached it in {at_most} presses: {names}")


def test_the_list_narrows_by_search_and_filters_and_keeps_them_in_its_address(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    tag = uuid.uuid4().hex[:8]
    urgent = report(pipeline, f"Orders are lost at payment {tag}")["reference"]
    minor = report(pipeline, f"Typo in the footer {tag}", impact="low", urgency="low")["reference"]
    page = open_page()
    sign_in(page, pipeline, "dave")
    rows = page.locator("table.incidents tbody tr")

    # Searching for words of both titles shows both
    page.get_by_label("Search").fill(tag)
    expect(rows).to_have_count(2, timeout=WAIT_MS)

    # Priority P1 leaves the urgent one (classification: high × high → P1)
    expect(page.get_by_role("row").filter(has_text=urgent)).to_contain_text("P1", timeout=WAIT_MS)
    page.get_by_label("Priority").select_option("P1")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    expect(rows).to_contain_text(urgent)
    expect(page.get_by_role("row").filter(has_text=minor)).to_have_count(0)

    # The filters are in the address: a reload (or a bookmark) keeps them
    assert f"q={tag}" in page.url and "priority=P1" in page.url, page.url
    page.reload()
    expect(page.get_by_label("Priority")).to_have_value("P1")
    expect(rows).to_have_count(1, timeout=WAIT_MS)

    # Opened in the last hour keeps it; resolved ones only: none
    page.get_by_label("Opened").select_option("1h")
    expect(rows).to_have_count(1, timeout=WAIT_MS)
    page.get_by_label("Status").select_option("resolved")
    expect(page.get_by_text("No incidents match these filters.")).to_be_visible(timeout=WAIT_MS)
