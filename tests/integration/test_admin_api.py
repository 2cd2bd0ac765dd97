"""The admin API (/admin/...) under moto: directory changes stored as an overlay on config/firebell.yaml,
validated against the whole directory, and used by every function at once."""

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from firebell.data.directory_store import DynamoDirectoryStore
from firebell.directory_overlay import OverlayEntry
from firebell.domain.errors import ConcurrentUpdate
from tests.integration.conftest import Pipeline

ZOE = {"name": "Zoe Oncall", "email": "zoe@example.com", "phone": "+15550100009", "roles": ["responder"]}


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def fields(body: dict[str, Any]) -> dict[str, str]:
    return {f["field"]: f["problem"] for f in body["fields"]}


def api_with_headers(
    pipeline: Pipeline, method: str, path: str, headers: dict[str, str], body: Any = None
) -> tuple[int, Any, dict]:
    """As carol, an admin (signed in with Cognito)."""
    status, answer, response = pipeline.api_response(method, path, body, as_="carol", headers=headers)
    headers_out = {
        **(response.get("headers") or {}),
        **{k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()},
    }
    return status, answer, headers_out


def test_the_effective_directory_shows_where_each_entry_comes_from(pipeline: Pipeline) -> None:
    # Given the shipped file, and an admin who adds a person and changes one the file defines
    assert pipeline.api("PUT", "/admin/people/zoe", ZOE)[0] == 201
    status, bob = pipeline.api(
        "PUT", "/admin/people/bob", {"id": "bob", "name": "Bob Backend", "email": "bob@example.org"}
    )
    assert status == 200 and (bob["source"], bob["in_file"], bob["version"]) == ("admin", True, 1)

    # When the effective directory is read
    status, snapshot = pipeline.api("GET", "/admin/directory")

    # Then it is the file with the changes applied, saying where each entry came from
    assert status == 200 and snapshot["problems"] == []
    people = {p["id"]: p for p in snapshot["directory"]["people"]}
    assert people["zoe"]["email"] == "zoe@example.com" and people["bob"]["email"] == "bob@example.org"
    assert "phone" not in people["bob"]  # a replacement is the whole entry
    assert snapshot["sources"]["people"] == {
        "alice": "file",
        "erin": "file",
        "bob": "admin",
        "carol": "file",
        "frank": "file",
        "dave": "file",
        "gus": "file",
        "zoe": "admin",
    }
    assert snapshot["sources"]["teams"] == {"platform": "file"} and snapshot["revision"] == 2
    # And each kind lists the same, entry by entry
    status, listing = pipeline.api("GET", "/admin/people")
    assert status == 200 and [(i["id"], i["source"]) for i in listing["items"]][-2:] == [
        ("gus", "file"),
        ("zoe", "admin"),
    ]
    assert pipeline.api("GET", "/admin/people/alice")[1]["entry"] == {
        "id": "alice",
        "name": "Alice Ops",
        "email": "alice@example.com",
        "phone": "+15550100001",
        "roles": ["responder"],
    }


def test_add_a_person_then_put_them_on_call_with_an_override(pipeline: Pipeline) -> None:
    # Given a person added through the admin API
    status, zoe = pipeline.api("PUT", "/admin/people/zoe", ZOE)
    assert status == 201 and zoe["entry"] == {"id": "zoe", **ZOE} and zoe["source"] == "admin"
    start = now() - timedelta(minutes=1)

    # When an override puts them on call for the next hour
    status, schedule = pipeline.api(
        "POST",
        "/admin/schedules/platform-primary/overrides",
        {"person": "zoe", "start": iso(start), "end": iso(start + timedelta(hours=1))},
    )

    # Then the schedule (from the file) now carries it, as an admin entry
    assert status == 201
    assert (schedule["source"], schedule["in_file"]) == ("admin", True)
    assert schedule["entry"]["overrides"] == [
        {"person": "zoe", "start": iso(start), "end": iso(start + timedelta(hours=1))}
    ]
    assert schedule["entry"]["layers"][0]["members"] == ["alice", "erin"]
    # And the rest of the API sees it straight away: zoe is on call now
    status, on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")
    assert status == 200 and on_call["person"] == {"id": "zoe", "name": "Zoe Oncall"}


