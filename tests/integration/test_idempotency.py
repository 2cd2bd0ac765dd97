"""POST /incidents with an Idempotency-Key under moto: powertools idempotency with its records in the topology's
idempotency table. A retried request returns the incident the first one opened, never a second one."""

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


def post(pipeline: Pipeline, body: dict[str, Any], key: str | None = None, *, header: str = "Idempotency-Key",
         caller: str | None = ALICE) -> Answer:
    headers = {"Content-Type": "application/json", **({header: key} if key is not None else {})}
    event = proxy_event("POST", "/incidents", headers, json.dumps(body).encode(), "198.51.100.7")
    if caller:
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
    assert (replay.status, replay.body["reference"], replay.headers.get("idempotent-replayed")) == (201, "INC-1", "true")
    assert references(pipeline) == ["INC-1"]


def test_without_the_header_every_request_opens_an_incident(pipeline: Pipeline) -> None:
    # Given no Idempotency-Key: behaviour as before
    answers = [post(pipeline, REPORT) for _ in range(2)]
    assert [a.status for a in answers] == [201, 201]
    assert references(pipeline) == ["INC-1", "INC-2"]
    # And the idempotency store was never even built (no client, nothing read or written)
    assert wiring.idempotency_store.cache_info().currsize == 0
    items = pipeline.client("dynamodb").scan(TableName="firebell-idempotency")["Items"]
    assert items == []


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
    assert "different request body" in refused.body["message"]
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


def test_a_duplicate_while_the_first_request_is_in_flight_gets_409(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a first request that is still opening its incident when its duplicate arrives
    service = wiring.intake()
    report = service.report
    duplicates: list[Answer] = []

    def report_while_a_duplicate_arrives(request: Any, idempotency_key: str | None = None) -> Any:
        duplicates.append(post(pipeline, REPORT, "in-flight"))
        return report(request, idempotency_key)

    monkeypatch.setattr(service, "report", report_while_a_duplicate_arrives)

    # When the first request completes
    first = post(pipeline, REPORT, "in-flight")

    # Then the duplicate was refused with 409 (retry later), the first opened the one incident
    (duplicate,) = duplicates
    assert duplicate.status == 409
    assert duplicate.body["error"] == "idempotency_key_in_progress"
    assert first.status == 201
    assert references(pipeline) == ["INC-1"]
    # And retrying the duplicate now returns that incident
    monkeypatch.setattr(service, "report", report)
    assert post(pipeline, REPORT, "in-flight").body["reference"] == "INC-1"


def test_a_request_that_failed_can_be_retried_with_its_key(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a first attempt that fails before opening anything (the table is throttled, say)
    service = wiring.intake()
    report = service.report

    def fail(request: Any, idempotency_key: str | None = None) -> Any:
        raise ConnectionError("throttled")

    monkeypatch.setattr(service, "report", fail)
    with pytest.raises(ConnectionError):
        post(pipeline, REPORT, "after-failure")

    # When the caller retries with the same key
    monkeypatch.setattr(service, "report", report)
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
    assert pipeline.client("dynamodb").scan(TableName="firebell-idempotency")["Items"] == []


def test_records_expire_through_the_table_s_ttl(pipeline: Pipeline) -> None:
    # Given a completed request
    post(pipeline, REPORT, "ttl")
    dynamodb = pipeline.client("dynamodb")
    # Then its record is in the idempotency table, with the expiry the table's TTL deletes it by
    ttl = dynamodb.describe_time_to_live(TableName="firebell-idempotency")["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expiration")
    (item,) = dynamodb.scan(TableName="firebell-idempotency")["Items"]
    assert item["id"]["S"].startswith("firebell.api.create_incident#")
    assert item["status"]["S"] == "COMPLETED"
    assert int(item["expiration"]["N"]) > 0
    assert json.loads(item["data"]["S"]) == {"incident_id": post(pipeline, REPORT, "ttl").body["incident_id"]}


def test_a_request_that_failed_after_opening_its_incident_returns_it_on_retry(pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a first attempt that opened its incident and then failed (its answer lost, a timeout after the
    # write): powertools forgets the key of a failed request
    service = wiring.intake()
    report = service.report

    def open_then_fail(request: Any, idempotency_key: str | None = None) -> Any:
        report(request, idempotency_key)
        raise TimeoutError("Read timeout on endpoint URL")

    monkeypatch.setattr(service, "report", open_then_fail)
    with pytest.raises(TimeoutError):
        post(pipeline, REPORT, "opened-then-failed")

    # When the caller retries with the same key
    monkeypatch.setattr(service, "report", report)
    retry = post(pipeline, REPORT, "opened-then-failed")

    # Then it gets the incident the first attempt opened: never a second one
    assert retry.status == 201 and retry.body["reference"] == "INC-1"
    assert references(pipeline) == ["INC-1"]
    # And the same key with another body is still refused
    assert post(pipeline, REPORT | {"title": "Search is down"}, "opened-then-failed").status == 422
