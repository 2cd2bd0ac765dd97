"""The console's other pages: an employee reports an incident and follows it, a responder takes a shift, an admin
edits the directory, and at phone width no page scrolls sideways while every action stays within reach."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import screenshot
from tests.browser.console import WAIT_MS, machine, open_incident, report, sign_in
from tests.e2e.conftest import RunningPipeline

PHONE = {"width": 375, "height": 812}


def test_the_sign_in_page_lists_the_people_of_the_directory_with_their_roles(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    page.goto(f"{pipeline.api_url}/")

    people = page.get_by_role("list", name="People")
    expect(
        people.get_by_role("button", name=re.compile(r"^Sign in as Rita Reporter \(rita\), reporter$"))
    ).to_be_visible(timeout=WAIT_MS)
    expect(
        people.get_by_role("button", name=re.compile(r"^Sign in as Carol Manager \(carol\), incident manager$"))
    ).to_be_visible()
    screenshot(page, "sign-in")


def test_an_employee_reports_an_incident_and_follows_it_in_their_reports(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "rita")
    title = f"Checkout page shows an error after paying ({uuid.uuid4().hex[:6]})"

    # A reporter lands on the form (they may not read every incident)
    expect(page.get_by_role("heading", name="Report an incident")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Incidents", exact=True)).to_have_count(
        0
    )

    # When she says what is wrong, where, and how bad, in her words
    page.get_by_label("In one line, what is wrong?").fill(title)
    page.get_by_label("More details (optional)").fill("Card is charged, then a 500 page. Since 09:40.")
    page.get_by_label("Which service?").select_option("checkout")  # the directory's services (GET /directory)
    page.get_by_label(re.compile("^Many people")).check()
    page.get_by_label(re.compile("^Work has stopped")).check()
    screenshot(page, "report")
    page.get_by_role("button", name="Report incident").click()

    # Then she is told its reference
    notice = page.locator(".notice")
    expect(notice).to_contain_text("Reported as INC-", timeout=WAIT_MS)
    reference = re.search(r"INC-\d+", notice.inner_text()).group(0)

    # And finds it under My reports, with where it stands
    page.get_by_role("link", name="My reports").click()
    row = page.get_by_role("row").filter(has_text=title)
    expect(row).to_be_visible(timeout=WAIT_MS)
    expect(row).to_contain_text(reference)
    screenshot(page, "my-reports")

    # And the API holds it as hers, with impact and urgency from her answers (high × high: P1)
    status, incident = machine(pipeline, "GET", f"/incidents/{reference}")
    assert status == 200
    assert (incident["reporter"], incident["service"], incident["impact"], incident["urgency"]) == (
        "rita",
        "checkout",
        "high",
        "high",
    )

    # And opening it shows it, without any action for a reporter
    row.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(title, timeout=WAIT_MS)
    expect(page.get_by_role("group", name="Actions").get_by_role("button")).to_have_count(0)


def test_a_responder_takes_a_shift_and_is_on_call_now(pipeline: RunningPipeline, open_page: Any) -> None:
    page = open_page()
    sign_in(page, pipeline, "bob")
    page.get_by_role("link", name="On call").click()
    now = page.locator("#h-now + div")
    expect(now).to_contain_text("Platform primary", timeout=WAIT_MS)

    # When he takes over, but says it ends before it starts: the directory's refusal, in its words
    page.get_by_role("button", name="Take over Platform primary").click()
    form = page.get_by_role("form", name="Take or give a shift")
    form.get_by_label("Until (your time)").fill("2020-01-01T09:00")
    form.get_by_role("button", name="Add override").click()
    expect(form.get_by_role("alert")).to_contain_text("end must be after start", timeout=WAIT_MS)

    # Then with a proper end he is on call now
    page.get_by_role("button", name="Take over Platform primary").click()
    form.get_by_role("button", name="Add override").click()
    expect(form.locator(".notice")).to_contain_text(
        "Override added: Bob Backend (bob) is on call for Platform primary", timeout=WAIT_MS
    )
    expect(now).to_contain_text("Bob Backend (bob) (you)", timeout=WAIT_MS)
    expect(page.locator("#h-mine + div")).to_contain_text("now", timeout=WAIT_MS)
    screenshot(page, "on-call")
    status, on_call = machine(pipeline, "GET", "/schedules/platform-primary/on-call")
    assert (status, on_call["person"]["id"]) == (200, "bob")


def test_a_responder_subscribes_a_calendar_app_to_their_shifts_then_revokes_the_address(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "alice")
    page.get_by_role("link", name="On call").click()
    feed = page.get_by_role("region", name="Your shifts in your calendar app")
    expect(feed).to_contain_text("You have no calendar address", timeout=WAIT_MS)

    # When she makes an address, it is shown once, whole, for a calendar app
    feed.get_by_role("button", name="Make an address").click()
    address = feed.get_by_label(re.compile("^Your calendar address"))
    expect(address).to_have_value(
        re.compile(r"^http://127\.0\.0\.1:\d+/feeds/[\w-]+\.[\w-]+/calendar\.ics$"), timeout=WAIT_MS
    )
    url = address.input_value()
    screenshot(page, "calendar-feed")
    # Then a calendar app, which cannot sign in, reads her shifts from it
    with urllib.request.urlopen(url, timeout=30) as answer:
        assert "SUMMARY:On call: Platform primary (alice)" in answer.read().decode()

    # And once she revokes it, it reads nothing
    feed.get_by_role("button", name="Revoke").click()
    expect(feed).to_contain_text("You have no calendar address", timeout=WAIT_MS)
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(url, timeout=30)
    assert gone.value.code == 404


def test_an_admin_adds_a_person_and_sees_the_directorys_refusal_first(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "frank")
    page.get_by_role("link", name="Directory").click()
    expect(page.get_by_role("rowheader", name="alice", exact=True)).to_be_visible(timeout=WAIT_MS)

    # When he adds a person with someone else's email
    page.get_by_role("button", name="Add person").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Id", exact=True).fill("gina")
    entry = dialog.get_by_label("The person, as JSON")
    entry.fill('{"name": "Gina New", "email": "alice@example.com", "roles": ["responder"]}')
    dialog.get_by_role("button", name="Save").click()

    # Then the directory's refusal is shown as the API words it, naming the field
    expect(dialog.get_by_role("alert")).to_contain_text("'alice@example.com' is also person 'alice''s", timeout=WAIT_MS)
    expect(dialog.get_by_role("alert")).to_contain_text("body.email")

    # And once corrected the person is in the directory, marked as an admin change
    entry.fill('{"name": "Gina New", "email": "gina@example.com", "roles": ["responder"]}')
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_have_count(0, timeout=WAIT_MS)
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="gina", exact=True))
    expect(row).to_contain_text("Gina New")
    expect(row).to_contain_text("admin")
    screenshot(page, "directory")
    status, person = machine(pipeline, "GET", "/admin/people/gina")
    assert (status, person["entry"]["email"]) == (200, "gina@example.com")


def test_an_admin_subscribes_a_webhook_and_reads_its_secret_which_others_never_see(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "frank")  # admin
    page.goto(f"{pipeline.api_url}/#/directory/webhooks")
    page.get_by_role("button", name="Add webhook").click(timeout=WAIT_MS)
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Id", exact=True).fill("ops-bridge")
    dialog.get_by_label("The webhook, as JSON").fill('{"url": "ftp://nope.example/", "events": ["incident.opened"]}')
    dialog.get_by_role("button", name="Save").click()
    expect(dialog.get_by_role("alert")).to_contain_text("https", timeout=WAIT_MS)  # refused, in the API's words
    dialog.get_by_label("The webhook, as JSON").fill(
        '{"url": "https://hooks.example.com/firebell", "events": ["incident.opened"]}'
    )
    dialog.get_by_role("button", name="Save").click()
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="ops-bridge", exact=True))
    expect(row).to_contain_text("https://hooks.example.com/firebell", timeout=WAIT_MS)

    row.get_by_role("button", name="Signing secret of webhook ops-bridge").click()
    secret = page.get_by_role("dialog").get_by_label("Secret")
    expect(secret).to_have_value(re.compile(r"^whsec_[A-Za-z0-9+/=]{40,}$"), timeout=WAIT_MS)
    assert secret.input_value() == machine(pipeline, "GET", "/admin/webhooks/ops-bridge/secret")[1]["secret"]
    page.get_by_role("dialog").get_by_role("button", name="Cancel").click()

    others = open_page()
    sign_in(others, pipeline, "carol")  # an incident manager: no Webhooks in her directory
    others.goto(f"{pipeline.api_url}/#/directory/people")
    expect(others.get_by_role("navigation", name="Directory").get_by_role("link", name="Problems")).to_be_visible(
        timeout=WAIT_MS
    )
    expect(others.get_by_role("navigation", name="Directory").get_by_role("link", name="Webhooks")).to_have_count(0)


def no_sideways_scroll(page: Page, what: str) -> None:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{what} scrolls sideways at {widths[1]} px: {widths[0]} px wide"


def within_reach(page: Page, control: Any, what: str) -> None:
    control.scroll_into_view_if_needed()
    expect(control).to_be_visible()
    expect(control).to_be_enabled()
    box = control.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], f"{what} is outside the screen: {box}"


def test_at_phone_width_no_page_scrolls_sideways_and_every_action_is_within_reach(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    reference = report(
        pipeline, "Mobile app login fails for SSO users with a very long and descriptive title that wraps"
    )["reference"]
    page = open_page(**PHONE)
    sign_in(page, pipeline, "frank")  # admin: every button there is

    pages = {
        "incidents": "#/incidents",
        "on-call": "#/on-call",
        "report": "#/report",
        "my-reports": "#/my-reports",
        "directory": "#/directory/people",
        "directory-schedules": "#/directory/schedules",
        "directory-services": "#/directory/services",
    }
    for name, route in pages.items():
        page.goto(f"{pipeline.api_url}/{route}")
        expect(page.get_by_role("heading", level=1)).to_be_visible(timeout=WAIT_MS)
        expect(page.locator("[aria-busy='true']")).to_have_count(0, timeout=WAIT_MS)
        no_sideways_scroll(page, name)
        for link in page.get_by_role("navigation", name="Main").get_by_role("link").all():
            within_reach(page, link, f"navigation link {link.inner_text()!r} on {name}")
        screenshot(page, f"phone-{name}")

    # The incident: every action the admin has, reachable, and each dialog fits the screen
    open_incident(page, pipeline, reference)
    no_sideways_scroll(page, "the incident")
    screenshot(page, "phone-incident")
    buttons = page.get_by_role("group", name="Actions").get_by_role("button")
    labels = buttons.all_inner_texts()
    assert {"Acknowledge", "Add note", "Escalate", "Reassign", "Resolve", "Post stakeholder update"} <= set(labels), (
        labels
    )
    for label in labels:
        button = page.get_by_role("group", name="Actions").get_by_role("button", name=label, exact=True)
        within_reach(page, button, f"the {label} button")
        if label == "Acknowledge":
            continue  # one press acts: nothing to open
        button.click()
        dialog = page.get_by_role("dialog")
        within_reach(page, dialog.get_by_role("button", name="Cancel"), f"{label}'s Cancel")
        no_sideways_scroll(page, f"the {label} dialog")
        dialog.get_by_role("button", name="Cancel").click()
        expect(dialog).to_have_count(0)