def test_a_new_person_on_call_is_paged(pipeline: Pipeline) -> None:
    # Given zoe, added through the API and on call by an override
    pipeline.api("PUT", "/admin/people/zoe", ZOE)
    start = now() - timedelta(minutes=1)
    pipeline.api(
        "POST",
        "/admin/schedules/platform-primary/overrides",
        {"person": "zoe", "start": iso(start), "end": iso(start + timedelta(hours=1))},
    )

    # When an incident for checkout is reported and classified
    status, _ = pipeline.api(
        "POST", "/incidents", {"title": "Checkout is down", "reporter": "me", "service": "checkout"}
    )
    assert status == 201
    assert pipeline.deliver("classify", "classify") == {"batchItemFailures": []}

    # Then level 1 (the schedule) pages zoe by email and SMS
    deadline = time.monotonic() + 8
    while not any("zoe@example.com" in m["to"] for m in pipeline.outbox()):
        assert time.monotonic() < deadline, f"zoe was not paged: {pipeline.outbox()}"
        event = pipeline.queued("notify", wait_seconds=0.5)
        if event["Records"]:
            assert pipeline.invoke("notify", event) == {"batchItemFailures": []}
    assert any("+15550100009" in m["to"] for m in pipeline.outbox())


def test_a_maintenance_window_defers_paging_for_new_incidents(pipeline: Pipeline) -> None:
    # Given a maintenance window on checkout, added through the API, running now
    start = now() - timedelta(minutes=5)
    status, service = pipeline.api(
        "POST",
        "/admin/services/checkout/maintenance-windows",
        {"start": iso(start), "end": iso(start + timedelta(hours=2)), "reason": "database upgrade"},
    )
    assert status == 201 and service["entry"]["maintenance_windows"][0]["reason"] == "database upgrade"

    # When an incident for checkout is reported and classified
    status, incident = pipeline.api(
        "POST",
        "/incidents",
        {"title": "Checkout is slow", "reporter": "me", "service": "checkout", "impact": "low", "urgency": "low"},
    )
    assert status == 201
    assert pipeline.deliver("classify", "classify") == {"batchItemFailures": []}

    # Then it is recorded and deferred: a maintenance entry on the timeline, no escalation, nobody paged
    _, classified = pipeline.api("GET", f"/incidents/{incident['reference']}")
    assert classified["escalation"]["execution_arn"] is None and classified["escalation"]["deferred_until"]
    _, timeline = pipeline.api("GET", f"/incidents/{incident['reference']}/timeline")
    kinds = [e["kind"] for e in timeline["items"]]
    assert "maintenance" in kinds and "page" not in kinds
    maintenance = next(e for e in timeline["items"] if e["kind"] == "maintenance")
    assert "database upgrade" in maintenance["message"]
    # (this incident's: a run of the test before, stopped as it sent its page, may still land in the same-named queue)
    assert [
        json.loads(r["body"])["type"]
        for r in pipeline.queued("notify", wait_seconds=1)["Records"]
        if json.loads(r["body"]).get("type") == "escalation.page"
        and json.loads(r["body"]).get("incident_id") == incident["incident_id"]
    ] == []
    assert pipeline.outbox() == []


def test_a_put_that_breaks_a_reference_is_refused_naming_the_path(pipeline: Pipeline) -> None:
    # When a policy is replaced with a level that targets someone nobody defined
    status, body = pipeline.api(
        "PUT",
        "/admin/escalation_policies/platform-default",
        {
            "levels": [
                {"delay_minutes": 5, "targets": [{"schedule": "platform-primary"}]},
                {"delay_minutes": 10, "targets": [{"person": "ghost"}]},
            ]
        },
    )

    # Then it is refused with the path of the problem inside the entry sent, and nothing is stored
    assert status == 422 and body["error"] == "invalid_directory"
    assert fields(body) == {"body.levels[1].targets[0].person": "unknown person 'ghost'"}
    assert pipeline.api("GET", "/admin/escalation_policies/platform-default")[1]["source"] == "file"
    assert pipeline.api("GET", "/admin/directory")[1]["revision"] == 0


def test_deleting_a_person_the_file_still_targets_is_refused(pipeline: Pipeline) -> None:
    # When bob, whom the file's policy pages at level 2, is deleted
    status, body = pipeline.api("DELETE", "/admin/people/bob")

    # Then it is refused with the path that still needs him, and bob stays
    assert status == 422 and body["error"] == "invalid_directory"
    assert fields(body) == {
        "directory.escalation_policies['platform-default'].levels[1].targets[0].person": "unknown person 'bob'"
    }
    assert pipeline.api("GET", "/admin/people/bob")[0] == 200


