"""How pages reach me, on the account page (docs/notification-rules.md): a person sets their own notification
rules (the API's refusal shown beside the form), sees them in words after a reload as the admin API holds them,
and changes their phone number, which counts only once the code sent to it comes back."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

from playwright.sync_api import Page, expect

from infra.local.demo import http, wait_for
from infra.topology import ROOT
from tests.browser.conftest import screenshot
from tests.browser.console import WAIT_MS, sign_in
from tests.e2e.conftest import RunningPipeline

NEW_PHONE = "+447700900123"
RULES = {
    "high": {"via": ["email"], "follow_up": {"every_minutes": 5, "times": 2, "via": ["sms"]}},
    "low": {"via": ["email"], "follow_up": None},
    "quiet_hours": {"start": "22:00:00", "end": "07:00:00", "low": "nothing"},
}
IN_WORDS = [
    "High urgency (P1, P2): email at once, then SMS every 5 min, 2 times, until acknowledged.",
    "Low urgency (P3–P5): email.",
    "Quiet hours 22:00–07:00 (Europe/London): low urgency waits.",
]


def as_admin(pipeline: RunningPipeline, method: str, path: str) -> tuple[int, Any]:
    """The admin API as the browser tests' admin (frank, tests/browser/console.py), signed in as a person."""
    return http(method, f"{pipeline.api_url}{path}", as_="frank")


def codes_sent_to(pipeline: RunningPipeline, phone: str) -> list[str]:
    outbox = http("GET", f"{pipeline.api_url}/_local/outbox")[1]["items"]
    return [
        re.search(r"\b(\d{6})\b", m["body"]).group(1) for m in outbox if m["channel"] == "sms" and m["to"] == [phone]
    ]


def open_account(page: Page) -> Any:
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Your account").click()
    section = page.get_by_role("region", name="How pages reach me")
    expect(section.locator("#my-phone")).not_to_have_text("", timeout=WAIT_MS)
    return section


