"""The incident list and the incident page where they went wrong for an outside reviewer: a bookmarked bad filter,
a reporter opening someone else's incident, and a desktop-width list with long words and a very long title."""

from __future__ import annotations

import uuid
from typing import Any

from playwright.sync_api import expect

from infra.local.demo import http
from tests.browser.conftest import screenshot
from tests.browser.console import WAIT_MS, report, sign_in
from tests.e2e.conftest import RunningPipeline

# Words of the list's cells that the browser split across lines: each word's text as a Range, and its boxes' tops.
BROKEN_WORDS = """(row) => {
  const broken = [];
  for (const td of row.querySelectorAll("td")) {
    const walker = document.createTreeWalker(td, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.data.matchAll(/\\S+/g)) {
        const range = document.createRange();
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) broken.push(`${td.dataset.label}: ${match[0]}`);
      }
    }
  }
  return broken;
}"""


def test_a_bookmarked_bad_filter_says_the_list_could_not_load_and_shows_the_filter_applied(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "dave")

    # Given a bookmark with a status the API does not know
    page.goto(f"{pipeline.api_url}/#/incidents?status=bogus")

    # Then the API's refusal is shown, the list says it could not load, and nothing is left "Loading…"
    expect(page.locator("#alert")).to_contain_text("status", timeout=WAIT_MS)
    expect(page.get_by_text("The incidents could not be loaded")).to_be_visible()
    expect(page.get_by_text("Loading incidents…")).to_have_count(0)
    # And the Status filter shows what is applied, not the default it is not
    expect(page.get_by_label("Status")).to_have_value("bogus")
    expect(page.get_by_label("Status")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "list-bad-filter")

    # When a valid status is chosen, the list loads
    page.get_by_label("Status").select_option("open")
    expect(page.get_by_text("The incidents could not be loaded")).to_have_count(0, timeout=WAIT_MS)
    expect(page.get_by_label("Status")).not_to_have_attribute("aria-invalid", "true")
    expect(page.locator("table.incidents").or_(page.get_by_text("No incidents match these filters."))).to_be_visible()


def test_a_reporter_opening_someone_elses_incident_is_told_so_and_offered_only_their_reports(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    reference = report(pipeline, f"Someone else's incident {uuid.uuid4().hex[:6]}")["reference"]
    status, _ = http("GET", f"{pipeline.api_url}/incidents/{reference}", as_="rita")
    assert status == 403  # the API's decision; the page only has to say it well
    page = open_page()
    sign_in(page, pipeline, "rita")

    page.goto(f"{pipeline.api_url}/#/incidents/{reference}")

    main = page.locator("main")
    expect(main.get_by_text(f"You may not see {reference}.")).to_be_visible(timeout=WAIT_MS)
    # No empty section boxes under the message
    expect(main.locator("section")).to_have_count(0)
    expect(main.get_by_role("heading", level=2)).to_have_count(0)
    # The one way back is to a page a reporter may open: her own reports
    expect(main.get_by_role("link")).to_have_count(1)
    expect(main.get_by_role("link", name="← My reports")).to_have_attribute("href", "#/my-reports")
    screenshot(page, "incident-forbidden")


def test_at_desktop_width_list_cells_break_only_between_words_and_a_long_title_is_cut_with_an_ellipsis(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    tag = uuid.uuid4().hex[:8]
    title = f"Checkout {tag} " + "payment-gateway-timeout " * 45
    title = title[:1024]
    reference = report(pipeline, title)["reference"]
    page = open_page(width=1280, height=900)
    sign_in(page, pipeline, "dave")
    page.goto(f"{pipeline.api_url}/#/incidents?q={tag}")
    row = page.locator("table.incidents tbody tr").filter(has_text=reference)
    expect(row).to_have_count(1, timeout=WAIT_MS)
    expect(row.locator('td[data-label="SLA"]')).to_contain_text("due", timeout=WAIT_MS)
    screenshot(page, "list-long-title")

    # No word of the short cells is split across lines (the title's own check follows)
    broken = row.evaluate(BROKEN_WORDS)
    assert [word for word in broken if not word.startswith("Title:")] == []
    assert broken == []
    # The title takes one line, ends in an ellipsis, and keeps its whole text for hovering
    title_text = row.locator('td[data-label="Title"] > span')
    assert title_text.evaluate("(e) => getComputedStyle(e).textOverflow") == "ellipsis"
    assert title_text.evaluate("(e) => e.scrollWidth > e.clientWidth")  # cut, not wrapped
    expect(title_text).to_have_attribute("title", title)
    line = float(title_text.evaluate("(e) => parseFloat(getComputedStyle(e).lineHeight)"))
    assert title_text.bounding_box()["height"] < 2 * line
    # And the table fits the page (no sideways scrolling)
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")

    # At phone width, where rows stack as cards, the title is clamped to a few lines and nothing scrolls sideways
    phone = open_page(width=375, height=812)
    sign_in(phone, pipeline, "dave")
    phone.goto(f"{pipeline.api_url}/#/incidents?q={tag}")
    card_title = (
        phone.locator("table.incidents tbody tr").filter(has_text=reference).locator('td[data-label="Title"] > span')
    )
    expect(card_title).to_have_count(1, timeout=WAIT_MS)
    line = float(card_title.evaluate("(e) => parseFloat(getComputedStyle(e).lineHeight)"))
    assert card_title.bounding_box()["height"] < 4 * line
    assert phone.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    screenshot(phone, "list-long-title-phone")
