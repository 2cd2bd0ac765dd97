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
    for bad in ("0.5", "1700000000", "2026-12-24T09:00:00"):
        status, refusal = pipeline.api("GET", f"/on-call?at={bad}")
        assert 400 <= status < 500, (bad, status)
        assert "at" in str(refusal), refusal


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
    _, nobody = pipeline.api("GET", "/people/nobody-at-all/shifts")
    assert nobody["shifts"] == []
