"""Reports (domain/reports.py, domain/facts.py, report_service.py): every expected figure is worked out here by
hand from the fixture, not by the code under test."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from firebell.domain.enums import Status, TimelineKind
from firebell.domain.errors import InvalidRequest
from firebell.domain.facts import IncidentFacts, Notice, facts_of
from firebell.domain.models import TimelineEntry
from firebell.domain.on_call_time import hours_on_call
from firebell.domain.reports import ReportFilter, band, build_report, incidents_csv, nearest_rank
from firebell.domain.requests import IncidentCreate
from firebell.report_service import ReportService

from .builders import alarm, confirming, page_request
from .conftest import World, with_directory

T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)  # a Monday


def facts(n: int, **fields) -> IncidentFacts:
    base = dict(
        incident_id=f"id{n}",
        reference=f"INC-{n}",
        title=f"incident {n}",
        opened_at=T0 + timedelta(hours=n),
        source="cloudwatch_alarm",
        team="platform",
        service="checkout",
        priority="P2",
    )
    return IncidentFacts(**{**base, **fields})


def at(n: int, seconds: float) -> datetime:
    return T0 + timedelta(hours=n, seconds=seconds)


MAY = ReportFilter(start=datetime(2026, 5, 1, tzinfo=UTC), end=datetime(2026, 6, 1, tzinfo=UTC))


def test_nearest_rank_percentiles():
    assert nearest_rank([5, 1, 4, 2, 3], 0.5) == 3  # the ⌈2.5⌉ = 3rd smallest
    assert nearest_rank([5, 1, 4, 2, 3], 0.9) == 5  # ⌈4.5⌉ = 5th
    assert nearest_rank([7], 0.9) == 7 and nearest_rank([], 0.5) is None
    assert nearest_rank(list(range(1, 11)), 0.9) == 9  # ⌈9⌉ = 9th of 10


def test_mtta_mttr_and_time_to_first_page_by_priority(shipped_config):
    # acknowledged after 60, 120, 180, 600, 3000 s; resolved after 600, 1200, 1800 s (two never resolved)
    items = [
        facts(0, priority="P1", first_page_at=at(0, 2), acknowledged_at=at(0, 60), resolved_at=at(0, 600)),
        facts(1, priority="P1", first_page_at=at(1, 4), acknowledged_at=at(1, 120), resolved_at=at(1, 1200)),
        facts(
            2,
            priority="P2",
            first_page_at=at(2, 6),
            acknowledged_at=at(2, 180),
            resolved_at=at(2, 1800),
            auto_resolved=True,
        ),
        facts(3, priority="P2", first_page_at=at(3, 8), acknowledged_at=at(3, 600)),
        facts(4, priority="P3", first_page_at=at(4, 10), acknowledged_at=at(4, 3000)),
    ]
    report = build_report(items, MAY, shipped_config.directory)

    assert report.incidents == 5
    # mean (60+120+180+600+3000)/5 = 792; p50 the 3rd = 180; p90 the 5th = 3000
    assert (report.mtta.count, report.mtta.mean_seconds, report.mtta.p50_seconds, report.mtta.p90_seconds) == (
        5,
        792,
        180,
        3000,
    )
    # mean (600+1200+1800)/3 = 1200; p50 ⌈1.5⌉ = 2nd = 1200; p90 ⌈2.7⌉ = 3rd = 1800
    assert (report.mttr.count, report.mttr.mean_seconds, report.mttr.p50_seconds, report.mttr.p90_seconds) == (
        3,
        1200,
        1200,
        1800,
    )
    assert (report.time_to_first_page.mean_seconds, report.time_to_first_page.p50_seconds) == (6, 6)
    assert report.auto_resolved_share == pytest.approx(1 / 3, abs=1e-4)  # one of the three resolved
    p1, p2, p3 = report.by_priority
    assert (p1.key, p1.incidents, p1.mtta.mean_seconds, p1.mttr.mean_seconds) == ("P1", 2, 90, 900)
    assert (p2.key, p2.incidents, p2.mtta.mean_seconds, p2.mttr.mean_seconds) == ("P2", 2, 390, 1800)
    assert (p3.key, p3.mtta.mean_seconds, p3.mttr.count) == ("P3", 3000, 0)
    assert [(b.key, b.incidents) for b in report.by_period] == [("2026-W19", 5)]


def test_a_filter_narrows_every_figure_and_drills_are_left_out(shipped_config):
    items = [
        facts(0, acknowledged_at=at(0, 60)),
        facts(1, team="payments", acknowledged_at=at(1, 600)),
        facts(2, acknowledged_at=at(2, 5), drill=True),
        facts(3, opened_at=datetime(2026, 6, 1, tzinfo=UTC)),
    ]
    everything = build_report(items, MAY, shipped_config.directory)
    assert (everything.incidents, everything.drills_excluded, everything.mtta.mean_seconds) == (2, 1, 330)
    platform = build_report(items, MAY.model_copy(update={"team": "platform"}), shipped_config.directory)
    assert (platform.incidents, platform.drills_excluded, platform.mtta.mean_seconds) == (1, 1, 60)
    payments = build_report(items, MAY.model_copy(update={"team": "payments"}), shipped_config.directory)
    assert (payments.incidents, payments.drills_excluded) == (1, 0)  # (the drill was the platform team's)
    blank = build_report(items, ReportFilter(start=MAY.start, end=MAY.end, team=""), shipped_config.directory)
    assert (blank.incidents, blank.on_call == everything.on_call) == (2, True)  # an empty filter filters nothing


def test_sla_compliance_and_breaches(shipped_config):
    items = [
        facts(0, priority="P1", response_breached=False, resolution_breached=False),
        facts(1, priority="P1", response_breached=True, resolution_breached=False, response_due_at=at(1, 900)),
        facts(2, priority="P1", response_breached=False, resolution_breached=None),  # still running: counted nowhere
        facts(3, priority="P2", response_breached=False, resolution_breached=True, resolution_due_at=at(3, 28800)),
        facts(4, priority=None),  # never classified
    ]
    report = build_report(items, MAY, shipped_config.directory)
    assert [
        (r.priority, r.incidents, r.response_met, r.response_breached, r.resolution_met, r.resolution_breached)
        for r in report.sla
    ] == [("P1", 3, 2, 1, 2, 0), ("P2", 1, 1, 0, 0, 1)]
    assert [(b.reference, b.target, b.due_at) for b in report.breaches] == [
        ("INC-1", "response", at(1, 900)),
        ("INC-3", "resolution", at(3, 28800)),
    ]


def test_noisy_flapping_and_recurring_alerts(shipped_config):
    day = timedelta(days=1)
    items = [
        facts(0, alert="queue-depth", occurrences=40, flaps=1),
        facts(1, alert="queue-depth", occurrences=2, flaps=1, opened_at=T0 + 10 * day),
        facts(2, alert="queue-depth", occurrences=1, opened_at=T0 + 29 * day),  # within 30 days of the first: 3
        facts(3, alert="disk-full", occurrences=500, service="builds", opened_at=T0 - 2 * day),
        facts(4, alert="disk-full", occurrences=1, service="builds", opened_at=T0 + 15 * day),
        facts(
            5, alert="disk-full", occurrences=1, service="builds", opened_at=T0 + 28 * day
        ),  # 30 days after the first: outside
    ]
    report = build_report(items, ReportFilter(start=T0 - 5 * day, end=T0 + 40 * day), shipped_config.directory)
    assert [(a.alert, a.incidents) for a in report.top_alerts_by_incidents] == [("disk-full", 3), ("queue-depth", 3)]
    assert [(a.alert, a.occurrences) for a in report.top_alerts_by_occurrences] == [
        ("disk-full", 502),
        ("queue-depth", 43),
    ]
    assert [(a.alert, a.flaps) for a in report.flapping_alerts] == [("queue-depth", 2)]
    # disk-full: T0-2d, T0+15d, T0+28d: the first and last are exactly 30 days apart, so no window holds all three;
    # checkout (the service of every queue-depth incident) and queue-depth hold 3 within 30 days
    assert [(c.kind, c.key, c.incidents, c.references) for c in report.problem_candidates] == [
        ("alert", "queue-depth", 3, ["INC-0", "INC-1", "INC-2"]),
        ("service", "checkout", 3, ["INC-0", "INC-1", "INC-2"]),
    ]


def test_time_bands_in_the_persons_zone_across_the_clocks_going_forward():
    london = __import__("zoneinfo").ZoneInfo("Europe/London")
    # British Summer Time begins Sunday 29 March 2026 at 01:00 UTC
    assert band(datetime(2026, 3, 27, 7, 30, tzinfo=UTC), london) == "sleep"  # Friday 07:30 GMT
    assert band(datetime(2026, 3, 27, 8, 0, tzinfo=UTC), london) == "business"  # Friday 08:00 GMT
    assert band(datetime(2026, 3, 29, 7, 30, tzinfo=UTC), london) == "off_hours"  # Sunday 08:30 BST: weekend
    assert band(datetime(2026, 3, 30, 7, 0, tzinfo=UTC), london) == "business"  # Monday 08:00 BST
    assert band(datetime(2026, 3, 30, 6, 59, tzinfo=UTC), london) == "sleep"  # Monday 07:59 BST
    assert band(datetime(2026, 3, 30, 17, 0, tzinfo=UTC), london) == "off_hours"  # Monday 18:00 BST
    assert band(datetime(2026, 3, 30, 21, 0, tzinfo=UTC), london) == "sleep"  # Monday 22:00 BST


def test_on_call_load_counts_sms_as_interruptions_in_the_persons_zone_and_hours_across_dst(shipped_config):
    # alice and erin are on platform-primary (Europe/London, weekly, Mondays 09:00); carol has her own zone
    config = with_directory(shipped_config, lambda d: d["people"][3].update(time_zone="America/New_York"))
    sms, email = "sms", "email"
    items = [
        facts(
            0,
            opened_at=datetime(2026, 3, 27, 7, 0, tzinfo=UTC),
            acknowledged_by="erin",
            notices=[
                Notice(
                    person="erin", at=datetime(2026, 3, 27, 7, 30, tzinfo=UTC), channel=sms, paging=True
                ),  # sleep (GMT)
                Notice(
                    person="erin", at=datetime(2026, 3, 27, 7, 30, tzinfo=UTC), channel=email, paging=True
                ),  # email: no interruption
                Notice(
                    person="carol", at=datetime(2026, 3, 27, 7, 30, tzinfo=UTC), channel=sms, paging=True
                ),  # 03:30 New York: sleep
            ],
        ),
        facts(
            1,
            opened_at=datetime(2026, 3, 29, 7, 0, tzinfo=UTC),
            notices=[
                Notice(
                    person="erin", at=datetime(2026, 3, 29, 7, 30, tzinfo=UTC), channel=sms, paging=True
                ),  # Sunday 08:30 BST: off hours
                Notice(
                    person="erin", at=datetime(2026, 3, 29, 9, 0, tzinfo=UTC), channel=email, paging=False
                ),  # a resolution notice
            ],
        ),
        facts(
            2,
            opened_at=datetime(2026, 3, 30, 7, 0, tzinfo=UTC),
            acknowledged_by="alice",
            notices=[
                Notice(
                    person="alice", at=datetime(2026, 3, 30, 7, 0, tzinfo=UTC), channel=sms, paging=True
                ),  # Monday 08:00 BST: business
            ],
        ),
    ]
    # the week 23 March 09:00 GMT (09:00 UTC) → 30 March 09:00 BST (08:00 UTC) is 167 hours: erin's (week 11 since 5 January)
    period = ReportFilter(start=datetime(2026, 3, 23, 9, 0, tzinfo=UTC), end=datetime(2026, 3, 30, 8, 0, tzinfo=UTC))
    assert hours_on_call(config.directory, period.start, period.end) == {"erin": 167.0}
    report = build_report(items[:2], period, config.directory)
    load = {p.person: p for p in report.on_call}
    # two pages (Friday's email and SMS went out together: one page), two interruptions (the SMS), one acknowledgement
    assert (
        load["erin"].pages,
        load["erin"].interruptions,
        load["erin"].acknowledgements,
        load["erin"].hours_on_call,
        load["erin"].time_zone,
    ) == (2, {"business": 0, "off_hours": 1, "sleep": 1}, 1, 167.0, "Europe/London")
    assert (load["carol"].interruptions, load["carol"].time_zone) == (
        {"business": 0, "off_hours": 0, "sleep": 1},
        "America/New_York",
    )
    monday = build_report(
        items,
        ReportFilter(start=datetime(2026, 3, 30, 0, 0, tzinfo=UTC), end=datetime(2026, 3, 31, tzinfo=UTC)),
        config.directory,
    )
    alice = next(p for p in monday.on_call if p.person == "alice")
    # alice takes over at 08:00 UTC (09:00 BST): 16 hours of the day
    assert (alice.interruptions, alice.acknowledgements, alice.hours_on_call) == (
        {"business": 1, "off_hours": 0, "sleep": 0},
        1,
        16.0,
    )


def test_facts_a_later_version_stored_with_more_fields_are_still_read():
    stored = {
        **facts(0).model_dump(mode="json"),
        "a_field_from_a_later_version": 1,
        "notices": [{"person": "erin", "at": T0.isoformat(), "channel": "sms", "paging": True, "new": "x"}],
    }
    assert IncidentFacts.model_validate(stored).notices[0].person == "erin"


def test_csv_has_one_row_per_incident_and_defuses_formulas():
    items = [facts(0, alert='=HYPERLINK("http://evil")', acknowledged_at=at(0, 90)), facts(1, drill=True)]
    rows = list(csv.DictReader(io.StringIO(incidents_csv(items, MAY))))
    assert len(rows) == 1
    assert rows[0]["reference"] == "INC-0" and rows[0]["alert"].startswith("'=HYPERLINK")
    assert rows[0]["seconds_to_acknowledge"] == "90.0" and rows[0]["resolved_at"] == ""


# --- facts from a real incident's life, stored by the change that closes it ------------------------------------


def p2_alarm_resolved_by_recovery(world: World) -> str:
    """A P2 checkout alarm: level 1 (alice) paged, unanswered; level 2 (bob) paged after 5 min and acknowledges 2 min
    later; the alarm's OK 10 min after that resolves it; its confirmation window starts. Its id."""
    _, incident_id = world.service.handle_alarm(alarm("ALARM"))
    world.clock.advance(minutes=5)
    world.service.page(page_request(incident_id, 2, ["bob"], token="page-2"))
    world.clock.advance(minutes=2)
    world.service.acknowledge(incident_id, by="bob")
    world.clock.advance(minutes=10)
    world.service.handle_alarm(alarm("OK"), message_id="sns:ok")  # recovered: resolved automatically
    world.service.resolution_confirming(confirming(incident_id, "c1"))
    return incident_id


