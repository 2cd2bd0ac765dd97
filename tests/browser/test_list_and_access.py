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
