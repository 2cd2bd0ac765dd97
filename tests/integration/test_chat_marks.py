"""The claim on an incident's Slack message (data/chat_store.py): whoever takes it over from another delivery looks
in the channel first, so a message posted by a delivery that then failed to keep its ts is never posted twice."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from firebell.data.store import DynamoIncidentStore
from tests.integration.conftest import Pipeline

NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
CLAIM = timedelta(seconds=30)


def test_a_claim_read_as_none_is_not_taken_once_another_delivery_claimed_and_let_go(pipeline: Pipeline) -> None:
    marks = DynamoIncidentStore(pipeline.resources[("table", "incidents")], "us-east-1")
    # Given delivery B that read no claim on the incident's message
    assert marks.chat_message("01INC", "ops-room") == (None, None)
    # And delivery A that then claimed, posted, failed to keep the message's ts and let its claim go
    assert marks.claim_chat_message("01INC", "ops-room", NOW, NOW + CLAIM, replacing=None)
    marks.release_chat_claim("01INC", "ops-room", NOW)

    # When B claims as if nobody had: it does not get it (it would post without looking: a second message)
    assert not marks.claim_chat_message("01INC", "ops-room", NOW + timedelta(seconds=1), NOW + CLAIM, replacing=None)

    # Then, having read A's lapsed claim, B takes it over (and looks in the channel before posting)
    ts, claimed_until = marks.chat_message("01INC", "ops-room")
    assert ts is None and claimed_until == NOW
    later = NOW + timedelta(seconds=1)
    assert marks.claim_chat_message("01INC", "ops-room", later, later + CLAIM, replacing=claimed_until)
    # And a claim still running is not taken over
    assert not marks.claim_chat_message("01INC", "ops-room", later, later + CLAIM, replacing=later + CLAIM)
