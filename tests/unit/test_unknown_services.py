"""A service named by a person or tool over the API (POST /incidents, POST /drills) must be in the directory: refused
with 422 unknown_service naming body.service. What arrives by email keeps going to the default team when its
service is unknown, as alerts do."""

from __future__ import annotations

import pytest

from firebell.domain.enums import Source
from firebell.domain.errors import UnknownService, http_answer, http_body
from firebell.domain.requests import DrillStart, IncidentCreate

from .conftest import World


def assert_refused_naming_the_field(error: UnknownService) -> None:
    answer = http_answer(error)
    assert answer is not None
    body = http_body(error, answer)
    assert (answer.status, body["error"]) == (422, "unknown_service")
    (field,) = body["fields"]
    assert field["field"] == "body.service"
    assert "'nope'" in field["problem"] and "checkout" in field["problem"] and "GET /directory" in field["problem"]


def test_a_report_naming_an_unknown_service_is_refused_and_opens_nothing(world: World) -> None:
    with pytest.raises(UnknownService) as refused:
        world.service.intake.report(IncidentCreate(title="x", service="nope"), actor="erin")

    assert_refused_naming_the_field(refused.value)
    assert world.store._incidents == {} and world.messenger.emails == []


def test_a_report_naming_a_known_service_or_none_opens(world: World) -> None:
    known = world.service.intake.report(IncidentCreate(title="x", service="checkout"), actor="erin")
    without = world.service.intake.report(IncidentCreate(title="y"), actor="erin")

    assert (known.service, without.service) == ("checkout", None)


def test_a_drill_for_an_unknown_service_is_refused_and_pages_nobody(world: World) -> None:
    with pytest.raises(UnknownService) as refused:
        world.service.intake.start_drill(DrillStart(service="nope"), actor="carol")

    assert_refused_naming_the_field(refused.value)
    assert world.store._incidents == {} and world.messenger.emails == [] and world.messenger.sms == []


def test_an_email_for_an_unknown_service_still_opens_for_the_default_team(world: World) -> None:
    incident, _ = world.service.intake.report_once(
        IncidentCreate(title="x", service="nope", reporter="someone@example.com"), source=Source.EMAIL
    )

    assert incident.service == "nope" and incident.team == world.config.directory.default_team


def test_the_message_lists_a_long_directory_in_part() -> None:
    known = [f"service-{n:02}" for n in range(25)]

    error = UnknownService("nope", known)

    assert "service-19 and 5 more" in str(error) and "service-20" not in str(error)