def test_a_person_sets_how_pages_reach_them_and_changes_their_phone(pipeline: RunningPipeline, open_page: Any) -> None:
    status, before = as_admin(pipeline, "GET", "/admin/people/bob")
    assert status == 200, before
    try:
        page = open_page()
        sign_in(page, pipeline, "bob")
        section = open_account(page)
        expect(section.locator("#my-rules")).to_have_text("No rules: every page is an SMS and an email")
        expect(section.locator("#my-phone")).to_have_text(before["entry"]["phone"])

        # When bob wants high urgency by email at once, then two SMS 5 minutes apart; low urgency by email;
        # and quiet hours at night, but gives no time zone
        form = section.get_by_role("form", name="Change my rules")
        high = form.get_by_role("group", name="High urgency (P1, P2)")
        high.get_by_role("group", name="At once").get_by_label("SMS").uncheck()
        expect(high.get_by_role("group", name="At once").get_by_label("Email")).to_be_checked()
        high.get_by_label("Then, until someone acknowledges, follow up").check()
        high.get_by_label("Every (minutes)").fill("5")
        high.get_by_label("Times").fill("2")
        high.get_by_role("group", name="By").get_by_label("SMS").check()
        high.get_by_role("group", name="By").get_by_label("Email").uncheck()
        low = form.get_by_role("group", name="Low urgency (P3–P5)")
        low.get_by_role("group", name="At once").get_by_label("SMS").uncheck()
        quiet = form.get_by_role("group", name="Quiet hours")
        quiet.get_by_label("Hold back low-urgency pages at night").check()
        quiet.get_by_label("From").fill("22:00")
        quiet.get_by_label("Until").fill("07:00")
        quiet.get_by_label("Waits: nothing reaches me").check()
        expect(quiet.get_by_label("My time zone")).to_have_value("")
        form.get_by_role("button", name="Save rules").click()

        # Then the API's refusal is shown in the form, and beside the time zone it asks for
        expect(form.get_by_role("alert")).to_contain_text("quiet hours are kept in your time zone", timeout=WAIT_MS)
        expect(quiet.get_by_label("My time zone")).to_have_attribute("aria-invalid", "true")
        expect(quiet.get_by_label("My time zone")).to_have_accessible_description(
            re.compile("quiet hours are kept in your time zone")
        )
        expect(quiet.get_by_label("My time zone")).to_be_focused()  # (the field named: where to type, as in every form)
        expect(section.locator("#my-rules")).to_have_text("No rules: every page is an SMS and an email")
        screenshot(page, "my-notifications-refused")

        # When he takes his browser's time zone as the page suggests, and saves again
        # (by keyboard: the focused field's list of suggestions is open over the button, and takes a mouse click)
        quiet.get_by_role("button", name="Use Europe/London").press("Enter")
        expect(quiet.get_by_label("My time zone")).to_have_value("Europe/London")
        form.get_by_role("button", name="Save rules").click()

        # Then the page says so, with focus on the message, and shows his rules in words
        saved = section.get_by_text("Saved: pages reach you as the rules above say.")
        expect(saved).to_be_focused(timeout=WAIT_MS)
        expect(form.locator(".field-error")).to_have_count(0)
        expect(section.locator("#my-rules li")).to_have_text(IN_WORDS)

        # And the admin API holds the same rules, as bob's own change
        status, entry = as_admin(pipeline, "GET", "/admin/people/bob")
        assert status == 200 and entry["updated_by"] == "bob"
        assert entry["entry"]["time_zone"] == "Europe/London"
        held = entry["entry"]["notification_rules"]
        assert held["high"] == RULES["high"] and held["low"]["via"] == ["email"] and not held["low"].get("follow_up")
        assert held["quiet_hours"] == RULES["quiet_hours"]

        # When he asks to change his phone number, a code goes to the new one and the field for it takes focus
        contact = section.get_by_role("form", name="Change my email or phone")
        contact.get_by_label("What to change").select_option("phone")
        contact.get_by_label("New phone number or email address").fill(NEW_PHONE)
        contact.get_by_role("button", name="Send a code").click()
        code_form = section.get_by_role("form", name=f"Code for {NEW_PHONE}")
        expect(code_form).to_contain_text(
            re.compile(rf"We sent a code to {re.escape(NEW_PHONE)}, the new phone number\. It expires at \d\d:\d\d\."),
            timeout=WAIT_MS,
        )
        expect(code_form.get_by_label(f"Code sent to {NEW_PHONE}")).to_be_focused()
        [code] = wait_for("the code's SMS in the outbox", lambda: codes_sent_to(pipeline, NEW_PHONE), 30)

        # And asking again at once is refused, in the API's words
        contact.get_by_label("New phone number or email address").fill(NEW_PHONE)
        contact.get_by_role("button", name="Send a code").click()
        expect(contact.get_by_role("alert")).to_contain_text("ask for another after a minute", timeout=WAIT_MS)
        expect(contact.get_by_role("alert")).to_be_focused()

        # When he reloads, his rules read the same in words, and the code he is waiting for still has its field
        page.reload()
        section = page.get_by_role("region", name="How pages reach me")
        expect(section.locator("#my-rules li")).to_have_text(IN_WORDS, timeout=WAIT_MS)
        expect(section.locator("#my-time-zone")).to_have_text("Europe/London")
        form = section.get_by_role("form", name="Change my rules")
        expect(form.get_by_role("group", name="High urgency (P1, P2)").get_by_label("Every (minutes)")).to_have_value(
            "5"
        )
        code_form = section.get_by_role("form", name=f"Code for {NEW_PHONE}")
        code_field = code_form.get_by_label(f"Code sent to {NEW_PHONE}")
        expect(code_field).to_be_visible()
        screenshot(page, "my-notifications")
        if os.environ.get("FIREBELL_WRITE_SCREENSHOTS") == "1":  # a test run leaves tracked files alone
            shutil.copyfile(
                ROOT / "test-artifacts" / "console" / "my-notifications.png",
                ROOT / "docs" / "console" / "my-notifications.png",
            )

        # When he types a wrong code, with the keyboard alone: the guesses he has left are shown beside the field
        code_field.focus()
        page.keyboard.type("000000" if code != "000000" else "111111")
        page.keyboard.press("Enter")
        expect(code_form.locator(".field-error")).to_have_text(
            f"body.code: not the code sent to {NEW_PHONE} (4 guesses left)", timeout=WAIT_MS
        )
        expect(code_field).to_be_focused()
        expect(section.locator("#my-phone")).to_have_text(before["entry"]["phone"])
        screenshot(page, "my-notifications-wrong-code")

        # Then the right one puts the new number in place
        page.keyboard.press("Control+A")
        page.keyboard.type(code)
        page.keyboard.press("Enter")
        done = section.get_by_text(f"Your phone number is now {NEW_PHONE}.")
        expect(done).to_be_focused(timeout=WAIT_MS)
        expect(section.locator("#my-phone")).to_have_text(NEW_PHONE)
        expect(code_form).to_have_count(0)
        status, entry = as_admin(pipeline, "GET", "/admin/people/bob")
        assert entry["entry"]["phone"] == NEW_PHONE

        # And "Use defaults" drops his rules: a page is an SMS and an email again
        section.get_by_role("button", name="Use defaults").click()
        expect(section.get_by_text("Back to the defaults: every page is an SMS and an email.")).to_be_focused(
            timeout=WAIT_MS
        )
        expect(section.locator("#my-rules")).to_have_text("No rules: every page is an SMS and an email")
        assert as_admin(pipeline, "GET", "/admin/people/bob")[1]["entry"].get("notification_rules") is None
    finally:
        # The other tests page bob as config/firebell.yaml has him: his entry goes back to the file's.
        status, answer = as_admin(pipeline, "POST", "/admin/people/bob/revert")
        assert status in (200, 204), answer


def test_at_phone_width_the_section_fits_and_a_person_without_a_phone_is_told_so(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page(width=375, height=812)
    sign_in(page, pipeline, "rita")  # a reporter: no phone number in the directory
    section = open_account(page)
    expect(section.locator("#my-phone")).to_have_text("none")
    expect(section).to_contain_text("You have no phone number: an SMS cannot reach you.")
    expect(section.locator("#my-rules")).to_have_text("No rules: every page is an SMS and an email")

    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"the account page scrolls sideways at {widths[1]} px: {widths[0]} px wide"
    for button in section.get_by_role("button").all():
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, (
            f"{button.inner_text()!r} is outside the screen: {box}"
        )
    screenshot(page, "phone-account")
