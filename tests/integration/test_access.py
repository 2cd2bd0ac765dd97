"""Who may do what, through the api function itself (docs/access.md): every registered route × every role, a
machine and nobody; the actor on the timeline; the local sign-in."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest

from firebell.domain.access import ROUTES, Public, Role
from firebell.domain.sessions import issue
from functions.api.app import app
from infra.local.http_api import LOCAL_IAM_USER_ARN, proxy_event
from tests.integration.conftest import MACHINE, Pipeline, load_event

SECRET = b"integration-test-session-secret"  # the pipeline fixture's FIREBELL_SESSION_SECRET
REPORT = {"title": "Checkout is slow", "service": "checkout"}


def bearer(person: str, *roles: Role) -> dict[str, str]:
    """A local session for `person` holding exactly `roles` (as POST /auth/local/sign-in would sign it)."""
    token, _ = issue(person, list(roles), SECRET, datetime.now(UTC))
    return {"Authorization": f"Bearer {token}"}


def route_path(template: str) -> str:
    return re.sub(r"<[^>]+>", "x", template)


ROUTES_REGISTERED = sorted({(r.method, r.path) for r in (*app._static_routes, *app._dynamic_routes)})
CALLERS = [*(role.value for role in Role), MACHINE, "nobody"]


def expected(rule: Any, caller: str) -> str:
    if rule is None:  # deny by default: the walk fails for a route without a rule, even for a machine
        return "403"
    if isinstance(rule, Public):
        return "401" if rule.signed else "open"  # (Slack's routes: no Slack signature, whoever the caller)
    if caller == "nobody":
        return "401"
    if caller == MACHINE:
        return "403" if rule.people_only else "open"
    if Role(caller) in rule.all_roles:
        return "open"
    return "403"


def test_every_registered_route_for_every_role_a_machine_and_nobody(pipeline: Pipeline) -> None:
    """No body, path parameters `x`: a caller who may gets anything but 401/403 (404 unknown, 422 no body, …), one
    who may not gets 403 before the body is even read, nobody 401. One table of every answer, so a failure shows all."""
    assert len(ROUTES_REGISTERED) >= 30
    wrong = []
    for method, template in ROUTES_REGISTERED:
        rule = ROUTES.get((method, template))
        for caller in CALLERS:
            headers = {} if caller in ("nobody", MACHINE) else bearer("pat", Role(caller))
            status, body = pipeline.api(
                method, route_path(template), as_=MACHINE if caller == MACHINE else None, headers=headers
            )
            want = expected(rule, caller)
            got = "open" if status not in (401, 403) else str(status)
            if got != want or status >= 500:
                wrong.append(f"{method} {template} as {caller}: {status} {body}, expected {want}")
            elif want == "401":
                assert body["error"] == "unauthenticated", body
            elif want == "403":
                assert body["error"] == "forbidden" and (
                    "needs one of" in body["message"] or "only a signed-in person" in body["message"]
                ), body
    assert wrong == []


def test_the_walk_covers_what_the_roles_table_says(pipeline: Pipeline) -> None:
    """A few rows of docs/access.md, written out: the walk above derives its expectations from ROUTES."""
    assert pipeline.api("POST", "/incidents/x/updates", headers=bearer("pat", Role.RESPONDER), as_=None)[1][
        "message"
    ] == ("responder may not post stakeholder updates; needs one of incident_manager, admin")
    assert pipeline.api("GET", "/admin/directory", headers=bearer("pat", Role.INCIDENT_MANAGER), as_=None)[0] == 403
    assert pipeline.api("GET", "/admin/directory", headers=bearer("pat", Role.ADMIN), as_=None)[0] == 200
    assert pipeline.api("GET", "/incidents", headers=bearer("pat", Role.VIEWER), as_=None)[0] == 200
    assert pipeline.api("POST", "/incidents/x/acknowledge", headers=bearer("pat", Role.VIEWER), as_=None)[0] == 403


def test_a_refusal_comes_before_the_body_is_read(pipeline: Pipeline) -> None:
    status, error, response = pipeline.api_response("POST", "/incidents", raw_body='{"title": "half', as_=None)
    assert (status, error["error"]) == (401, "unauthenticated")
    assert (
        response["multiValueHeaders"].get("WWW-Authenticate") == ['Bearer realm="firebell"']
        or response["headers"].get("WWW-Authenticate") == 'Bearer realm="firebell"'
    )


# --- the actor ----------------------------------------------------------------------------------------


def test_the_actor_is_the_signed_in_person_even_when_the_body_names_another(pipeline: Pipeline) -> None:
    assert pipeline.api("POST", "/incidents", REPORT, as_="alice")[0] == 201
    # A body still naming an actor is refused, naming the field; nothing happens
    status, error = pipeline.api("POST", "/incidents/INC-1/acknowledge", {"by": "bob"}, as_="alice")
    assert status == 422 and error["fields"] == [{"field": "body.by", "problem": "Extra inputs are not permitted"}]
    assert pipeline.api("GET", "/incidents/INC-1")[1]["status"] == "triggered"
    # Without it, alice acts as alice
    status, incident = pipeline.api("POST", "/incidents/INC-1/acknowledge", as_="alice")
    assert status == 200 and incident["acknowledged_by"] == "alice"
    status, note = pipeline.api(
        "POST", "/incidents/INC-1/notes", {"text": "looking"}, headers=bearer("erin", Role.RESPONDER), as_=None
    )
    assert status == 201 and note["actor"] == "erin"
    _, timeline = pipeline.api("GET", "/incidents/INC-1/timeline")
    people_lines = [
        (e["kind"], e["actor"]) for e in timeline["items"] if e["actor"] != "firebell"
    ]  # (firebell's own: paging)
    assert people_lines == [("opened", "alice"), ("acknowledged", "alice"), ("note", "erin")]


def test_a_machines_actor_is_its_principal_and_its_reports_are_its_own(pipeline: Pipeline) -> None:
    status, incident = pipeline.api("POST", "/incidents", REPORT, as_=MACHINE, headers={"Idempotency-Key": "k1"})
    assert status == 201 and incident["reporter"] == f"iam:{LOCAL_IAM_USER_ARN}"
    # The same key from a person is theirs, not the machine's: another incident
    assert (
        pipeline.api("POST", "/incidents", REPORT, as_="alice", headers={"Idempotency-Key": "k1"})[1]["reference"]
        == "INC-2"
    )
    _, resolved = pipeline.api("POST", "/incidents/INC-1/resolve", {"resolution_notes": "fixed"})
    assert resolved["resolved_by"] == f"iam:{LOCAL_IAM_USER_ARN}"


def test_a_report_for_someone_else_names_them_and_the_caller_opened_it(pipeline: Pipeline) -> None:
    _, incident = pipeline.api("POST", "/incidents", {**REPORT, "reporter": "service-desk"}, as_="bob")
    assert incident["reporter"] == "service-desk"
    _, timeline = pipeline.api("GET", f"/incidents/{incident['reference']}/timeline")
    assert timeline["items"][0]["actor"] == "bob" and "report by service-desk" in timeline["items"][0]["message"]


def test_a_reporter_follows_their_own_reports_only(pipeline: Pipeline) -> None:
    assert pipeline.api("POST", "/incidents", REPORT, as_="gus")[1]["reporter"] == "gus"
    assert pipeline.api("POST", "/incidents", REPORT, as_="alice")[0] == 201
    assert pipeline.api("GET", "/incidents/INC-1", as_="gus")[0] == 200
    assert pipeline.api("GET", "/incidents/INC-1/timeline", as_="gus")[0] == 200
    status, error = pipeline.api("GET", "/incidents/INC-2", as_="gus")
    assert (
        status == 403
        and error["message"]
        == "reporter may read incidents only on incidents they reported; needs one of "
        "viewer, responder, incident_manager, admin"
    )
    assert pipeline.api("GET", "/incidents/INC-2/timeline", as_="gus")[0] == 403


def test_a_reporter_reports_as_themselves_a_responder_may_report_for_someone(pipeline: Pipeline) -> None:
    # (a reporter could not read an incident reported for someone else: it would be lost to them)
    status, error = pipeline.api("POST", "/incidents", {**REPORT, "reporter": "dave"}, as_="gus")
    assert status == 403 and error["message"].startswith("body.reporter: a reporter reports as themselves")
    assert pipeline.api("GET", "/incidents")[1]["items"] == []
    assert pipeline.api("POST", "/incidents", {**REPORT, "reporter": "gus"}, as_="gus")[0] == 201
    assert pipeline.api("POST", "/incidents", {**REPORT, "reporter": "dave"}, as_="alice")[1]["reporter"] == "dave"


def test_the_cognito_sample_event_acts_as_its_person(pipeline: Pipeline) -> None:
    """events/api/acknowledge-cognito.json: the people API's event, groups as API Gateway writes them."""
    assert pipeline.api("POST", "/incidents", REPORT)[0] == 201
    response = pipeline.invoke("api", load_event("api/acknowledge-cognito.json"))
    assert response["statusCode"] == 200, response
    assert pipeline.api("GET", "/incidents/INC-1")[1]["acknowledged_by"] == "bob"


