"""The reports page: an incident manager reads the last 30 days' figures, narrows them to a team, and downloads the
incidents as CSV; at phone width nothing scrolls sideways. An incident's page shows similar closed incidents."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from tests.browser.conftest import screenshot
from tests.browser.console import WAIT_MS, machine, sign_in
from tests.e2e.conftest import RunningPipeline


def test_an_incident_manager_reads_the_report_and_downloads_the_csv(pipeline: RunningPipeline, open_page: Any) -> None:
    status, created = machine(
        pipeline, "POST", "/incidents", {"title": "Checkout latency above 2 s", "service": "checkout"}
    )
    assert status == 201
    assert machine(pipeline, "POST", f"/incidents/{created['reference']}/acknowledge")[0] == 200
    page = open_page()
    sign_in(page, pipeline, "carol")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reports", exact=True).click()

    expect(page.get_by_role("heading", name="Reports", level=1)).to_be_visible(timeout=WAIT_MS)
    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text(re.compile(r"Incidents\s*\d+"), timeout=WAIT_MS)
    expect(summary).to_contain_text("Time to acknowledge (MTTA)")
    expect(page.get_by_role("region", name="On-call load").get_by_role("row").filter(has_text="alice")).to_be_visible()
    expect(page.get_by_role("region", name="Median MTTA and MTTR over time").get_by_role("table")).to_be_visible()
    screenshot(page, "reports")

    # Narrowed to platform's P2 incidents: as many as the API counts for that filter (other tests share this runtime)
    page.get_by_label("Team").select_option("platform")
    page.get_by_label("Priority").select_option("P2")
    page.get_by_role("button", name="Show").click()
    period = urlencode(
        {
            "from": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
            "to": (datetime.now(UTC) + timedelta(minutes=5)).isoformat(),
            "team": "platform",
            "priority": "P2",
        }
    )
    expected = machine(pipeline, "GET", f"/reports?{period}")[1]["incidents"]
    expect(summary).to_contain_text(re.compile(rf"Incidents\s*{expected}(?!\d)"), timeout=WAIT_MS)

    # Dates of one's choice (the browser's London time), one service, reports made by hand
    london = ZoneInfo("Europe/London")
    today = datetime.now(london).date()
    which = page.get_by_role("form", name="Which incidents")
    which.get_by_label("Period").select_option("custom")
    which.get_by_label("From (your time, from midnight)").fill(str(today - timedelta(days=1)))
    which.get_by_label("To (your time, up to midnight after)").fill(str(today))
    which.get_by_label("Team").select_option("")
    which.get_by_label("Priority").select_option("")
    which.get_by_label("Service").select_option("checkout")
    which.get_by_label("Source").select_option("api")
    page.get_by_role("button", name="Show").click()
    start = datetime.combine(today - timedelta(days=1), datetime.min.time(), london)
    period = urlencode(
        {
            "from": start.isoformat(),
            "to": (start + timedelta(days=2)).isoformat(),
            "service": "checkout",
            "source": "api",
        }
    )
    expected = machine(pipeline, "GET", f"/reports?{period}")[1]["incidents"]
    assert expected >= 1  # (the incident this test reported)
    expect(summary).to_contain_text(re.compile(rf"Incidents\s*{expected}(?!\d)"), timeout=WAIT_MS)

    with page.expect_download(timeout=WAIT_MS) as downloading:
        page.get_by_role("button", name="Download CSV").click()
    download = downloading.value
    assert download.suggested_filename == "incidents.csv"
    rows = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert rows[0].startswith("reference,title,opened_at,") and any(
        row.startswith(created["reference"] + ",") for row in rows
    )


def test_the_reports_page_fits_a_phone(pipeline: RunningPipeline, open_page: Any) -> None:
    page = open_page(width=375, height=812)
    sign_in(page, pipeline, "dave")  # a viewer
    page.goto(f"{pipeline.api_url}/#/reports")
    expect(page.get_by_role("region", name="Summary")).to_be_visible(timeout=WAIT_MS)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_an_incident_page_shows_similar_resolved_incidents_and_how_they_were_resolved(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    # Given a resolved incident (in its confirmation window: closed ones are found by their facts, tests/integration)
    status, old = machine(pipeline, "POST", "/incidents", {"title": "Build agent out of disk space on ci-runner-2"})
    assert status == 201
    assert (
        machine(
            pipeline, "POST", f"/incidents/{old['reference']}/resolve", {"resolution_notes": "pruned docker images"}
        )[0]
        == 200
    )
    # When a new one like it is opened
    _, new = machine(pipeline, "POST", "/incidents", {"title": "ci-runner-5 out of disk space"})
    page = open_page()
    sign_in(page, pipeline, "alice")
    page.goto(f"{pipeline.api_url}/#/incidents/{new['reference']}")

    # Then its page names the closed one and how it was resolved
    similar = page.get_by_role("region", name="Similar incidents")
    expect(similar.get_by_role("link", name=old["reference"])).to_be_visible(timeout=WAIT_MS)
    expect(similar).to_contain_text("pruned docker images")
    screenshot(page, "incident-similar")


def test_a_known_error_shows_its_workaround_on_the_incidents_it_explains(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    problem = {
        "title": "Build cache volume fills up",
        "status": "known_error",
        "root_cause": "cache never pruned",
        "workaround": "run the prune-cache job on the runner",
        "match": {"keywords": ["runner", "cache full"]},
    }
    assert machine(pipeline, "PUT", "/admin/problems/PRB-7", problem)[0] in (200, 201)
    status, incident = machine(pipeline, "POST", "/incidents", {"title": "Runner 4: cache full, builds failing"})
    assert status == 201 and incident["known_error"]["problem"] == "PRB-7"
    page = open_page()
    sign_in(page, pipeline, "alice")

    page.goto(f"{pipeline.api_url}/#/incidents/{incident['reference']}")

    summary = page.get_by_role("region", name="Summary")
    expect(summary).to_contain_text("Workaround: run the prune-cache job on the runner", timeout=WAIT_MS)
    summary.get_by_role("link", name="PRB-7").click()
    expect(page.get_by_role("row").filter(has_text="Build cache volume fills up")).to_contain_text(
        "known error", timeout=WAIT_MS
    )
    screenshot(page, "problems")


def test_an_incident_manager_writes_a_problem_record_and_a_responder_links_an_incident_to_it(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "carol")  # an incident manager, not an admin (tests/browser/console.py: ROLES)
    page.goto(f"{pipeline.api_url}/#/directory/problems")
    page.get_by_role("button", name="Add problem").click(timeout=WAIT_MS)
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Id").fill("PRB-41")
    dialog.get_by_label("The problem, as JSON").fill(
        '{"title": "Search index rebuilds stall", "root_cause": "one shard per node"}'
    )
    dialog.get_by_role("button", name="Save").click()
    row = page.get_by_role("row").filter(has_text="Search index rebuilds stall")
    expect(row).to_contain_text("one shard per node", timeout=WAIT_MS)
    expect(row.get_by_role("button", name="Remove problem PRB-41")).to_have_count(0)  # removing stays an admin's

    _, incident = machine(pipeline, "POST", "/incidents", {"title": "Search results stale for an hour"})
    page = open_page()
    sign_in(page, pipeline, "alice")  # a responder
    page.goto(f"{pipeline.api_url}/#/incidents/{incident['reference']}")
    page.get_by_role("button", name="Link to problem").click(timeout=WAIT_MS)
    page.get_by_role("dialog").get_by_label("Problem record id").fill("PRB-41")
    page.get_by_role("dialog").get_by_role("button", name="Link to problem").click()

    summary = page.get_by_role("region", name="Summary")
    expect(summary.get_by_role("link", name="PRB-41")).to_be_visible(timeout=WAIT_MS)
    expect(summary).to_contain_text("Search index rebuilds stall (investigating)")


def test_the_review_owner_writes_findings_adds_an_action_marks_it_done_and_downloads_the_review(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    status, incident = machine(
        pipeline, "POST", "/incidents", {"title": "Orders database deadlock", "impact": "high", "urgency": "high"}
    )
    assert status == 201 and incident["priority"] == "P1"
    assert (
        machine(
            pipeline, "POST", f"/incidents/{incident['reference']}/resolve", {"resolution_notes": "killed the session"}
        )[0]
        == 200
    )
    page = open_page()
    sign_in(page, pipeline, "carol")  # the incident manager: the review is hers
    page.goto(f"{pipeline.api_url}/#/incidents/{incident['reference']}")
    review = page.get_by_role("region", name="Post-incident review")

    review.get_by_role("button", name="Write findings").click(timeout=WAIT_MS)
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Root cause").fill("A missing index on orders.customer_id")
    dialog.get_by_label("Contributing factors (one a line)").fill("No slow-query alarm\nLoad test skipped")
    dialog.get_by_role("button", name="Save").click()
    expect(review).to_contain_text("A missing index on orders.customer_id", timeout=WAIT_MS)
    expect(review.get_by_role("listitem").filter(has_text="Load test skipped")).to_be_visible()

    review.get_by_role("button", name="Add action").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("What will be done").fill("Alarm on slow queries above 1 s")
    dialog.get_by_label("Owner").select_option("bob")
    due = (datetime.now(UTC) + timedelta(days=30)).strftime("%Y-%m-%d")  # (an action is due within the next year)
    dialog.get_by_label("Due (your time)").fill(f"{due}T17:00")
    dialog.get_by_role("button", name="Add action").click()
    row = review.get_by_role("row").filter(has_text="Alarm on slow queries above 1 s")
    expect(row).to_contain_text("bob", timeout=WAIT_MS)
    screenshot(page, "review")

    row.get_by_role("button", name="Action 1 done").click()
    expect(row).to_contain_text("by carol", timeout=WAIT_MS)
    with page.expect_download(timeout=WAIT_MS) as downloading:
        review.get_by_role("button", name="Download as Markdown").click()
    text = Path(downloading.value.path()).read_text(encoding="utf-8")
    assert (
        "## Root cause\n\nA missing index on orders.customer_id" in text
        and "| 1 | Alarm on slow queries above 1 s | bob |" in text
    )


def test_an_incident_manager_runs_a_drill_from_the_reports_page_and_ends_it(
    pipeline: RunningPipeline, open_page: Any
) -> None:
    page = open_page()
    sign_in(page, pipeline, "carol")
    page.goto(f"{pipeline.api_url}/#/reports")

    drill = page.get_by_role("form", name="Training drill")
    drill.get_by_label("Service").select_option("checkout")
    drill.get_by_role("button", name="Start drill").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("[DRILL] Checkout returns errors", timeout=WAIT_MS)
    expect(page.locator(".badge.drill")).to_have_text("Drill")
    report = page.get_by_role("region", name="Drill report")
    expect(report.get_by_role("row").nth(1)).to_be_visible(timeout=WAIT_MS)  # whoever level 1 paged
    page.get_by_role("group", name="Actions").get_by_role("button", name="Acknowledge").click()
    expect(report).to_contain_text("Acknowledged by carol", timeout=WAIT_MS)
    screenshot(page, "drill")
    page.get_by_role("group", name="Actions").get_by_role("button", name="End drill").click()
    expect(page.locator("#main .badge").first).to_have_text("Closed", timeout=WAIT_MS)
