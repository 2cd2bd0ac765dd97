"""ScheduleService's refusals, as the API renders them (domain/errors.py's table): a bad `at` is a bad query value,
an unknown person in the path is not found."""

from __future__ import annotations

from datetime import datetime

import pytest

from firebell.domain.directory import FirebellConfig
from firebell.domain.errors import http_answer, http_body
from firebell.schedule_service import ScheduleService
from tests.fakes import FixedClock


@pytest.fixture
def schedules(shipped_config: FirebellConfig) -> ScheduleService:
    return ScheduleService(lambda: shipped_config, FixedClock())


def refusal(error: BaseException) -> tuple[int, dict]:
    answer = http_answer(error)
    assert answer is not None, f"{error!r} is no refusal"
    return answer.status, http_body(error, answer)


@pytest.mark.parametrize("ask", ["one", "everywhere"])
@pytest.mark.parametrize("at", ["2026-12-03T09:30:00", "2026-12-03"])
def test_a_time_without_offset_is_a_validation_failure_naming_at_once(schedules: ScheduleService, ask, at) -> None:
    when = datetime.fromisoformat(at)  # what pydantic makes of the query value: naive
    with pytest.raises(Exception) as raised:
        if ask == "one":
            schedules.on_call("platform-primary", when)
        else:
            schedules.on_call_everywhere(when)

    status, body = refusal(raised.value)
    assert (status, body["error"]) == (422, "validation_failed")
    assert body["fields"] == [{"field": "query.at", "problem": "give a UTC offset, e.g. 2026-11-22T09:00:00Z"}]
    assert body["message"] == "invalid request: query.at", body


def test_a_time_too_far_off_names_at_once(schedules: ScheduleService) -> None:
    with pytest.raises(Exception) as raised:
        schedules.on_call("platform-primary", datetime.fromisoformat("9999-12-31T23:00:00+00:00"))

    status, body = refusal(raised.value)
    assert (status, body["error"]) == (422, "validation_failed")
    assert [f["field"] for f in body["fields"]] == ["query.at"]
    assert "at:" not in body["fields"][0]["problem"]


def test_shifts_of_a_person_not_in_the_directory_are_not_found(schedules: ScheduleService) -> None:
    with pytest.raises(Exception) as raised:
        schedules.upcoming_shifts("nobody", 28)

    status, body = refusal(raised.value)
    assert (status, body["error"]) == (404, "person_not_found")
    assert "'nobody'" in body["message"]


def test_a_known_person_without_shifts_gets_an_empty_list(schedules: ScheduleService, shipped_config) -> None:
    on_a_schedule = {p for s in shipped_config.directory.schedules for layer in s.layers for p in layer.members}
    (idle, *_) = sorted(p.id for p in shipped_config.directory.people if p.id not in on_a_schedule)

    assert schedules.upcoming_shifts(idle, 28) == []
