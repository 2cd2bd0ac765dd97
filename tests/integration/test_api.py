"""The HTTP API (API Gateway REST proxy events → api function) under moto."""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from infra.local.http_api import proxy_event
from tests.integration.conftest import Pipeline, another_copy, load_event

REPORT = {"title": "Customers cannot log in to the web shop", "reporter": "service-desk"}


def report(pipeline: Pipeline, **overrides) -> dict:
    status, incident = pipeline.api("POST", "/incidents", {**REPORT, **overrides})
    assert status == 201, incident
    return incident


def test_a_person_reports_an_incident(pipeline: Pipeline) -> None:
    # Given the API Gateway event in events/ (a service-desk report with high impact and urgency)
    event = load_event("api/create-incident.json")

    # When the api function handles it
    response = pipeline.invoke("api", event)

    # Then the incident is opened with a reference, a Location header and the reporter's assessment
    assert response["statusCode"] == 201
    incident = json.loads(response["body"])
    assert incident["reference"] == "INC-1"
    assert (
        response["multiValueHeaders"]["Location"] == ["/incidents/INC-1"]
        or response["headers"].get("Location") == "/incidents/INC-1"
    )
    assert (incident["status"], incident["source"], incident["impact"], incident["urgency"]) == (
        "triggered",
        "api",
        "high",
        "high",
    )
    # And classification hears of it
    assert json.loads(pipeline.queued("classify")["Records"][0]["body"])["reference"] == "INC-1"


def test_read_by_reference_or_id_and_list_with_filters_and_pages(pipeline: Pipeline) -> None:
    # Given three reported incidents, one of them acknowledged
    first, second, third = (report(pipeline, title=f"Incident {n}") for n in range(3))
    pipeline.api("POST", f"/incidents/{second['reference']}/acknowledge", as_="alice")

    # Then each reads the same by reference and by id
    assert pipeline.api("GET", "/incidents/INC-1")[1]["incident_id"] == first["incident_id"]
    assert pipeline.api("GET", f"/incidents/{first['incident_id']}")[1]["reference"] == "INC-1"
    # And the list filters by status, newest first
    _, triggered = pipeline.api("GET", "/incidents?status=triggered")
    assert [i["reference"] for i in triggered["items"]] == [third["reference"], first["reference"]]
    _, acknowledged = pipeline.api("GET", "/incidents?status=acknowledged")
    assert [i["reference"] for i in acknowledged["items"]] == [second["reference"]]
    # And pages with an opaque cursor until the end
    seen, cursor = [], None
    while True:
        _, page = pipeline.api("GET", "/incidents?limit=2" + (f"&cursor={cursor}" if cursor else ""))
        seen += [i["reference"] for i in page["items"]]
        cursor = page["cursor"]
        if not cursor:
            break
    assert seen == ["INC-3", "INC-2", "INC-1"]


def test_a_report_pages_level_1_before_it_is_answered_with_a_link_back_to_where_it_was_made(pipeline: Pipeline) -> None:
    # Given the API reached at https://api.example.test/prod (API Gateway's domain and stage, in the request)
    # When someone reports an incident
    incident = report(pipeline, service="checkout", impact="high", urgency="medium")

    # Then by the time the report is answered it is classified and level 1 has been paged, the one-click link in
    # the page leading back to the API it was reported at (the api function cannot be told its own URL)
    assert (incident["priority"], incident["status"]) == ("P2", "triggered")
    [email] = [m for m in pipeline.outbox() if m["channel"] == "email"]
    link = next(line for line in email["body"].splitlines() if line.startswith("Acknowledge (stops paging): "))
    assert link.startswith("Acknowledge (stops paging): https://api.example.test/prod/ack/")
    # And opening the link shows which incident it is for and as whom it acknowledges, changing nothing
    token = link.rsplit("/ack/", 1)[1]
    page = pipeline.invoke("api", proxy_event("GET", f"/ack/{token}", {}, b"", "198.51.100.7"))
    assert page["statusCode"] == 200 and "INC-1 (P2): " in page["body"] and 'method="post"' in page["body"]
    person = email["to"][0].split("@")[0]  # (the demo directory's people: id = the address's local part)
    assert f"Acknowledging as {person} stops paging" in page["body"], page["body"]
    assert pipeline.api("GET", "/incidents/INC-1")[1]["status"] == "triggered"
    # And its button acknowledges it
    response = pipeline.invoke("api", proxy_event("POST", f"/ack/{token}", {}, b"", "198.51.100.7"))
    assert response["statusCode"] == 200
    assert pipeline.api("GET", "/incidents/INC-1")[1]["status"] == "acknowledged"
    # And opening it again says there is nothing left to acknowledge, without a button
    again = pipeline.invoke("api", proxy_event("GET", f"/ack/{token}", {}, b"", "198.51.100.7"))
    assert again["statusCode"] == 200 and "Nothing to acknowledge" in again["body"]
    assert f"acknowledged by {person}" in again["body"] and "<form" not in again["body"]
    forged = pipeline.invoke("api", proxy_event("GET", f"/ack/{token[:-4]}AAAA", {}, b"", "198.51.100.7"))
    assert forged["statusCode"] == 410 and "Not acknowledged" in forged["body"]


