"""GET /on-call (every schedule at one instant) and GET /people/{id}/shifts (a person's upcoming shifts), which
the console and `firebell oncall` read."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.integration.conftest import Pipeline


def iso(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_on_call_everywhere_names_every_schedule_and_follows_an_override(pipeline: Pipeline) -> None:
    status, before = pipeline.api("GET", "/on-call")
    assert status == 200
    schedules = {row["schedule"] for row in before["schedules"]}
    assert "platform-primary" in schedules and len(schedules) == len(before["schedules"])

    start = datetime.now(UTC) - timedelta(minutes=1)
    pipeline.api(
        "POST",
        "/admin/schedules/platform-primary/overrides",
        {"person": "frank", "start": iso(start), "end": iso(start + timedelta(hours=1))},
    )

    _, after = pipeline.api("GET", "/on-call")
    (primary,) = [row for row in after["schedules"] if row["schedule"] == "platform-primary"]
    assert primary["person"] == {"id": "frank", "name": "Frank Lead"}


def test_on_call_at_a_given_time_and_refusals_that_name_the_parameter(pipeline: Pipeline) -> None:
    status, answer = pipeline.api("GET", "/on-call?at=2026-12-24T09:00:00Z")
    assert status == 200 and answer["at"] == "2026-12-24T09:00:00+00:00"
    # seconds since 1970 are not an ISO 8601 time (pydantic would read them as one); a time without offset is ambiguous
    # (and the very ends of datetime's range, where the days around the time cannot be counted)
    for bad in ("0.5", "1700000000", "2026-12-24T09:00:00", "2026-12-24", "9999-12-31T23:00:00Z"):
        for path in ("/on-call", "/schedules/platform-primary/on-call"):
            status, refusal = pipeline.api("GET", f"{path}?at={bad}")
            assert (status, refusal["error"]) == (422, "validation_failed"), (bad, path, refusal)
            assert [f["field"] for f in refusal["fields"]] == ["query.at"], refusal
            assert "at: at" not in refusal["message"] and "at:" not in refusal["fields"][0]["problem"], refusal


def test_a_persons_shifts_come_from_every_schedule_in_time_order(pipeline: Pipeline) -> None:
    start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
    pipeline.api(
        "POST",
        "/admin/schedules/platform-primary/overrides",
        {"person": "frank", "start": iso(start), "end": iso(start + timedelta(hours=3))},
    )

    status, answer = pipeline.api("GET", "/people/frank/shifts?days=7")

    assert status == 200
    shifts = answer["shifts"]
    override = [s for s in shifts if s["source"] == "override"]
    assert [
        (s["schedule"], datetime.fromisoformat(s["start"]), datetime.fromisoformat(s["end"])) for s in override
    ] == [("platform-primary", start, start + timedelta(hours=3))]
    starts = [datetime.fromisoformat(s["start"]) for s in shifts]
    assert starts == sorted(starts)
    status, nobody = pipeline.api("GET", "/people/nobody-at-all/shifts")
    assert (status, nobody["error"]) == (404, "person_not_found"), nobody


def test_a_restricted_schedule_answers_nobody_outside_its_hours(pipeline: Pipeline) -> None:
    # Given platform-primary restricted to 09:00–17:00 London through the admin API
    status, changed = pipeline.api(
        "PUT",
        "/admin/schedules/platform-primary",
        {
            "id": "platform-primary",
            "name": "Platform primary",
            "time_zone": "Europe/London",
            "layers": [
                {
                    "name": "weekly",
                    "rotation": {"type": "weekly", "start": "2026-01-05", "handoff": "09:00"},
                    "members": ["alice", "erin"],
                    "restrictions": [{"type": "daily", "start": "09:00", "end": "17:00"}],
                }
            ],
        },
    )
    assert status == 200, changed
    # Then at 19:02 London (BST) nobody is on call, which is an answer (200), not an error, and says why
    status, evening = pipeline.api("GET", "/schedules/platform-primary/on-call?at=2026-03-30T18:02:00Z")
    assert status == 200 and evening["person"] is None and evening["vacancy"] == "outside its hours"
    _, everywhere = pipeline.api("GET", "/on-call?at=2026-03-30T18:02:00Z")
    (primary,) = [row for row in everywhere["schedules"] if row["schedule"] == "platform-primary"]
    assert primary["person"] is None and primary["vacancy"] == "outside its hours"
    # And at 09:00 BST (08:00 UTC) the rotation's member is
    _, morning = pipeline.api("GET", "/schedules/platform-primary/on-call?at=2026-03-30T08:00:00Z")
    assert morning["person"]["id"] in ("alice", "erin") and "vacancy" not in morning
    # And a restriction the directory cannot read is refused naming the field
    status, refusal = pipeline.api(
        "PUT",
        "/admin/schedules/platform-primary",
        {
            "id": "platform-primary",
            "name": "Platform primary",
            "time_zone": "Europe/London",
            "layers": [
                {
                    "name": "weekly",
                    "rotation": {"type": "weekly", "start": "2026-01-05", "handoff": "09:00"},
                    "members": ["alice"],
                    "restrictions": [
                        {"type": "weekly", "start_day": "someday", "start": "09:00", "end_day": "fri", "end": "17:00"}
                    ],
                }
            ],
        },
    )
    assert status == 422 and "restrictions" in str(refusal) and "start_day" in str(refusal), refusal