def test_delete_hides_a_file_entry_and_revert_brings_it_back(pipeline: Pipeline) -> None:
    # Given dave, a stakeholder in the file; the team is changed first so nothing needs him
    status, team = pipeline.api("GET", "/admin/teams/platform")
    assert pipeline.api("PUT", "/admin/teams/platform", {**team["entry"], "stakeholders": []})[0] == 200

    # When dave is deleted
    assert pipeline.api("DELETE", "/admin/people/dave") == (204, None)

    # Then he is gone from the effective directory, which says the file's entry is removed
    assert pipeline.api("GET", "/admin/people/dave")[0] == 404
    _, snapshot = pipeline.api("GET", "/admin/directory")
    assert snapshot["removed_from_file"] == {"people": ["dave"]} and "dave" not in snapshot["sources"]["people"]
    # And a second delete is a 404
    assert pipeline.api("DELETE", "/admin/people/dave")[0] == 404
    # And reverting the tombstone brings the file's dave back
    status, dave = pipeline.api("POST", "/admin/people/dave/revert")
    assert status == 200 and (dave["source"], dave["version"], dave["entry"]["email"]) == (
        "file",
        0,
        "dave@example.com",
    )
    # And an admin-only entry reverts to nothing
    pipeline.api("PUT", "/admin/people/zoe", ZOE)
    assert pipeline.api("POST", "/admin/people/zoe/revert") == (204, None)
    assert pipeline.api("GET", "/admin/people/zoe")[0] == 404
    assert pipeline.api("POST", "/admin/people/zoe/revert")[0] == 404


def test_the_ids_in_path_and_body_must_agree(pipeline: Pipeline) -> None:
    status, body = pipeline.api("PUT", "/admin/people/zoe", {**ZOE, "id": "zed"})
    assert status == 422 and list(fields(body)) == ["body.id"]
    status, body = pipeline.api("PUT", "/admin/people/-zoe", ZOE)
    assert status == 422 and list(fields(body)) == ["path.id"]


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/admin/people/zoe", {"name": 5}, "body.name"),
        ("/admin/people/zoe", {"name": "Zoe", "phone": "555-0100"}, "body.phone"),
        ("/admin/people/zoe", {"name": "Zoe", "pager": "+15550100009"}, "body.pager"),
        ("/admin/people/zoe", ["not", "an", "object"], "body"),
        ("/admin/people/zoe", "zoe", "body"),
        (
            "/admin/teams/platform",
            {"name": "Platform", "escalation_policy": "platform-default", "incident_managers": "carol"},
            "body.incident_managers",
        ),
        (
            "/admin/escalation_policies/quick",
            {"levels": [{"delay_minutes": "soon", "targets": [{"person": "bob"}]}]},
            "body.levels[0].delay_minutes",
        ),
        (
            "/admin/escalation_policies/quick",
            {"levels": [{"delay_minutes": 5, "targets": [{}]}]},
            "body.levels[0].targets[0]",
        ),
        (
            "/admin/schedules/nights",
            {
                "name": "Nights",
                "time_zone": "Mars/Olympus",
                "layers": [{"name": "l", "rotation": {"type": "daily", "start": "2026-01-05"}, "members": ["alice"]}],
            },
            "body.time_zone",
        ),
        (
            "/admin/schedules/Nights",
            {
                "name": "Nights",
                "time_zone": "UTC",
                "layers": [{"name": "l", "rotation": {"type": "daily", "start": "2026-01-05"}, "members": ["alice"]}],
            },
            "body.id",
        ),
        (
            "/admin/services/billing",
            {
                "team": "platform",
                "maintenance_windows": [{"start": "2026-01-05T10:00:00Z", "end": "2026-01-05T09:00:00Z"}],
            },
            "body.maintenance_windows[0]",
        ),
        ("/admin/services/billing", {"team": "nobody"}, "body.team"),
        # an escalation target without a usable contact method (a level that would page nobody)
        ("/admin/people/bob", {"name": "Bob Backend"}, "body.email"),
        (
            "/admin/schedules/platform-primary/overrides",
            {"person": "alice", "start": "yesterday", "end": "2026-01-05T09:00:00Z"},
            "body.start",
        ),
        (
            "/admin/schedules/platform-primary/overrides",
            {"person": "ghost", "start": "2026-01-05T09:00:00Z", "end": "2026-01-06T09:00:00Z"},
            "body.person",
        ),
        (
            "/admin/services/checkout/maintenance-windows",
            {"start": "2026-01-05T09:00:00", "end": "2026-01-06T09:00:00Z"},
            "body.start",
        ),
        ("/admin/services/checkout/maintenance-windows", [], "body"),
    ],
)
def test_wrong_types_and_values_are_422_naming_the_field(pipeline: Pipeline, path: str, body: Any, field: str) -> None:
    method = "POST" if path.endswith(("overrides", "maintenance-windows")) else "PUT"
    status, answer = pipeline.api(method, path, body)
    assert status == 422, answer
    assert answer["error"] in ("validation_failed", "invalid_directory") and field in fields(answer), answer
    assert pipeline.api("GET", "/admin/directory")[1]["revision"] == 0  # nothing stored