def test_the_closing_change_stores_the_facts_worked_out_from_the_timeline(world: World):
    incident_id = p2_alarm_resolved_by_recovery(world)
    assert world.store.facts_between(MAY.start, MAY.end) == []  # not closed yet
    world.clock.advance(hours=1)

    world.service.resolution_window_closed(incident_id)

    [stored] = world.store.facts_between(MAY.start, MAY.end)
    opened = world.service.get(incident_id).opened_at
    assert stored.incident_id == incident_id and stored.priority == "P2" and stored.alert == "checkout-5xx-high"
    assert stored.first_page_at == opened  # (the fake clock stood still while level 1 went out)
    assert (stored.acknowledged_at - opened, stored.acknowledged_by) == (timedelta(minutes=7), "bob")
    assert (stored.resolved_at - opened, stored.auto_resolved, stored.closed_at - opened) == (
        timedelta(minutes=17),
        True,
        timedelta(minutes=77),
    )
    assert (stored.escalated_by_timeout, stored.escalated_by_hand, stored.reassigned, stored.response_breached) == (
        1,
        0,
        0,
        False,
    )
    assert [(n.person, n.channel, n.paging) for n in stored.notices if n.paging] == [
        ("alice", "email", True),
        ("alice", "sms", True),
        ("bob", "email", True),
        ("bob", "sms", True),
    ]


