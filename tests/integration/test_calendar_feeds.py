"""A person's secret calendar feed address (docs/access.md, functions/api/feeds.py): made, read by a calendar app
without credentials, replaced, revoked by its person or an admin; only its SHA-256 is stored."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from tests.integration.conftest import MACHINE, Pipeline


def subscribe(pipeline: Pipeline, person: str) -> str:
    status, feed = pipeline.api("POST", "/me/calendar-feed", as_=person)
    assert status == 201 and feed["active"] and feed["path"].startswith("/feeds/"), feed
    return feed["path"]


def fetch(pipeline: Pipeline, path: str) -> tuple[int, str]:
    status, body, response = pipeline.api_response("GET", path, as_=None, headers={"Content-Type": ""})
    return status, body if status != 200 else response["body"]


def events(calendar: str) -> list[str]:
    return [line for line in calendar.splitlines() if line.startswith("SUMMARY:")]


def test_a_calendar_app_reads_the_persons_shifts_on_every_schedule_without_signing_in(pipeline: Pipeline) -> None:
    path = subscribe(pipeline, "alice")
    status, calendar = fetch(pipeline, path)
    assert status == 200 and calendar.startswith("BEGIN:VCALENDAR") and "X-WR-CALNAME:On call: Alice" in calendar
    summaries = events(calendar)
    # A weekly rotation of alice and erin over 8 weeks: alice has her 4 (or 5) shifts, and no one else's.
    assert 4 <= len(summaries) <= 5 and all("(alice)" in s for s in summaries), summaries
    # The address was shown once: reading the feed's state gives no address back, only that there is one.
    status, state = pipeline.api("GET", "/me/calendar-feed", as_="alice")
    assert status == 200 and state["active"] and state["path"] is None and state["created_at"]


def test_a_new_address_replaces_the_old_and_revoking_stops_it(pipeline: Pipeline) -> None:
    first = subscribe(pipeline, "erin")
    second = subscribe(pipeline, "erin")
    assert first != second
    status, refusal = fetch(pipeline, first)
    assert (status, refusal["error"], refusal["fields"][0]["field"]) == (404, "feed_not_found", "path.token")
    assert fetch(pipeline, second)[0] == 200
    assert pipeline.api("DELETE", "/me/calendar-feed", as_="erin")[0] == 204
    assert fetch(pipeline, second)[0] == 404
    assert pipeline.api("GET", "/me/calendar-feed", as_="erin")[1]["active"] is False
    assert pipeline.api("DELETE", "/me/calendar-feed", as_="erin")[0] == 204  # revoking none is no error


def test_an_admin_revokes_someone_elses_and_nobody_else_may(pipeline: Pipeline) -> None:
    path = subscribe(pipeline, "alice")
    assert pipeline.api("DELETE", "/people/alice/calendar-feed", as_="bob")[0] == 403
    assert pipeline.api("DELETE", "/people/alice/calendar-feed", as_="carol")[0] == 204
    assert fetch(pipeline, path)[0] == 404
    status, refusal = pipeline.api("DELETE", "/people/nobody-here/calendar-feed", as_="carol")
    assert (status, refusal["fields"][0]["field"]) == (422, "path.person_id")
    # A machine has no shifts of its own to subscribe to.
    assert pipeline.api("POST", "/me/calendar-feed", as_=MACHINE)[0] == 403


@pytest.mark.parametrize(
    "forge",
    [
        lambda token: token[:-1] + ("A" if token[-1] != "A" else "B"),  # the secret, one character off
        lambda token: "ZXJpbg" + token[token.index(".") :],  # erin's name on alice's secret
        lambda token: token.split(".")[0],  # the person part alone
        lambda token: "not-a-token",
        lambda token: "x" * 3000,
        lambda token: "%00%ff." + "a" * 50,
    ],
)
def test_a_forged_or_altered_address_reads_nothing(pipeline: Pipeline, forge) -> None:
    subscribe(pipeline, "erin")  # so that the forged person part names someone with a feed
    token = subscribe(pipeline, "alice").split("/")[2]
    status, refusal = fetch(pipeline, f"/feeds/{forge(token)}/calendar.ics")
    assert status == 404 and refusal["error"] == "feed_not_found"


def test_only_the_secrets_hash_is_stored(pipeline: Pipeline) -> None:
    token = subscribe(pipeline, "alice").split("/")[2]
    dynamodb = pipeline.client("dynamodb")
    stored = json.dumps([dynamodb.scan(TableName=name)["Items"] for name in dynamodb.list_tables()["TableNames"]])
    assert "FEED#alice" in stored and token not in stored and token.split(".")[1] not in stored


def test_the_shift_on_now_comes_whole_so_its_event_is_the_same_on_every_days_fetch(pipeline: Pipeline) -> None:
    on_call = pipeline.api("GET", "/schedules/platform-primary/on-call")[1]["person"]["id"]
    status, calendar = fetch(pipeline, subscribe(pipeline, on_call))
    assert status == 200
    first = next(line for line in calendar.splitlines() if line.startswith("DTSTART:"))
    began = datetime.strptime(first.removeprefix("DTSTART:"), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    # The weekly rotation hands over on Mondays at 09:00 London time (config/firebell.yaml): not today's midnight
    london = began.astimezone(ZoneInfo("Europe/London"))
    assert began <= datetime.now(UTC) and (london.weekday(), london.hour, london.minute) == (0, 9, 0), first