@pytest.mark.parametrize(
    ("method", "path", "raw", "status", "error"),
    [
        ("PUT", "/admin/people/zoe", "{not json", 400, "invalid_json"),
        ("PUT", "/admin/people/zoe", '{"name": NaN}', 400, "invalid_json"),
        ("PUT", "/admin/people/zoe", "[" * 100_000 + "]" * 100_000, 400, "invalid_json"),
        ("POST", "/admin/schedules/platform-primary/overrides", '{"person": ', 400, "invalid_json"),
        ("PUT", "/admin/people/zoe", "", 422, "validation_failed"),
        ("PUT", "/admin/people/zoe", json.dumps({"name": "x" * (2 * 1024 * 1024)}), 413, "payload_too_large"),
        ("PUT", "/admin/people/zoe", json.dumps({"name": "x" * (300 * 1024)}), 422, "validation_failed"),
        ("PUT", "/admin/gadgets/zoe", json.dumps(ZOE), 404, "unknown_kind"),
        ("GET", "/admin/gadgets", "", 404, "unknown_kind"),
        ("GET", "/admin/gadgets/zoe", "", 404, "unknown_kind"),
        ("DELETE", "/admin/gadgets/zoe", "", 404, "unknown_kind"),
        ("GET", "/admin/people/nobody", "", 404, "entry_not_found"),
        ("DELETE", "/admin/people/nobody", "", 404, "entry_not_found"),
        (
            "POST",
            "/admin/schedules/nights/overrides",
            json.dumps({"person": "alice", "start": "2026-01-05T09:00:00Z", "end": "2026-01-06T09:00:00Z"}),
            404,
            "entry_not_found",
        ),
        (
            "POST",
            "/admin/services/billing/maintenance-windows",
            json.dumps({"start": "2026-01-05T09:00:00Z", "end": "2026-01-06T09:00:00Z"}),
            404,
            "entry_not_found",
        ),
    ],
)
def test_bad_requests_are_clear_json_errors(
    pipeline: Pipeline, method: str, path: str, raw: str, status: int, error: str
) -> None:
    answer_status, answer = pipeline.api(method, path, raw_body=raw)
    assert (answer_status, answer["error"]) == (status, error), answer
    assert answer["message"]


def test_escalation_policies_also_answer_to_their_url_spelling(pipeline: Pipeline) -> None:
    status, policy = pipeline.api("GET", "/admin/escalation-policies/platform-default")
    assert status == 200 and policy["kind"] == "escalation_policies"
    status, created = pipeline.api(
        "PUT",
        "/admin/escalation-policies/quick",
        {"levels": [{"delay_minutes": 1, "targets": [{"team_manager": "platform"}]}]},
    )
    assert status == 201 and created["entry"]["repeat"] == 0


def test_if_match_guards_against_lost_updates(pipeline: Pipeline) -> None:
    # Given zoe at version 1, read with her ETag
    pipeline.api("PUT", "/admin/people/zoe", ZOE)
    status, _zoe, headers = api_with_headers(pipeline, "GET", "/admin/people/zoe", {})
    assert status == 200 and headers["ETag"] == '"1"'

    # When two admins change her, each from version 1
    first = api_with_headers(pipeline, "PUT", "/admin/people/zoe", {"If-Match": '"1"'}, {**ZOE, "name": "Zoe A"})
    second = api_with_headers(pipeline, "PUT", "/admin/people/zoe", {"If-Match": '"1"'}, {**ZOE, "name": "Zoe B"})

    # Then the first wins and the second is told to re-read, not silently applied
    assert first[0] == 200 and first[2]["ETag"] == '"2"'
    assert second[0] == 412 and second[1]["error"] == "version_mismatch" and "header.If-Match" in fields(second[1])
    assert pipeline.api("GET", "/admin/people/zoe")[1]["entry"]["name"] == "Zoe A"
    # And a malformed If-Match is a 400 naming the header
    for malformed in ("yesterday", '"²"', '"-1"'):
        status, body, _ = api_with_headers(pipeline, "DELETE", "/admin/people/zoe", {"If-Match": malformed})
        assert status == 400 and "header.If-Match" in fields(body)
    # And header names are case-insensitive (HTTP/2 clients send them in lower case)
    assert api_with_headers(pipeline, "DELETE", "/admin/people/zoe", {"if-match": '"1"'})[0] == 412
    assert api_with_headers(pipeline, "DELETE", "/admin/people/zoe", {"if-match": '"2"'})[0] == 204


