"""An incident's own AWS cost in the reports (domain/cost.py): what it is estimated from, worked out by hand here.
How close the estimate comes to a count of every call is bench/cost.py's to say (bench/results/cost.json)."""

from __future__ import annotations

import pytest

from firebell.domain.cost import Drivers, drivers_of, estimate
from firebell.domain.reports import build_report

from .conftest import World
from .test_reports import MAY, facts, p2_alarm_resolved_by_recovery


def test_an_alarm_incident_is_costed_from_its_changes_messages_and_what_reached_it(world: World):
    # A P2 alarm: opened and level 1 paged (one change), level 2 paged (a change), bob acknowledges over the API (a
    # change), the alarm's OK resolves it (a change), the confirmation window closes it (a change): 5 changes, of
    # which 2 came from CloudWatch's notifications and 1 from an API request; 5 emails and 2 SMS went out.
    incident_id = p2_alarm_resolved_by_recovery(world)
    world.clock.advance(hours=1)
    world.service.resolution_window_closed(incident_id)

    drivers = drivers_of(world.store.timeline(incident_id), "cloudwatch_alarm")

    assert drivers == Drivers(changes=5, emails=5, sms=2, signals=2, api_requests=1)
    [stored] = world.store.facts_between(MAY.start, MAY.end)
    assert stored.messaging_usd == pytest.approx(5 * 0.0001 + 2 * 0.00581)  # SES $0.10 per 1,000; SMS $0.00581 each
    assert stored.aws_usd == estimate(drivers).usd_ex_messaging and 0 < stored.aws_usd < 0.001


def test_the_estimate_adds_up_per_thing_done():
    one_change = estimate(Drivers(changes=1)).usd_ex_messaging
    assert estimate(Drivers(changes=3)).usd_ex_messaging == pytest.approx(
        3 * one_change, abs=3e-8
    )  # (each rounded to 1e-8)
    # an alarm notification: SNS publish $0.50/M, an intake invocation $0.20/M, an X-Ray trace $5/M
    assert estimate(Drivers(changes=1, signals=1)).usd_ex_messaging == pytest.approx(one_change + 5.7e-6, abs=2e-8)
    # an API request: API Gateway $3.50/M, WAF $0.60/M, an invocation $0.20/M, a trace $5/M
    assert estimate(Drivers(api_requests=1)).usd_ex_messaging == pytest.approx(9.3e-6)
    assert (
        estimate(Drivers(emails=10)).usd_messaging == pytest.approx(0.001)
        and estimate(Drivers(emails=10)).usd_ex_messaging == 0
    )


def test_the_report_sums_the_estimates_and_says_how_many_had_one(shipped_config):
    items = [
        facts(0, aws_usd=0.0004, messaging_usd=0.01),
        facts(1, aws_usd=0.0002, messaging_usd=0.0, priority="P1"),
        facts(2),
    ]  # stored before the estimate: none
    report = build_report(items, MAY, shipped_config.directory)

    assert (report.cost.aws_usd, report.cost.messaging_usd, report.cost.estimated_incidents) == (0.0006, 0.01, 2)
    assert report.cost.aws_usd_per_incident == pytest.approx(0.0003)
    assert {b.key: b.aws_usd for b in report.by_priority} == {"P1": 0.0002, "P2": 0.0004}
    assert build_report([facts(2)], MAY, shipped_config.directory).cost.aws_usd is None