def test_a_signed_in_stranger_is_refused(pipeline: Pipeline) -> None:
    event = proxy_event("GET", "/auth/me", {}, b"", "198.51.100.7")
    event["requestContext"]["authorizer"] = {"claims": {"email": "mallory@example.com", "cognito:groups": "admin"}}
    response = pipeline.invoke("api", event)
    assert response["statusCode"] == 403 and '"not_in_directory"' in response["body"]


# --- who am I, and the local sign-in -----------------------------------------------------------------


def test_sign_in_locally_then_act_with_the_token_or_the_cookie(pipeline: Pipeline) -> None:
    status, signed, response = pipeline.api_response("POST", "/auth/local/sign-in", {"person": "carol"}, as_=None)
    assert status == 200 and (signed["person"], signed["roles"]) == ("carol", ["incident_manager", "admin"])
    cookie = (response.get("multiValueHeaders", {}).get("Set-Cookie") or [response["headers"]["Set-Cookie"]])[0]
    assert (
        cookie.startswith(f"firebell_session={signed['token']};")
        and "HttpOnly" in cookie
        and "SameSite=Strict" in cookie
    )
    me = pipeline.api("GET", "/auth/me", headers={"Authorization": f"Bearer {signed['token']}"}, as_=None)[1]
    assert me == {"person": "carol", "name": "Carol Manager", "roles": ["incident_manager", "admin"], "kind": "person"}
    assert (
        pipeline.api("GET", "/auth/me", headers={"Cookie": f"firebell_session={signed['token']}"}, as_=None)[1][
            "person"
        ]
        == "carol"
    )
    # And a machine is told what it is
    machine = pipeline.api("GET", "/auth/me")[1]
    assert machine == {
        "person": f"iam:{LOCAL_IAM_USER_ARN}",
        "name": LOCAL_IAM_USER_ARN,
        "roles": [role.value for role in Role],
        "kind": "machine",
    }