def test_changes_validated_against_an_older_revision_are_not_stored(pipeline: Pipeline) -> None:
    # Given the store, and a change validated when the directory was at revision 0
    store = DynamoDirectoryStore(pipeline.resources[("table", "incidents")], "us-east-1")
    assert pipeline.api("PUT", "/admin/people/zoe", ZOE)[0] == 201  # revision 1 now

    # When that change is written as if nothing had happened since
    with pytest.raises(ConcurrentUpdate):
        store.put(OverlayEntry("people", "yan", {"id": "yan", "name": "Yan"}), expected_revision=0)

    # Then it is refused; at the current revision it goes through
    stored = store.put(OverlayEntry("people", "yan", {"id": "yan", "name": "Yan"}), expected_revision=1)
    assert stored.version == 1
    state = store.load()
    assert state.revision == 2 and set(state.entries) == {("people", "zoe"), ("people", "yan")}
    # And an entry written at a stale version is refused too
    with pytest.raises(ConcurrentUpdate):
        store.put(OverlayEntry("people", "yan", {"id": "yan", "name": "Yan 2"}, version=0), expected_revision=2)


def test_an_admin_change_rides_out_throttles_and_a_lost_answer(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.client import BaseClient
    from botocore.exceptions import ClientError, ReadTimeoutError

    # Given DynamoDB that throttles the change's first read and first write, then applies the next write but its
    # answer never arrives (as AWS does after its SDK's own retries gave up)
    make_api_call = BaseClient._make_api_call
    faults = {"Query": ["throttled"], "TransactWriteItems": ["throttled", "lost"]}

    def flaky(client, operation, params):  # type: ignore[no-untyped-def]
        fault = faults.get(operation, []) and faults[operation].pop(0)
        if fault == "throttled":
            error = {"Code": "ThrottlingException", "Message": "Rate exceeded"}
            raise ClientError({"Error": error, "ResponseMetadata": {"HTTPStatusCode": 400}}, operation)
        answer = make_api_call(client, operation, params)
        if fault == "lost":
            raise ReadTimeoutError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")
        return answer

    monkeypatch.setattr(BaseClient, "_make_api_call", flaky)

    # When an admin adds a person
    status, body = pipeline.api("PUT", "/admin/people/zoe", ZOE)[:2]

    # Then it is done, once: no 5xx for the client to retry
    assert status in (200, 201), body
    assert faults == {"Query": [], "TransactWriteItems": []}
    monkeypatch.setattr(BaseClient, "_make_api_call", make_api_call)
    assert pipeline.api("GET", "/admin/people/zoe")[1]["entry"]["name"] == ZOE["name"]


def test_the_openapi_document_still_builds(pipeline: Pipeline) -> None:
    status, document = pipeline.api("GET", "/openapi.json")
    assert status == 200 and "/admin/{kind}/{entry_id}" in document["paths"]


def test_an_id_a_browser_percent_encodes_is_found(pipeline: Pipeline) -> None:
    # Given a person whose id holds an '@' (the id rule allows it)
    assert pipeline.api("PUT", "/admin/people/ann@ops", {**ZOE, "email": "ann@example.com"})[0] == 201

    # When the console asks for her as encodeURIComponent writes her id (the path as API Gateway hands it over)
    status, found = pipeline.api("GET", "/admin/people/ann%40ops")
    shifts_status, shifts = pipeline.api("GET", "/people/ann%40ops/shifts")

    # Then she is found, under her id
    assert status == 200 and found["entry"]["id"] == "ann@ops"
    assert shifts_status == 200 and shifts["person"] == "ann@ops"
