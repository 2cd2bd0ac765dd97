"""GET /reports and /reports/incidents.csv through the api function on moto (docs/reports.md)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from tests.integration.conftest import Pipeline, load_event


def _period(**extra: str) -> str:
    now = datetime.now(UTC)
    return urlencode(
        {"from": (now - timedelta(days=1)).isoformat(), "to": (now + timedelta(days=1)).isoformat(), **extra}
    )


def test_a_report_counts_what_happened_and_the_csv_lists_it(pipeline: Pipeline) -> None:
    status, created = pipeline.api(
        "POST", "/incidents", {"title": "Checkout errors", "service": "checkout"}, as_="erin"
    )
    assert status == 201
    pipeline.api("POST", f"/incidents/{created['reference']}/acknowledge", as_="alice")

    status, report = pipeline.api("GET", f"/reports?{_period(bucket='month')}", as_="dave")  # a viewer may read reports

    assert status == 200
    assert report["incidents"] == 1 and report["mtta"]["count"] == 1
    assert [row["key"] for row in report["by_team"]] == ["platform"]
    assert {p["person"]: p["acknowledgements"] for p in report["on_call"]}["alice"] == 1
    status, body, response = pipeline.api_response("GET", f"/reports/incidents.csv?{_period()}", as_="dave")
    headers = {**response.get("headers", {}), **{k: v[0] for k, v in response.get("multiValueHeaders", {}).items()}}
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert (row["reference"], row["acknowledged_by"], row["service"]) == (created["reference"], "alice", "checkout")


def test_a_period_the_api_refuses_is_a_422_naming_the_field(pipeline: Pipeline) -> None:
    now = datetime.now(UTC)
    backwards = urlencode({"from": now.isoformat(), "to": (now - timedelta(hours=1)).isoformat()})
    status, body = pipeline.api("GET", f"/reports?{backwards}")
    assert status == 422 and [f["field"] for f in body["fields"]] == ["query.to"]
    status, body = pipeline.api("GET", "/reports?to=2026-01-01T00:00:00Z")
    assert status == 422 and "from" in str(body)
    assert pipeline.api("GET", f"/reports?{_period()}", as_="gus")[0] == 403  # a reporter only: not a reader


def _window_closes(pipeline: Pipeline, incident_id: str) -> None:
    """What the resolution machine sends notify when the confirmation window ends."""
    event = load_event("sqs/notify-escalation-page.json")
    event["Records"][0]["body"] = json.dumps({"type": "resolution.window_closed", "incident_id": incident_id})
    event["Records"][0]["eventSourceARN"] = pipeline.resources[("queue_arn", "notify")]
    assert pipeline.invoke("notify", event) == {"batchItemFailures": []}


def test_similar_incidents_show_how_a_closed_one_was_resolved(pipeline: Pipeline) -> None:
    _, old = pipeline.api("POST", "/incidents", {"title": "Orders database deadlock on the primary"}, as_="erin")
    pipeline.api(
        "POST",
        f"/incidents/{old['reference']}/resolve",
        {"resolution_notes": "killed the blocking session"},
        as_="alice",
    )
    _window_closes(pipeline, old["incident_id"])
    _, unrelated = pipeline.api("POST", "/incidents", {"title": "Office printer jammed"}, as_="erin")
    pipeline.api("POST", f"/incidents/{unrelated['reference']}/resolve", {"resolution_notes": "paper"}, as_="alice")
    _window_closes(pipeline, unrelated["incident_id"])
    _, new = pipeline.api("POST", "/incidents", {"title": "Deadlock in the orders database again"}, as_="erin")

    status, similar = pipeline.api("GET", f"/incidents/{new['reference']}/similar", as_="dave")

    assert status == 200
    assert [(s["reference"], s["resolution_notes"], s["resolved_by"]) for s in similar["items"]] == [
        (old["reference"], "killed the blocking session", "alice")
    ]
    assert pipeline.api("GET", f"/incidents/{new['reference']}/similar", as_="gus")[0] == 403  # not a reader


def test_a_known_error_put_by_an_admin_reaches_the_next_incident_it_explains(pipeline: Pipeline) -> None:
    problem = {
        "title": "Pool exhausted at peak",
        "status": "known_error",
        "workaround": "scale checkout to 6 tasks",
        "match": {"keywords": ["pool", "exhausted"], "services": ["checkout"]},
    }
    assert pipeline.api("PUT", "/admin/problems/PRB-1", problem, as_="carol")[0] == 201
    status, refused = pipeline.api("PUT", "/admin/problems/PRB-2", {**problem, "workaround": ""}, as_="carol")
    assert status == 422 and "workaround" in str(refused)

    _, incident = pipeline.api(
        "POST", "/incidents", {"title": "DB pool exhausted on checkout", "service": "checkout"}, as_="erin"
    )

    assert incident["known_error"] == {
        "problem": "PRB-1",
        "title": "Pool exhausted at peak",
        "workaround": "scale checkout to 6 tasks",
    }
    [page] = [m for m in pipeline.outbox() if "level 1" in m.get("body", "")]
    assert "Known error PRB-1 (Pool exhausted at peak). Workaround: scale checkout to 6 tasks" in page["body"]


def test_an_incident_manager_writes_problem_records_and_a_responder_links_incidents_to_them(pipeline: Pipeline) -> None:
    problem = {"id": "PRB-30", "title": "Disk fills on build hosts", "root_cause": "no log rotation"}
    assert pipeline.api("PUT", "/problems/PRB-30", problem, as_="alice")[0] == 403  # a responder may not write one
    status, written = pipeline.api(
        "PUT", "/problems/PRB-30", problem, as_="frank"
    )  # frank: incident manager, not admin
    assert status == 201 and written["entry"]["root_cause"] == "no log rotation"
    status, refused = pipeline.api("PUT", "/problems/PRB-30", {**problem, "status": "known_error"}, as_="frank")
    assert status == 422 and "workaround" in str(refused)  # a known error says what to do
    _, incident = pipeline.api("POST", "/incidents", {"title": "Build host disk full"}, as_="erin")

    versions = set()
    for _ in range(2):  # linking again changes nothing, its version neither (an edit that read it is not refused)
        status, linked = pipeline.api(
            "POST", f"/incidents/{incident['reference']}/problem", {"problem": "PRB-30"}, as_="alice"
        )
        assert status == 200 and linked["entry"]["incidents"] == [incident["reference"]]
        versions.add(linked["version"])
    assert len(versions) == 1
    assert (
        pipeline.api("POST", f"/incidents/{incident['reference']}/problem", {"problem": "PRB-404"}, as_="alice")[0]
        == 404
    )
    assert (
        pipeline.api("POST", f"/incidents/{incident['reference']}/problem", {"problem": "PRB-30"}, as_="dave")[0] == 403
    )
    _, directory = pipeline.api("GET", "/directory", as_="dave")
    assert [p["incidents"] for p in directory["directory"]["problems"] if p["id"] == "PRB-30"] == [
        [incident["reference"]]
    ]


def test_a_review_with_its_action_items_and_as_markdown(pipeline: Pipeline) -> None:
    _, incident = pipeline.api(
        "POST", "/incidents", {"title": "Primary database deadlock", "impact": "high", "urgency": "high"}, as_="erin"
    )
    reference = incident["reference"]
    pipeline.api(
        "POST", f"/incidents/{reference}/resolve", {"resolution_notes": "killed the blocking session"}, as_="alice"
    )

    status, drafted = pipeline.api(
        "PUT", f"/incidents/{reference}/review", {"root_cause": "a missing index"}, as_="carol"
    )
    assert status == 200 and drafted["review"]["root_cause"] == "a missing index"
    assert (
        pipeline.api("PUT", f"/incidents/{reference}/review", {"root_cause": "x"}, as_="bob")[0] == 403
    )  # not the review's owner
    due = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    status, added = pipeline.api(
        "POST",
        f"/incidents/{reference}/review/actions",
        {"text": "index the orders table", "owner": "bob", "due_at": due},
        as_="carol",
    )
    assert status == 201 and added["review"]["actions"][0]["owner"] == "bob"
    assert (
        "task_token" not in json.dumps(added["review"]["actions"][0])
        or added["review"]["actions"][0]["task_token"] is None
    )
    status, refused = pipeline.api(
        "POST", f"/incidents/{reference}/review/actions", {"text": "x", "owner": "nobody", "due_at": due}, as_="carol"
    )
    assert status == 422 and [f["field"] for f in refused["fields"]] == ["body.owner"]
    status, done = pipeline.api("POST", f"/incidents/{reference}/review/actions/1/done", as_="bob")
    assert status == 200 and done["review"]["actions"][0]["done_by"] == "bob"
    assert pipeline.api("POST", f"/incidents/{reference}/review/actions/9/done", as_="bob")[0] == 409

    status, text = pipeline.api("GET", f"/incidents/{reference}/review.md", as_="dave")
    assert status == 200 and text.startswith(f"# {reference}: Primary database deadlock — post-incident review")
    assert "## Root cause\n\na missing index" in text and "| 1 | index the orders table | bob |" in text


def test_a_drill_through_the_api_pages_is_ended_and_reports_each_responder(pipeline: Pipeline) -> None:
    status, drill = pipeline.api("POST", "/drills", {"service": "checkout"}, as_="carol")
    assert status == 201 and drill["drill"] and drill["title"].startswith("[DRILL]")
    assert pipeline.api("POST", "/drills", {}, as_="alice")[0] == 403  # a responder does not start drills
    pages = [m for m in pipeline.outbox() if "level 1" in m.get("body", "")]
    assert pages and all("THIS IS A DRILL" in m["body"] for m in pages)
    pipeline.api("POST", f"/incidents/{drill['reference']}/acknowledge", as_="alice")

    status, ended = pipeline.api("POST", f"/drills/{drill['reference']}/end", as_="carol")

    assert status == 200 and ended["status"] == "closed"
    status, report = pipeline.api("GET", f"/drills/{drill['reference']}", as_="dave")
    assert status == 200 and report["acknowledged_by"] == "alice" and report["ended_at"] is not None
    assert [r["person"] for r in report["responders"]]
    _, real = pipeline.api("POST", "/incidents", {"title": "Checkout errors"}, as_="erin")
    assert pipeline.api("POST", f"/drills/{real['reference']}/end", as_="carol")[0] == 409
    assert pipeline.api("GET", f"/drills/{real['reference']}", as_="carol")[0] == 404
    _, report = pipeline.api("GET", f"/reports?{_period()}", as_="carol")
    assert report["drills_excluded"] == 1 and report["incidents"] == 1