def test_the_report_service_adds_incidents_not_closed_yet_live(world: World):
    closed_one = world.service.report(IncidentCreate(title="Disk full on build host", reporter="erin")).incident_id
    world.service.resolve(closed_one, by="erin", notes="cleaned")
    world.service.resolution_window_closed(closed_one)
    open_one = world.service.report(IncidentCreate(title="Checkout errors", reporter="erin")).incident_id
    world.service.acknowledge(open_one, by="alice")
    service = ReportService(world.store, lambda: world.config, world.clock)

    found = service.facts(MAY)

    assert sorted(f.incident_id for f in found) == sorted([closed_one, open_one])
    assert next(f for f in found if f.incident_id == open_one).closed_at is None
    assert world.store.get(open_one).status is Status.ACKNOWLEDGED


def test_a_backfill_works_out_the_facts_of_closed_incidents_that_have_none_once(world: World):
    # Given two closed incidents, one of them closed before the reports kept facts (its facts item is not there)
    old, kept = (
        world.service.report(IncidentCreate(title=t, reporter="erin")).incident_id
        for t in ("Disk full", "Cert expired")
    )
    for incident_id in (old, kept):
        world.service.acknowledge(incident_id, by="alice")
        world.service.resolve(incident_id, by="alice", notes="fixed")
        world.service.resolution_window_closed(incident_id)
    del world.store._facts[old]
    open_one = world.service.report(IncidentCreate(title="Checkout errors", reporter="erin")).incident_id
    service = ReportService(world.store, lambda: world.config, world.clock)
    timeline_reads = world.store.calls["timeline"]

    added = service.backfill()

    # Then only the one without facts gets them, worked out from its timeline; the open one is left to its closing
    assert added == [world.store.get(old).reference] and world.store.calls["timeline"] == timeline_reads + 1
    [backfilled] = [f for f in world.store.facts_between(MAY.start, MAY.end) if f.incident_id == old]
    assert (
        backfilled.acknowledged_by == "alice"
        and backfilled.resolution_notes == "fixed"
        and backfilled.closed_at is not None
    )
    assert open_one not in {f.incident_id for f in world.store.facts_between(MAY.start, MAY.end)}
    assert service.backfill() == []  # again: nothing to add


