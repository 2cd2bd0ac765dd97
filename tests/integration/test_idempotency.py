"""POST /incidents with an Idempotency-Key under moto: the key is bound to the incident it opened in the same
transaction (an IDEMPOTENCY# item of the incidents table, expiring by its TTL). A retried request returns the
incident the first one opened, never a second one, whatever happened to the first."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest

from firebell import wiring
from infra.local.http_api import proxy_event
from tests.integration.conftest import Pipeline

REPORT = {"title": "Checkout is slow", "reporter": "alice", "description": "p99 above 4 s since 10:02"}
ALICE = "arn:aws:iam::123456789012:user/alice"
BOB = "arn:aws:iam::123456789012:user/bob"


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


def post(
    pipeline: Pipeline,
    body: dict[str, Any],
    key: str | None = None,
    *,
    header: str = "Idempotency-Key",
    caller: str = ALICE,
) -> Answer:
    headers = {"Content-Type": "application/json", **({header: key} if key is not None else {})}
    event = proxy_event("POST", "/incidents", headers, json.dumps(body).encode(), "198.51.100.7")
    # What API Gateway puts there for a SigV4-signed (IAM-authorised) request
    event["requestContext"]["identity"].update(userArn=caller, caller="AIDAEXAMPLE", accountId="123456789012")
    response = pipeline.invoke("api", event)
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    headers |= {k.lower(): v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    return Answer(response["statusCode"], json.loads(response["body"]), headers)


def references(pipeline: Pipeline) -> list[str]:
    status, page = pipeline.api("GET", "/incidents")
    assert status == 200
    return sorted(i["reference"] for i in page["items"])


def idempotency_items(pipeline: Pipeline) -> list[dict[str, Any]]:
    table = pipeline.resources[("table", "incidents")]
    items = pipeline.client("dynamodb").scan(TableName=table)["Items"]
    return [i for i in items if i["pk"]["S"].startswith("IDEMPOTENCY#")]


def opened_events(pipeline: Pipeline) -> list[dict[str, Any]]:
    return [json.loads(r["body"]) for r in pipeline.queued("classify")["Records"]]


def test_a_retry_with_the_same_key_returns_the_same_incident(pipeline: Pipeline) -> None:
    # Given a report sent with an Idempotency-Key
    first = post(pipeline, REPORT, "retry-1")
    assert first.status == 201 and first.body["reference"] == "INC-1"
    assert "idempotent-replayed" not in first.headers

    # When the caller retries it (its connection dropped before the answer, say), twice
    retries = [post(pipeline, REPORT, "retry-1") for _ in range(2)]

    # Then each retry answers 201 with the same incident, marked as a replay
    for retry in retries:
        assert retry.status == 201
        assert retry.body["reference"] == "INC-1"
        assert retry.body["incident_id"] == first.body["incident_id"]
        assert retry.headers["location"] == "/incidents/INC-1"
        assert retry.headers["idempotent-replayed"] == "true"
    # And only one incident exists, announced once
    assert references(pipeline) == ["INC-1"]
    assert [e["type"] for e in opened_events(pipeline)] == ["incident.opened"]


def test_the_header_name_is_case_insensitive(pipeline: Pipeline) -> None:
    # HTTP/2 clients send every header name in lower case
    assert post(pipeline, REPORT, "retry-2").body["reference"] == "INC-1"
    replay = post(pipeline, REPORT, "retry-2", header="idempotency-key")
    assert (replay.status, replay.body["reference"], replay.headers.get("idempotent-replayed")) == (
        201,
        "INC-1",
        "true",
    )
    assert references(pipeline) == ["INC-1"]


def test_without_the_header_every_request_opens_an_incident(pipeline: Pipeline) -> None:
    # Given no Idempotency-Key: behaviour as before
    answers = [post(pipeline, REPORT) for _ in range(2)]
    assert [a.status for a in answers] == [201, 201]
    assert references(pipeline) == ["INC-1", "INC-2"]
    # And no key was bound
    assert idempotency_items(pipeline) == []


def test_different_keys_are_different_requests(pipeline: Pipeline) -> None:
    assert post(pipeline, REPORT, "a").body["reference"] == "INC-1"
    assert post(pipeline, REPORT, "b").body["reference"] == "INC-2"


def test_the_same_key_with_a_different_body_is_refused(pipeline: Pipeline) -> None:
    # Given a report sent with a key
    post(pipeline, REPORT, "reused")

    # When the key is used again for a different report
    refused = post(pipeline, REPORT | {"title": "Search is down"}, "reused")

    # Then it is refused, naming the header, and no incident is opened for it
    assert refused.status == 422
    assert refused.body["error"] == "idempotency_key_reused"
    assert [f["field"] for f in refused.body["fields"]] == ["header.Idempotency-Key"]
    assert refused.body["message"].startswith("Idempotency-Key 'reused' was already used with a different request body")
    assert references(pipeline) == ["INC-1"]
    # While the original request may still be retried
    assert post(pipeline, REPORT, "reused").body["reference"] == "INC-1"


def test_keys_are_scoped_to_the_caller(pipeline: Pipeline) -> None:
    # Given two IAM principals who happen to choose the same key
    alice = post(pipeline, REPORT, "same-key", caller=ALICE)
    bob = post(pipeline, REPORT, "same-key", caller=BOB)
    # Then neither gets the other's incident
    assert (alice.body["reference"], bob.body["reference"]) == ("INC-1", "INC-2")
    assert "idempotent-replayed" not in bob.headers


def test_a_duplicate_while_the_first_request_is_in_flight_gets_the_same_incident(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a first request that is still opening its incident when its duplicate arrives (and completes first)
    service = pipeline.built_for("api", wiring.intake)
    open_ = service._incidents.open
    duplicates: list[Answer] = []
    arrived: list[bool] = []

    def open_while_a_duplicate_arrives(change):
        if not arrived:
            arrived.append(True)  # the duplicate's own open goes through
            duplicates.append(post(pipeline, REPORT, "in-flight"))
        return open_(change)

    monkeypatch.setattr(service._incidents, "open", open_while_a_duplicate_arrives)

    # When the first request completes
    first = post(pipeline, REPORT, "in-flight")

    # Then both answer with the one incident the duplicate happened to open first: nobody is told to come back
    (duplicate,) = duplicates
    assert duplicate.status == first.status == 201
    assert duplicate.body["incident_id"] == first.body["incident_id"]
    assert first.headers["idempotent-replayed"] == "true"
    assert len(references(pipeline)) == 1


def test_a_request_that_failed_can_be_retried_with_its_key(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a first attempt that fails before opening anything (the table is throttled, say)
    service = pipeline.built_for("api", wiring.intake)
    report = service.report_once

    def fail(request: Any, idempotency_key: str | None = None, actor: str | None = None) -> Any:
        raise ConnectionError("throttled")

    monkeypatch.setattr(service, "report_once", fail)
    with pytest.raises(ConnectionError):
        post(pipeline, REPORT, "after-failure")

    # When the caller retries with the same key
    monkeypatch.setattr(service, "report_once", report)
    retry = post(pipeline, REPORT, "after-failure")

    # Then the retry runs (the failed attempt left no record behind) and opens the incident
    assert retry.status == 201 and "idempotent-replayed" not in retry.headers
    assert references(pipeline) == ["INC-1"]


@pytest.mark.parametrize("key", ["", "k" * 256], ids=["empty", "too-long"])
def test_an_invalid_key_is_refused_naming_the_header(pipeline: Pipeline, key: str) -> None:
    refused = post(pipeline, REPORT, key)
    assert refused.status == 422
    assert refused.body["error"] == "validation_failed"
    assert [f["field"].lower() for f in refused.body["fields"]] == ["header.idempotency-key"]
    assert references(pipeline) == []


def test_an_invalid_body_with_a_key_is_refused_and_records_nothing(pipeline: Pipeline) -> None:
    refused = post(pipeline, {"reporter": "alice"}, "bad-body")
    assert refused.status == 422 and [f["field"] for f in refused.body["fields"]] == ["body.title"]
    assert idempotency_items(pipeline) == []


def test_bindings_expire_through_the_table_s_ttl(pipeline: Pipeline) -> None:
    # Given a completed request
    first = post(pipeline, REPORT, "ttl")
    dynamodb = pipeline.client("dynamodb")
    # Then its key's binding is in the incidents table, with the expiry the table's TTL deletes it by (a day on)
    ttl = dynamodb.describe_time_to_live(TableName=pipeline.resources[("table", "incidents")])["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires")
    (item,) = idempotency_items(pipeline)
    assert item["incident_id"]["S"] == first.body["incident_id"]
    assert int(item["expires"]["N"]) > 0
    assert "alice" not in json.dumps(item)  # the caller and the key are hashed: a key is a client's secret