def test_acknowledge_resolve_note_and_timeline(pipeline: Pipeline) -> None:
    # Given a reported incident
    report(pipeline)

    # When it is acknowledged, annotated and resolved with notes
    assert pipeline.api("POST", "/incidents/INC-1/acknowledge", as_="alice")[0] == 200
    status, note = pipeline.api(
        "POST", "/incidents/INC-1/notes", {"text": "Identity provider returns 503"}, as_="alice"
    )
    assert status == 201 and note["kind"] == "note"
    status, resolved = pipeline.api(
        "POST", "/incidents/INC-1/resolve", {"resolution_notes": "IdP failed over"}, as_="alice"
    )

    # Then the incident says who did what, and the timeline lists every change in order
    assert status == 200
    assert (resolved["status"], resolved["acknowledged_by"], resolved["resolved_by"], resolved["resolution_notes"]) == (
        "resolved",
        "alice",
        "alice",
        "IdP failed over",
    )
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    # (firebell's own lines between them: classified and paged as it opened, each delivery, the resolution's)
    assert [e["kind"] for e in timeline["items"] if e["actor"] != "firebell"] == [
        "opened",
        "acknowledged",
        "note",
        "resolved",
    ]
    assert [e["at"] for e in timeline["items"]] == sorted(e["at"] for e in timeline["items"])


