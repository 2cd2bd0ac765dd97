"""Problems and known errors (domain/problems.py): a known error's workaround reaches the incidents it explains, in
their first page and on their timeline; the directory checks problem records like its other entries."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from firebell.domain.enums import TimelineKind
from firebell.domain.problems import Problem, ProblemMatch, ProblemStatus, known_error_for, matches
from firebell.domain.requests import IncidentCreate

from .builders import alarm
from .conftest import build_world, with_directory

POOL = {
    "id": "PRB-1",
    "title": "Connection pool too small for the Monday peak",
    "status": "known_error",
    "root_cause": "pool of 20 connections, peak needs 60",
    "workaround": "scale the checkout service to 6 tasks",
    "match": {"alerts": ["checkout-5xx-high"], "keywords": ["checkout", "timeout"], "services": ["checkout"]},
}


def test_a_known_error_matches_its_alerts_or_all_its_keywords_on_its_services():
    match = ProblemMatch(alerts=["checkout-5xx-high"], keywords=["checkout", "timeout"], services=["checkout"])
    assert matches(match, "anything", ("checkout-5xx-high",), None)
    assert matches(match, "Checkout TIMEOUT on payment", (), "checkout")
    assert not matches(match, "Checkout timeout on payment", (), "search")  # another service
    assert not matches(match, "Checkout is slow", (), "checkout")  # not every keyword
    assert not matches(
        ProblemMatch(services=["checkout"]), "Checkout timeout", (), "checkout"
    )  # a service alone explains nothing
    investigating = Problem(id="PRB-2", title="?", match=ProblemMatch(alerts=["checkout-5xx-high"]))
    assert known_error_for([investigating], "x", ("checkout-5xx-high",), None) is None  # only known errors


def test_a_known_error_must_say_its_workaround():
    with pytest.raises(ValidationError, match="needs its workaround"):
        Problem(id="PRB-3", title="t", status=ProblemStatus.KNOWN_ERROR)


def test_the_directory_refuses_a_problem_matching_an_unknown_service(shipped_config):
    with pytest.raises(ValidationError, match=r"problems\[0\].match.services: unknown service 'nope'"):
        with_directory(
            shipped_config, lambda d: d.update(problems=[{**POOL, "match": {"keywords": ["x1"], "services": ["nope"]}}])
        )


def test_an_alarm_matching_a_known_error_pages_with_its_workaround(shipped_config):
    world = build_world(with_directory(shipped_config, lambda d: d.update(problems=[POOL])))

    _, incident_id = world.service.handle_alarm(alarm("ALARM"))

    incident = world.service.get(incident_id)
    assert (incident.known_error.problem, incident.known_error.workaround) == (
        "PRB-1",
        "scale the checkout service to 6 tasks",
    )
    [line] = [e for e in world.store.timeline(incident_id) if e.kind is TimelineKind.KNOWN_ERROR]
    assert (
        line.message
        == "Known error PRB-1 (Connection pool too small for the Monday peak): scale the checkout service to 6 tasks"
    )
    [page] = [e for e in world.messenger.emails if "level 1" in e.body]
    assert (
        "Known error PRB-1 (Connection pool too small for the Monday peak). Workaround: scale the checkout service to 6 tasks"
        in page.body
    )
    [sms] = [m for m in world.messenger.sms if incident.reference in m.text][:1]
    assert "Known error PRB-1: scale the checkout service to 6 tasks" in sms.text  # the SMS page says what to do too
    # a report in words matches by its keywords; one that does not stays without
    worded = world.service.report(
        IncidentCreate(title="Checkout timeout when paying", reporter="erin", service="checkout")
    )
    assert worded.known_error.problem == "PRB-1"
    assert world.service.report(IncidentCreate(title="Search is slow", reporter="erin")).known_error is None