@pytest.mark.parametrize(
    ("start", "end", "field"),
    [
        (datetime(2026, 5, 2, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC), "query.to"),
        (datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 5, 1, tzinfo=UTC), "query.to"),
        (datetime(2026, 5, 1), datetime(2026, 5, 2, tzinfo=UTC), "query.from"),
        (
            datetime(1, 1, 1, tzinfo=__import__("datetime").timezone(timedelta(hours=5))),
            datetime(1, 1, 2, tzinfo=UTC),
            "query.from",
        ),
        (datetime(2026, 5, 1, tzinfo=UTC), datetime(9999, 12, 31, tzinfo=UTC), "query.to"),
    ],
)
def test_a_period_the_service_refuses_names_the_field(world: World, start, end, field):
    with pytest.raises(InvalidRequest) as refused:
        ReportService(world.store, lambda: world.config, world.clock).report(ReportFilter(start=start, end=end))
    assert [p.field for p in refused.value.problems] == [field]


def line_of(incident):
    """A timeline line of `incident`, `minutes` after it opened."""

    def entry(kind, minutes, **details):
        return TimelineEntry(
            incident_id=incident.incident_id,
            at=incident.opened_at + timedelta(minutes=minutes),
            kind=kind,
            actor="x",
            message="-",
            details=details,
        )

    return entry


