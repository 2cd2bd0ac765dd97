"""A storm of distinct incidents through the pipeline: the on-call person gets `after` SMS pages, then one digest
SMS when the window ends, sent by the real digest state machine (moto runs its Wait) through notify."""

from __future__ import annotations

import time
from collections import Counter
from datetime import UTC, datetime

import pytest

from firebell import wiring
from tests.integration.conftest import CONTACTS, Pipeline

STORM = 7


def sms_to(pipeline: Pipeline, phone: str) -> list[str]:
    return [m["body"] for m in pipeline.outbox() if m["channel"] == "sms" and m["to"] == [phone]]


@pytest.mark.parametrize("time_scale", [0.002])  # the digest window: 60 min → 7 s
def test_a_storm_sends_the_on_call_person_five_sms_then_one_digest_naming_the_rest(
    pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # (one instant for the whole storm: every page falls in one digest window however slowly this machine runs it)
    frozen = datetime.now(UTC)
    monkeypatch.setattr(wiring, "utc_now", lambda: frozen)
    references = []
    for n in range(STORM):
        status, incident = pipeline.api(
            "POST",
            "/incidents",
            {
                "title": f"Disk {n} full on web-{n}",
                "reporter": "me",
                "service": "checkout",
                "impact": "low",
                "urgency": "low",
            },
        )
        assert status == 201
        references.append(incident["reference"])
    _, on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")
    phone = CONTACTS[on_call["person"]["id"]][1]

    # When classify and notify handle what arrives, until the digest has come
    deadline = time.monotonic() + 90
    while not any(body.startswith("firebell digest ") for body in sms_to(pipeline, phone)):
        assert time.monotonic() < deadline, f"no digest: {sms_to(pipeline, phone)}"
        for queue in ("classify", "notify"):
            event = pipeline.queued(queue, wait_seconds=0.3)
            if event["Records"]:
                assert pipeline.invoke(queue, event) == {"batchItemFailures": []}

    # Then 5 SMS went one by one and one digest named the other two: every level-1 page reached the phone once
    messages = sms_to(pipeline, phone)
    singles = [m for m in messages if not m.startswith("firebell digest ")]
    [digest] = [m for m in messages if m.startswith("firebell digest ")]
    assert len(singles) == 5
    named = Counter(ref for ref in references for m in singles + digest.splitlines()[1:] if f" {ref} " in f" {m} ")
    assert named == Counter(references), (singles, digest)
    for reference in [r for r in references if any(f" {r} " in f" {line} " for line in digest.splitlines()[1:])]:
        _, timeline = pipeline.api("GET", f"/incidents/{reference}/timeline")
        kinds = [e["kind"] for e in timeline["items"]]
        assert "notification_held" in kinds
        assert any(e["kind"] == "notification_sent" and e["details"].get("digest") for e in timeline["items"])
