"""Personal notification rules through the pipeline: an admin sets the on-call person's rules with the admin API,
a P1 reaches them by email only, and the real reminder state machine (moto runs its Wait) brings their SMS
follow-ups through notify until someone acknowledges."""

from __future__ import annotations

import time

import boto3
import pytest

from tests.integration.conftest import CONTACTS, Pipeline


def sms_to(pipeline: Pipeline, phone: str) -> list[str]:
    return [m["body"] for m in pipeline.outbox() if m["channel"] == "sms" and m["to"] == [phone]]


def follow_ups_running(incident_id: str) -> bool:
    sfn = boto3.client("stepfunctions", region_name="us-east-1")
    [machine] = [
        m["stateMachineArn"] for m in sfn.list_state_machines()["stateMachines"] if m["name"].endswith("reminder")
    ]
    return any(
        e["name"].startswith(f"{incident_id}-follow-")
        for e in sfn.list_executions(stateMachineArn=machine, statusFilter="RUNNING")["executions"]
    )


def drain(pipeline: Pipeline, until, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not until():
        assert time.monotonic() < deadline, "not within the time"
        for queue in ("classify", "notify"):
            event = pipeline.queued(queue, wait_seconds=0.3)
            if event["Records"]:
                assert pipeline.invoke(queue, event) == {"batchItemFailures": []}


@pytest.mark.parametrize("time_scale", [0.01])  # a follow-up every 2 min → 1.2 s; level 2 (10 min) → 6 s
def test_follow_ups_come_while_nobody_acknowledges_and_stop_when_someone_does(pipeline: Pipeline) -> None:
    _, on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")
    person = on_call["person"]["id"]
    email, phone = CONTACTS[person]
    status, entry = pipeline.api("GET", f"/admin/people/{person}", as_="carol")
    assert status == 200, entry
    rules = {"high": {"via": ["email"], "follow_up": {"every_minutes": 2, "times": 3, "via": ["sms"]}}}
    status, answer = pipeline.api(
        "PUT", f"/admin/people/{person}", {**entry["entry"], "notification_rules": rules}, as_="carol"
    )
    assert status == 200, answer

    status, incident = pipeline.api(
        "POST",
        "/incidents",
        {"title": "Primary database deadlock", "reporter": "me", "impact": "high", "urgency": "high"},
    )
    assert status == 201 and incident["priority"] == "P1"
    assert sms_to(pipeline, phone) == []  # at once: the email alone
    assert any(m["to"] == [email] for m in pipeline.outbox() if m["channel"] == "email")

    drain(pipeline, lambda: len(sms_to(pipeline, phone)) >= 2)
    follow_ups = sms_to(pipeline, phone)
    assert all(incident["reference"] in text for text in follow_ups)
    status, _ = pipeline.api("POST", f"/incidents/{incident['incident_id']}/acknowledge", {}, as_=person)
    assert status == 200
    sent = len(sms_to(pipeline, phone))
    # The next round comes (1.2 s later), sends nothing and ends the run.
    drain(pipeline, lambda: not follow_ups_running(incident["incident_id"]), seconds=30)
    assert len(sms_to(pipeline, phone)) == sent
    _, timeline = pipeline.api("GET", f"/incidents/{incident['incident_id']}/timeline")
    whys = [e["details"].get("why", "") for e in timeline["items"] if e["details"].get("to") == phone]
    assert whys == [f"follow-up {n} of 3: not acknowledged" for n in range(1, sent + 1)]


def test_a_person_sets_their_own_rules_and_a_new_phone_counts_only_once_its_code_came_back(pipeline: Pipeline) -> None:
    rules = {
        "high": {"via": ["sms", "email"]},
        "low": {"via": ["email"]},
        "quiet_hours": {"start": "22:00", "end": "07:00", "low": "nothing"},
    }
    status, answer = pipeline.api("PUT", "/me/notification-rules", {"notification_rules": rules}, as_="bob")
    assert status == 422 and answer["fields"][0]["field"] == "body.time_zone"  # quiet hours need bob's time zone
    status, answer = pipeline.api(
        "PUT", "/me/notification-rules", {"notification_rules": rules, "time_zone": "Europe/Berlin"}, as_="bob"
    )
    assert (
        status == 200
        and answer["notification_rules"]["quiet_hours"]["start"] == "22:00:00"
        and answer["time_zone"] == "Europe/Berlin"
    )
    status, entry = pipeline.api("GET", "/admin/people/bob", as_="carol")
    assert entry["updated_by"] == "bob" and entry["entry"]["notification_rules"]["low"] == {"via": ["email"]}

    new_phone = "+447700900123"
    status, answer = pipeline.api("POST", "/me/contact-methods", {"kind": "phone", "value": new_phone}, as_="bob")
    assert status == 202 and answer["value"] == new_phone
    [code_sms] = [m["body"] for m in pipeline.outbox() if m["channel"] == "sms" and m["to"] == [new_phone]]
    code = code_sms.split()[1]
    assert code.isdigit() and len(code) == 6
    status, answer = pipeline.api("POST", "/me/contact-methods", {"kind": "phone", "value": new_phone}, as_="bob")
    assert status == 429  # another code within the minute
    assert pipeline.api("GET", "/admin/people/bob", as_="carol")[1]["entry"]["phone"] == CONTACTS["bob"][1]  # not yet
    wrong = "000000" if code != "000000" else "111111"
    status, answer = pipeline.api("POST", "/me/contact-methods/verify", {"kind": "phone", "code": wrong}, as_="bob")
    assert status == 422 and answer["fields"] == [
        {"field": "body.code", "problem": f"not the code sent to {new_phone} (4 guesses left)"}
    ]
    status, answer = pipeline.api("POST", "/me/contact-methods/verify", {"kind": "phone", "code": code}, as_="bob")
    assert status == 200 and answer["phone"] == new_phone and answer["waiting_for_code"] == []
    assert pipeline.api("GET", "/admin/people/bob", as_="carol")[1]["entry"]["phone"] == new_phone
    status, answer = pipeline.api("POST", "/me/contact-methods/verify", {"kind": "phone", "code": code}, as_="bob")
    assert status == 422  # used: nothing waits any more


def test_two_requests_for_a_code_at_once_store_one_and_guesses_never_go_below_zero(pipeline: Pipeline) -> None:
    from datetime import UTC, datetime

    from firebell.data.store import DynamoIncidentStore
    from firebell.domain import contacts
    from firebell.domain.contacts import ContactMethod

    store, now = DynamoIncidentStore(pipeline.resources[("table", "incidents")], "us-east-1"), datetime.now(UTC)
    method = ContactMethod(kind="email", value="bob@example.org")
    # Both decided from "nothing stored yet", as two requests at the same instant would be
    first, second = (contacts.issue("bob", method, code, now, None) for code in ("111111", "222222"))
    assert store.save_verification(first) is True
    assert store.save_verification(second) is False  # the second is refused: one code, one send
    for _ in range(contacts.GUESSES + 3):
        store.spend_guess("bob", "email")
    assert store.verification("bob", "email").guesses_left == 0