def test_facts_of_counts_escalations_by_hand_and_flaps(world: World):
    incident = world.service.report(IncidentCreate(title="Checkout errors", reporter="erin"))

    entry = line_of(incident)

    timeline = [
        entry(TimelineKind.PAGED, 0, level=1, round=1),
        entry(TimelineKind.PAGED, 5, level=2, round=1),
        entry(TimelineKind.ESCALATED, 6),
        entry(TimelineKind.PAGED, 6, level=3, round=1),
        entry(TimelineKind.RESOLVED, 10, automatic=True),
        entry(TimelineKind.REOPENED, 11),
        entry(TimelineKind.RESOLVED, 20, automatic=False),
        entry(TimelineKind.REOPENED, 21),
        entry(TimelineKind.REASSIGNED, 22),
        entry(TimelineKind.ESCALATION_EXHAUSTED, 30),
    ]
    found = facts_of(incident, timeline)
    # level 2 went out because level 1 timed out, level 3 because someone escalated, the incident manager because
    # level 3 timed out
    assert (
        found.escalated_by_timeout,
        found.escalated_by_hand,
        found.flaps,
        found.reassigned,
        found.reached_incident_manager,
    ) == (2, 1, 1, 1, True)
    assert found.resolved_at == incident.opened_at + timedelta(minutes=10)  # the first resolution
    # and who made it, and how, are the first resolution's too (not a later resolver's next to its time)
    resolved_later_by_alice = incident.model_copy(update={"resolved_by": "alice", "auto_resolved": False})
    first = facts_of(resolved_later_by_alice, [*timeline[:4], timeline[4].model_copy(update={"actor": "cloudwatch"})])
    assert (first.resolved_by, first.auto_resolved) == ("cloudwatch", True)