def test_sign_in_names_an_unknown_person_and_lists_whom_it_offers(pipeline: Pipeline) -> None:
    status, error = pipeline.api("POST", "/auth/local/sign-in", {"person": "zed"}, as_=None)
    assert status == 422 and error["fields"] == [{"field": "body.person", "problem": "unknown person 'zed'"}]
    status, people = pipeline.api("GET", "/auth/local/people", as_=None)
    assert status == 200 and {"id": "dave", "name": "Dave Stakeholder", "roles": ["viewer"]} in people["items"]
    status, _, response = pipeline.api_response("POST", "/auth/local/sign-out", as_=None)
    cookie = (response.get("multiValueHeaders", {}).get("Set-Cookie") or [response["headers"]["Set-Cookie"]])[0]
    assert status == 204 and "Max-Age=0" in cookie


def test_local_sign_in_is_not_there_deployed(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    """Deployed (no FIREBELL_LOCAL_RUNTIME), the sign-in answers 404 and a local token is nobody's."""
    from firebell import wiring

    token = bearer("carol", Role.ADMIN)
    monkeypatch.delenv("FIREBELL_LOCAL_RUNTIME")
    wiring.reset()
    status, error = pipeline.api("POST", "/auth/local/sign-in", {"person": "carol"}, as_=None)
    assert (status, error["error"]) == (404, "local_only")
    assert pipeline.api("GET", "/admin/directory", headers=token, as_=None)[0] == 401


def test_a_reporter_follows_their_own_reports_and_only_theirs(pipeline: Pipeline) -> None:
    mine = pipeline.api("POST", "/incidents", REPORT, as_="gus")[1]["reference"]
    others = pipeline.api("POST", "/incidents", {**REPORT, "title": "Search is down"}, as_="alice")[1]["reference"]
    for query in ("", "?reporter=me", "?reporter=gus"):
        status, page = pipeline.api("GET", f"/incidents{query}", as_="gus")
        assert status == 200 and [i["reference"] for i in page["items"]] == [mine], (query, page)
    status, refusal = pipeline.api("GET", "/incidents?reporter=alice", as_="gus")
    assert status == 403 and "only on incidents they reported" in refusal["message"]
    # A reader filters by anyone; `me` is the caller.
    assert [i["reference"] for i in pipeline.api("GET", "/incidents?reporter=me", as_="alice")[1]["items"]] == [others]
    assert [i["reference"] for i in pipeline.api("GET", "/incidents?reporter=gus", as_="dave")[1]["items"]] == [mine]
    assert len(pipeline.api("GET", "/incidents", as_="dave")[1]["items"]) == 2


def test_everyone_signed_in_reads_the_directory_without_phones_or_routing_keys(pipeline: Pipeline) -> None:
    status, answer = pipeline.api("GET", "/directory", as_="gus")
    assert status == 200
    directory = answer["directory"]
    assert {"alice", "gus"} <= {p["id"] for p in directory["people"]} and "checkout" in {
        s["id"] for s in directory["services"]
    }
    text = json.dumps(directory)
    assert '"phone"' not in text and "routing_keys" not in text and "sha256" not in text
    admin = pipeline.api("GET", "/admin/directory", as_="carol")[1]["directory"]
    assert any(p.get("phone") for p in admin["people"])  # the admin's view keeps them
    assert pipeline.api("GET", "/directory", as_=None)[0] == 401


def test_a_reporter_on_someone_elses_incident_is_refused_before_the_body_is_read(pipeline: Pipeline) -> None:
    others = pipeline.api("POST", "/incidents", REPORT, as_="alice")[1]["reference"]
    for body in (None, {"by": "x"}, {"reason": "not fixed"}):
        status, refusal = pipeline.api("POST", f"/incidents/{others}/reopen", body, as_="gus")
        assert (status, refusal["error"]) == (403, "forbidden"), (body, refusal)
    assert pipeline.api("POST", "/incidents/INC-404/reopen", None, as_="gus")[0] == 404


def test_people_who_do_not_work_incidents_read_no_phone_numbers(pipeline: Pipeline) -> None:
    reference = pipeline.api("POST", "/incidents", {**REPORT, "impact": "high", "urgency": "high"}, as_="gus")[1][
        "reference"
    ]
    pipeline.deliver("classify", "classify", wait_seconds=10)
    pipeline.deliver("notify", "notify", wait_seconds=10)
    worker = json.dumps(pipeline.api("GET", f"/incidents/{reference}/timeline", as_="alice")[1])
    phones = set(re.findall(r"\+[1-9]\d{6,14}", worker))
    assert phones, "an SMS page names the phone it went to"
    for reader in ("gus", "dave"):
        seen = json.dumps(
            [
                pipeline.api("GET", path, as_=reader)[1]
                for path in (f"/incidents/{reference}/timeline", f"/incidents/{reference}", "/incidents")
            ],
            ensure_ascii=False,
        )
        assert not any(phone in seen for phone in phones) and "••" in seen, reader