@pytest.mark.parametrize(
    ("action", "body", "reason"),
    [
        ("acknowledge", None, "it is resolved; reopen it first"),
        ("resolve", {"resolution_notes": "again"}, "it is already resolved"),
    ],
)
def test_an_invalid_transition_is_refused_with_409_saying_why(pipeline: Pipeline, action, body, reason) -> None:
    # Given a resolved incident
    report(pipeline)
    pipeline.api("POST", "/incidents/INC-1/resolve", {"resolution_notes": "fixed"}, as_="alice")

    # When someone tries to acknowledge or resolve it
    status, error = pipeline.api("POST", f"/incidents/INC-1/{action}", body, as_="bob")

    # Then the answer is 409 and says why
    assert status == 409
    assert error == {"error": "invalid_transition", "message": f"cannot {action} INC-1: {reason}"}


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "field"),
    [
        ("POST", "/incidents", {"reporter": "me"}, 422, "body.title"),
        ("POST", "/incidents", {"title": 42, "reporter": "me"}, 422, "body.title"),
        ("POST", "/incidents", {"title": "", "reporter": "me"}, 422, "body.title"),
        ("POST", "/incidents", {"title": "x" * 1025, "reporter": "me"}, 422, "body.title"),
        ("POST", "/incidents", {"title": "x", "reporter": "me", "impact": "catastrophic"}, 422, "body.impact"),
        ("POST", "/incidents", {"title": "x", "reporter": "me", "colour": "red"}, 422, "body.colour"),
        ("POST", "/incidents", ["not", "an", "object"], 422, "body"),
        # A service the directory does not have would route to the default team unseen (alerts still do).
        ("POST", "/incidents", {"title": "x", "reporter": "me", "service": "nope"}, 422, "body.service"),
        ("POST", "/drills", {"service": "payments-db"}, 422, "body.service"),
        ("POST", "/incidents/INC-1/resolve", {}, 422, "body.resolution_notes"),
        # The actor is the caller (docs/access.md): a body still naming one is refused, never silently replaced.
        ("POST", "/incidents/INC-1/acknowledge", {"by": "alice"}, 422, "body.by"),
        ("POST", "/incidents/INC-1/resolve", {"by": "me", "resolution_notes": "fixed"}, 422, "body.by"),
        ("GET", "/incidents?status=sleeping", None, 422, "query.status"),
        ("GET", "/incidents?limit=0", None, 422, "query.limit"),
        ("GET", "/incidents?limit=many", None, 422, "query.limit"),
        ("GET", "/incidents?cursor=bm90LWEtY3Vyc29y", None, 400, "query.cursor"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(pipeline: Pipeline, method, path, body, status, field) -> None:
    # Given an open incident INC-1
    report(pipeline)

    # When a request with a bad field arrives
    got, error = pipeline.api(method, path, body)

    # Then the answer is a 4xx JSON error that names the field
    assert got == status, error
    assert field in [f["field"] for f in error["fields"]] or any(
        f["field"].startswith(field) for f in error["fields"]
    ), error


def test_malformed_json_is_a_400(pipeline: Pipeline) -> None:
    status, error = pipeline.api("POST", "/incidents", raw_body='{"title": "half')
    assert status == 400 and error["error"] == "invalid_json"


@pytest.mark.parametrize(
    "path", ["/incidents/INC-999", "/incidents/01JDQ8Z3M4X2V6N8B0C2D4F6H8", "/incidents/INC-999/timeline"]
)
def test_an_unknown_incident_is_a_404(pipeline: Pipeline, path) -> None:
    status, error = pipeline.api("GET", path)
    assert status == 404 and error["error"] == "incident_not_found"


def test_unknown_route_is_a_json_404(pipeline: Pipeline) -> None:
    status, error = pipeline.api("GET", "/nothing-here")
    assert status == 404 and error["error"] == "route_not_found"


def test_openapi_document_describes_every_route(pipeline: Pipeline) -> None:
    status, document = pipeline.api("GET", "/openapi.json")
    assert status == 200 and document["openapi"].startswith("3.")
    assert set(document["paths"]) >= {
        "/incidents",
        "/incidents/{incident_id}",
        "/incidents/{incident_id}/acknowledge",
        "/incidents/{incident_id}/resolve",
        "/incidents/{incident_id}/notes",
        "/incidents/{incident_id}/timeline",
    }
    assert "IncidentCreate" in document["components"]["schemas"]


def test_references_are_unique_under_concurrent_reports(pipeline: Pipeline) -> None:
    # When 20 people report at the same moment
    with ThreadPoolExecutor(max_workers=8) as pool:
        references = list(pool.map(lambda n: report(pipeline, title=f"storm {n}")["reference"], range(20)))

    # Then every one got its own reference, none skipped
    assert sorted(references, key=lambda r: int(r[4:])) == [f"INC-{n}" for n in range(1, 21)]


def test_concurrent_updates_are_never_lost(pipeline: Pipeline) -> None:
    # Given an incident raised by an alarm
    pipeline.invoke("intake", load_event("sqs/intake-alarm.json"))

    # When the alarm repeats while a responder acknowledges, concurrently
    with ThreadPoolExecutor(max_workers=4) as pool:
        repeats = [
            pool.submit(pipeline.invoke, "intake", another_copy(load_event("sqs/intake-alarm.json"))) for _ in range(6)
        ]
        acknowledgement = pool.submit(pipeline.api, "POST", "/incidents/INC-1/acknowledge", as_="alice")
        [r.result() for r in repeats]

    # Then both the acknowledgement and every occurrence survived
    assert acknowledgement.result()[0] == 200
    _, incident = pipeline.api("GET", "/incidents/INC-1")
    assert incident["status"] == "acknowledged" and incident["occurrences"] == 7


def test_hold_escalate_and_reopen_take_no_body_as_no_reason(pipeline: Pipeline) -> None:
    # Given an incident (a reason is optional on each of these commands)
    reference = report(pipeline)["reference"]

    # When they are sent as `curl -XPOST` sends them, without a body
    escalated = pipeline.api("POST", f"/incidents/{reference}/escalate")
    pipeline.api("POST", f"/incidents/{reference}/acknowledge")
    held = pipeline.api("POST", f"/incidents/{reference}/hold")
    resumed = pipeline.api("POST", f"/incidents/{reference}/resume")
    pipeline.api("POST", f"/incidents/{reference}/resolve", {"resolution_notes": "rolled back"})
    reopened = pipeline.api("POST", f"/incidents/{reference}/reopen")

    # Then each is done, as with `{}`; a body that is not an object is still refused
    assert [escalated[0], held[0], resumed[0], reopened[0]] == [200, 200, 200, 200], (escalated, held, reopened)
    assert (held[1]["status"], reopened[1]["status"]) == ("on_hold", "triggered")
    status, refused = pipeline.api("POST", f"/incidents/{reference}/escalate", raw_body="[]")
    assert status == 422 and [f["field"] for f in refused["fields"]] == ["body"]