def test_the_next_incident_of_an_alert_tells_whoever_is_paged_how_the_last_one_was_resolved(world: World):
    # Given a checkout alarm's incident resolved by hand with notes, and closed
    _, first = world.service.handle_alarm(alarm("ALARM"), message_id="sns:1")
    world.service.resolve(first, by="bob", notes="recycled the checkout pods")
    world.service.resolution_window_closed(first)
    world.messenger.emails.clear()
    world.clock.advance(hours=3)

    # When the alarm fires again: a new incident
    _, second = world.service.handle_alarm(alarm("ALARM"), message_id="sns:2")

    assert second != first
    assert world.service.get(second).previously.reference == world.service.get(first).reference
    [page] = [e for e in world.messenger.emails if "level 1" in e.body]
    reference = world.service.get(first).reference
    assert f"Last time this alert fired ({reference}), it was resolved by bob: recycled the checkout pods" in page.body
    # and an incident of another source says nothing of it
    other = world.service.report(IncidentCreate(title="Checkout errors", reporter="erin"))
    assert other.previously is None


def test_a_report_in_a_persons_words_is_paged_with_the_recent_incidents_like_it_and_their_fixes(world: World):
    # Given two closed incidents: one about the payment database's connections, one about a certificate
    for title, fix in (
        ("Payment DB connection pool exhausted", "raised max_connections to 400"),
        ("TLS certificate expired on the status page", "renewed it with certbot"),
    ):
        past = world.service.report(IncidentCreate(title=title, reporter="erin", service="checkout")).incident_id
        world.service.resolve(past, by="bob", notes=fix)
        world.service.resolution_window_closed(past)
        world.clock.advance(hours=1)
    world.messenger.emails.clear()

    # When someone reports what reads like the first
    incident = world.service.report(
        IncidentCreate(title="payment database: connections exhausted again", reporter="erin")
    )

    # Then the first page names it and how it was fixed, and not the unrelated one
    assert [past.title for past in incident.similar] == ["Payment DB connection pool exhausted"]
    [page] = [e for e in world.messenger.emails if "level 1" in e.body]
    assert (
        "Similar past incidents:\n- INC-1 Payment DB connection pool exhausted: resolved by bob: raised max_connections to 400"
        in page.body
    )
    assert "certbot" not in page.body
    # and one like neither names none
    assert world.service.report(IncidentCreate(title="Login page shows a blank screen", reporter="erin")).similar == []


def test_an_escalation_by_hand_at_the_last_level_leaves_the_timeouts_counted(world: World):
    incident = world.service.report(IncidentCreate(title="Checkout errors", reporter="erin"))

    entry = line_of(incident)

    # level 2 by timeout, then escalated by hand from the last level: the incident manager, not a later level
    timeline = [
        entry(TimelineKind.PAGED, 0, level=1, round=1),
        entry(TimelineKind.PAGED, 5, level=2, round=1),
        entry(TimelineKind.ESCALATED, 6),
        entry(TimelineKind.ESCALATION_EXHAUSTED, 6),
    ]
    found = facts_of(incident, timeline)
    assert (found.escalated_by_timeout, found.escalated_by_hand) == (1, 1)


def test_one_digest_sms_is_one_interruption_and_one_page_is_its_email_and_sms_together(shipped_config):
    at = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)  # a Monday noon in London: business hours
    digest = [Notice(person="erin", at=at, channel="sms", paging=True, sent_with="digest:d1")]
    items = [
        facts(
            0,
            notices=[
                Notice(person="erin", at=at, channel="email", paging=True, sent_with="id0:2"),
                Notice(person="erin", at=at + timedelta(seconds=1), channel="sms", paging=True, sent_with="id0:2"),
            ],
        ),
        facts(1, notices=digest),
        facts(2, notices=digest),
        facts(3, notices=[Notice(person="dave", at=at, channel="email", paging=False, sent_with="id3:4")]),
    ]
    report = build_report(items, MAY, shipped_config.directory, now=MAY.end)
    erin = next(p for p in report.on_call if p.person == "erin")
    assert (erin.pages, erin.interruptions["business"]) == (
        2,
        2,
    )  # the page of INC-0, the digest; its SMS and the digest's one
    assert "dave" not in {p.person for p in report.on_call}  # a stakeholder's resolution email is no on-call load
    filtered = build_report(items, MAY.model_copy(update={"team": "platform"}), shipped_config.directory, now=MAY.end)
    assert {p.hours_on_call for p in filtered.on_call} == {None}
