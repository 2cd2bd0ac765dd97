"""The incident process end to end: escalation policies, acknowledgement, SLA clocks, resolution,
reviews, stakeholder updates and maintenance windows, every timer a real Step Functions timer on the
local runtime, scaled so a minute lasts 0.6 s. Driven over HTTP only, one scenario per behaviour.

Nothing here depends on the machine's speed (the suite runs on busy 2-core machines): a test never races a
timer it must beat (scenarios where a person acts first use the `steady` service, whose levels wait 36 s),
latencies are read from the timeline's stamps rather than the test's clock, absence is checked once the
system has moved past the moment (a workflow ended, a later entry exists), and every wait is a generous
upper bound that only a missing behaviour reaches."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml

from infra.local.demo import http, local_aws_client, wait_for
from infra.topology import ROOT
from tests.e2e.conftest import RunningPipeline, running_pipeline

T = TypeVar("T")
TIME_SCALE = 0.01  # one configured minute lasts 0.6 s
LEVEL_SECONDS = 2  # 3 min × 0.01, rounded: how long each level waits for an acknowledgement
STEADY_LEVEL_SECONDS = 36  # 60 min × 0.01: the steady policy's levels, which no test waits for
ACK_TIMEOUT_SECONDS = 6  # 10 min × 0.01
CONFIRMATION_SECONDS = 6  # 10 min × 0.01
QUIET_SECONDS = 6  # the queue service's 10 quiet minutes × 0.01
MAINTENANCE_SECONDS = 30  # the window the maintenance test opens lasts this long
PATIENCE = 30  # seconds added to every wait: a slow machine reaches it, a missing behaviour does not


def process_config(directory: Path) -> Path:
    """A directory and rules with short timers."""
    rules = yaml.safe_load((ROOT / "config" / "rules.yaml").read_text())
    rules["sla_targets"] = {p: {"response_minutes": 10, "resolution_minutes": 20} for p in ("P1", "P2", "P3", "P4")}
    rules["sla_targets"]["P5"] = {"response_minutes": 600, "resolution_minutes": 1200}
    rules["process"] = {
        "ack_timeout_minutes": 10,  # 6 s
        "confirmation_window_minutes": 10,  # 6 s
        "sla_at_risk_share": 0.75,
        "stakeholder_update_minutes": {"P1": 4},  # every ~2 s
        "review_required": ["P1", "P2"],
        "review_due_days": 1,
        "review_reminder_hours": 0.05,  # every ~2 s
        "incident_manager_priorities": ["P1"],
    }
    # dave, the stakeholder, reports incidents here: the default role, reporter.
    people = [
        ("alice", "+15550100001", ["responder"]),
        ("bob", "+15550100002", ["responder"]),
        ("carol", "+15550100003", ["incident_manager"]),
        ("frank", "+15550100006", ["incident_manager"]),
        ("dave", None, ["reporter"]),
    ]
    firebell = {
        "notifications": {"sender": "firebell@example.com"},
        "people": [
            {"id": p, "name": p.title(), "email": f"{p}@example.com", **({"phone": ph} if ph else {}), "roles": roles}
            for p, ph, roles in people
        ],
        "schedules": [
            {
                "id": "web-primary",
                "name": "Web primary",
                "time_zone": "Europe/London",
                "layers": [
                    {
                        "name": "daily",
                        "rotation": {"type": "daily", "start": "2020-01-06", "handoff": "09:00"},
                        "members": ["alice"],
                    }
                ],
            }
        ],
        "escalation_policies": [
            {
                "id": "web",
                "repeat": 1,
                "levels": [
                    {"delay_minutes": 3, "targets": [{"schedule": "web-primary"}]},
                    {"delay_minutes": 3, "targets": [{"person": "bob"}]},
                ],
            },
            {
                "id": "steady",
                "repeat": 0,
                "levels": [
                    {"delay_minutes": 60, "targets": [{"schedule": "web-primary"}]},
                    {"delay_minutes": 60, "targets": [{"person": "bob"}]},
                ],
            },
        ],
        "teams": [
            {
                "id": "web",
                "name": "Web",
                "escalation_policy": "web",
                "manager": "frank",
                "incident_managers": ["carol"],
                "stakeholders": ["dave"],
            },
            {
                "id": "steady",
                "name": "Steady",
                "escalation_policy": "steady",
                "manager": "frank",
                "incident_managers": ["carol"],
                "stakeholders": ["dave"],
            },
        ],
        "services": [
            {"id": "web", "team": "web"},
            {"id": "steady", "team": "steady"},
            {"id": "queue", "team": "web", "alarm_name_prefixes": ["queue-"], "auto_resolve_quiet_minutes": 10},
            {"id": "batch", "team": "web"},
        ],
        "default_team": "web",
    }
    (directory / "rules.yaml").write_text(yaml.safe_dump(rules))
    (directory / "firebell.yaml").write_text(yaml.safe_dump(firebell))
    return directory


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPipeline]:
    with running_pipeline(process_config(tmp_path_factory.mktemp("config")), TIME_SCALE) as running:
        yield running


# --- helpers: what a person sees through the API and the outbox -----------------------------------


def report(
    pipeline: RunningPipeline,
    title: str,
    impact: str = "medium",
    urgency: str = "medium",
    service: str = "web",
    reporter: str = "dave",
) -> str:
    """Reported by `reporter`, signed in (a person whose roles let them report)."""
    status, body = http(
        "POST",
        f"{pipeline.api_url}/incidents",
        {"title": title, "service": service, "impact": impact, "urgency": urgency},
        as_=reporter,
    )
    assert status == 201, body
    return body["reference"]


def incident(pipeline: RunningPipeline, reference: str) -> dict[str, Any]:
    status, body = http("GET", f"{pipeline.api_url}/incidents/{reference}")
    assert status == 200, body
    return body


def act(pipeline: RunningPipeline, reference: str, action: str, body: dict, as_: str) -> dict[str, Any]:
    """`action` on the incident, signed in as `as_`."""
    status, answer = http("POST", f"{pipeline.api_url}/incidents/{reference}/{action}", body, as_=as_)
    assert status in (200, 201), answer
    return answer


def timeline(pipeline: RunningPipeline, reference: str) -> list[dict[str, Any]]:
    return http("GET", f"{pipeline.api_url}/incidents/{reference}/timeline")[1]["items"]


def kinds(pipeline: RunningPipeline, reference: str) -> list[str]:
    return [e["kind"] for e in timeline(pipeline, reference)]


def messages(pipeline: RunningPipeline, reference: str, to: str, why: str = "") -> list[dict]:
    """Emails and SMS about `reference` sent to `to` (an address or number), for the reason `why`."""
    outbox = http("GET", f"{pipeline.api_url}/_local/outbox")[1]["items"]
    return [
        m
        for m in outbox
        if to in m["to"]
        and reference in (m.get("subject") or m["body"])
        and (why in m["body"] if m["channel"] == "email" else True)
    ]


def pages(pipeline: RunningPipeline, reference: str, person: str, why: str) -> list[dict]:
    return messages(pipeline, reference, f"{person}@example.com", f"for: {why}")


def classified(pipeline: RunningPipeline, reference: str) -> dict[str, Any]:
    return wait_for("classified", lambda: (i := incident(pipeline, reference))["escalation"]["execution_arn"] and i, 10)


# --- maintenance windows ----------------------------------------------------------------------------


def test_maintenance_records_without_paging_and_escalates_when_the_window_ends(pipeline: RunningPipeline) -> None:
    # Given the batch service in maintenance from now on
    now = datetime.now(UTC)
    status, body = http(
        "POST",
        f"{pipeline.api_url}/admin/services/batch/maintenance-windows",
        {
            "start": (now - timedelta(minutes=1)).isoformat(),
            "end": (now + timedelta(seconds=MAINTENANCE_SECONDS)).isoformat(),
            "reason": "database upgrade",
        },
    )
    assert status == 201, body
    reference = report(pipeline, "Batch jobs failing", service="batch")

    # Then the incident is recorded and classified, but its escalation waits for the window's end
    wait_for("deferred", lambda: "maintenance" in kinds(pipeline, reference), PATIENCE)
    deferred = incident(pipeline, reference)
    assert deferred["escalation"]["execution_arn"] is None and deferred["escalation"]["deferred_until"]

    # When the window ends with the incident still open, Then its escalation starts: nobody was paged before
    window_end = datetime.fromisoformat(deferred["escalation"]["deferred_until"])
    seconds_left = (window_end - datetime.now(UTC)).total_seconds()
    wait_for("paged after the window", lambda: pages(pipeline, reference, "alice", "level 1"), seconds_left + PATIENCE)
    entries = timeline(pipeline, reference)
    first_page = min(datetime.fromisoformat(e["at"]) for e in entries if e["kind"] == "paged")
    assert first_page >= window_end
    # (deferred, then over; moto's Wait may wake a moment before the window's end, and a page still inside the
    # window is held once more until it ends: issue 8, GoAlert #2594)
    assert [e["kind"] for e in entries].count("maintenance") >= 2


# --- acknowledgement and escalation -----------------------------------------------------------------


def test_acknowledgement_stops_paging(pipeline: RunningPipeline) -> None:
    # Given an incident whose level 1 (alice, on call) has been paged
    reference = report(pipeline, "Checkout page slow", service="steady")
    wait_for("level 1 paged", lambda: pages(pipeline, reference, "alice", "level 1"), PATIENCE)

    # When alice acknowledges
    act(pipeline, reference, "acknowledge", {}, as_="alice")

    # Then the workflow stops paging and watches the acknowledgement instead (how fast: bench/state_transitions)
    wait_for("paging stopped", lambda: incident(pipeline, reference)["escalation"]["watching"], PATIENCE)
    # And the escalation does not go on to level 2: when the untouched acknowledgement times out, paging starts
    # over at level 1
    wait_for("re-triggered", lambda: "retriggered" in kinds(pipeline, reference), ACK_TIMEOUT_SECONDS + PATIENCE)
    wait_for("level 1 paged again", lambda: len(pages(pipeline, reference, "alice", "level 1")) == 2, PATIENCE)
    assert pages(pipeline, reference, "bob", "level 2") == []


def test_an_unacknowledged_level_escalates_after_its_delay(pipeline: RunningPipeline) -> None:
    # Given an incident whose level 1 was paged and nobody answers
    reference = report(pipeline, "Search returns nothing")
    wait_for("level 1 paged", lambda: pages(pipeline, reference, "alice", "level 1"), PATIENCE)

    # When level 1's delay passes, Then level 2 (bob) is paged by email and SMS
    wait_for("level 2 paged", lambda: pages(pipeline, reference, "bob", "level 2"), LEVEL_SECONDS + PATIENCE)
    wait_for("level 2 SMS", lambda: messages(pipeline, reference, "+15550100002"), PATIENCE)
    # not before its delay (stamped on the timeline when each page was sent; how late at most: bench/)
    paged = [datetime.fromisoformat(e["at"]) for e in timeline(pipeline, reference) if e["kind"] == "paged"]
    assert (paged[1] - paged[0]).total_seconds() >= LEVEL_SECONDS - 0.5


def test_the_policy_repeats_after_its_last_level_then_pages_the_incident_manager(pipeline: RunningPipeline) -> None:
    # Given a policy of two levels with repeat: 1, and nobody acknowledging
    reference = report(pipeline, "Login errors")

    # When both rounds run out
    wait_for(
        "round 2 level 1", lambda: pages(pipeline, reference, "alice", "level 1, round 2"), 4 * LEVEL_SECONDS + PATIENCE
    )
    wait_for("round 2 level 2", lambda: pages(pipeline, reference, "bob", "level 2, round 2"), LEVEL_SECONDS + PATIENCE)

    # Then the incident manager is paged, once, and the escalation is over
    wait_for(
        "incident manager", lambda: pages(pipeline, reference, "carol", "nobody acknowledged"), LEVEL_SECONDS + PATIENCE
    )
    wait_for("exhausted", lambda: "escalation_exhausted" in kinds(pipeline, reference), PATIENCE)
    assert kinds(pipeline, reference).count("paged") == 4
    assert "escalation_exhausted" in kinds(pipeline, reference)


def test_an_acknowledgement_left_untouched_triggers_the_paging_again(pipeline: RunningPipeline) -> None:
    # Given an acknowledged incident nobody touches
    reference = report(pipeline, "Image uploads fail", service="steady")
    wait_for("level 1 paged", lambda: pages(pipeline, reference, "alice", "level 1"), PATIENCE)
    act(pipeline, reference, "acknowledge", {}, as_="alice")
    wait_for("watching", lambda: incident(pipeline, reference)["escalation"]["watching"], PATIENCE)

    # When the acknowledgement timeout (6 s) passes
    # Then it is triggered again and level 1 is paged a second time
    wait_for(
        "paged again", lambda: len(pages(pipeline, reference, "alice", "level 1")) >= 2, ACK_TIMEOUT_SECONDS + PATIENCE
    )
    assert incident(pipeline, reference)["status"] == "triggered"
    assert "retriggered" in kinds(pipeline, reference)


def test_activity_on_an_acknowledged_incident_postpones_the_ack_timeout(pipeline: RunningPipeline) -> None:
    # Given an acknowledged incident
    reference = report(pipeline, "Slow reports", service="steady")
    wait_for("level 1 paged", lambda: pages(pipeline, reference, "alice", "level 1"), PATIENCE)
    act(pipeline, reference, "acknowledge", {}, as_="alice")
    wait_for("watching", lambda: incident(pipeline, reference)["escalation"]["watching"], PATIENCE)

    # When alice adds a note every 2 s (well inside the 6 s timeout) for 10 s, longer than the timeout
    for n in range(5):
        time.sleep(2)  # alice's pace, not a synchronisation
        act(pipeline, reference, "notes", {"text": f"still digging ({n})"}, as_="alice")

    # Then it was never re-triggered
    assert incident(pipeline, reference)["status"] == "acknowledged"
    assert "retriggered" not in kinds(pipeline, reference)
    assert len(pages(pipeline, reference, "alice", "level 1")) == 1


def test_escalating_by_hand_pages_the_next_level_now(pipeline: RunningPipeline) -> None:
    # Given a triggered incident paged at level 1
    reference = report(pipeline, "Payments stuck", service="steady")
    wait_for("level 1 paged", lambda: pages(pipeline, reference, "alice", "level 1"), PATIENCE)

    # When alice escalates by hand
    act(pipeline, reference, "escalate", {"reason": "needs the backend team"}, as_="alice")

    # Then bob is paged after the escalation, long before level 1's delay would have paged him (as stamped
    # on the timeline: the test's own polling is not part of the measurement)
    wait_for("level 2 paged", lambda: pages(pipeline, reference, "bob", "level 2"), PATIENCE)

    # (notify records the page on the timeline just after sending it: wait for the entry, not only the message)
    def with_level_2_page() -> list[dict[str, Any]] | None:
        entries = timeline(pipeline, reference)
        return entries if any(e["kind"] == "paged" and e["details"]["level"] == 2 for e in entries) else None

    entries = wait_for("level 2 page on the timeline", with_level_2_page, PATIENCE)
    escalated = next(datetime.fromisoformat(e["at"]) for e in entries if e["kind"] == "escalated")
    level2 = next(
        datetime.fromisoformat(e["at"]) for e in entries if e["kind"] == "paged" and e["details"]["level"] == 2
    )
    assert timedelta(0) < level2 - escalated < timedelta(seconds=STEADY_LEVEL_SECONDS)


def test_reassigning_pages_the_new_assignee(pipeline: RunningPipeline) -> None:
    reference = report(pipeline, "Emails delayed", service="steady")
    classified(pipeline, reference)
    act(pipeline, reference, "reassign", {"to": "frank"}, as_="alice")
    wait_for("frank paged", lambda: pages(pipeline, reference, "frank", "assigned by alice"), PATIENCE)
    assert incident(pipeline, reference)["assignee"] == "frank"
    status, error = http("POST", f"{pipeline.api_url}/incidents/{reference}/reassign", {"to": "nobody"}, as_="alice")
    assert status == 422 and error["fields"][0]["field"] == "body.to"


def test_the_one_click_link_acknowledges_once(pipeline: RunningPipeline) -> None:
    # Given the level 1 email with its acknowledgement link
    reference = report(pipeline, "Cart empties itself", service="steady")
    [email] = wait_for("level 1 paged", lambda: pages(pipeline, reference, "alice", "level 1"), PATIENCE)
    link = re.search(r"Acknowledge \(stops paging\): (\S+)", email["body"]).group(1)
    path = link.split("/ack/", 1)[1]

    # When alice opens it, a GET only shows a confirmation page (mail scanners must not acknowledge)
    local_link = f"{pipeline.api_url}/ack/{path}"
    page = wait_for("page", lambda: __import__("urllib.request").request.urlopen(local_link).read().decode(), PATIENCE)
    assert "Acknowledge" in page and incident(pipeline, reference)["status"] == "triggered"

    # And her click (POST) acknowledges it as her
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(local_link, data=b"", method="POST")) as response:
        assert response.status == 200
    assert (incident(pipeline, reference)["status"], incident(pipeline, reference)["acknowledged_by"]) == (
        "acknowledged",
        "alice",
    )

    # Then the same link cannot be used again, and a forged one is refused
    for url in (local_link, local_link[:-3] + "abc"):
        try:
            urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"))
            raise AssertionError("link accepted twice")
        except urllib.error.HTTPError as refused:
            assert refused.code == 410


# --- SLA clocks ------------------------------------------------------------------------------------


def test_sla_at_risk_warns_the_owner_and_breach_pages_the_incident_manager(pipeline: RunningPipeline) -> None:
    # Given a P3 incident with a 10 min (6 s) response target that nobody acknowledges
    reference = report(pipeline, "Invoices not generated")

    # When 75 % of the target passes, Then its owner (level 1: alice) is warned
    wait_for("at risk", lambda: pages(pipeline, reference, "alice", "response SLA at risk"), PATIENCE)
    # (measured on the timeline: on a loaded machine the breach may already be due by the time we read)
    due = datetime.fromisoformat(incident(pipeline, reference)["sla"]["response"]["due_at"])
    (at_risk,) = [e for e in timeline(pipeline, reference) if e["kind"] == "sla_at_risk"]
    assert datetime.fromisoformat(at_risk["at"]) < due
    # And at the target the incident manager is paged and the timeline records the breach
    wait_for("breached", lambda: pages(pipeline, reference, "carol", "response SLA breached"), PATIENCE)
    wait_for("breach on the timeline", lambda: "sla_breached" in kinds(pipeline, reference), PATIENCE)
    assert incident(pipeline, reference)["sla_status"]["response"]["state"] == "breached"


def test_sla_clocks_pause_on_hold_and_resume_after(pipeline: RunningPipeline) -> None:
    # Given an acknowledged incident whose 20 min (12 s) resolution clock is running
    reference = report(pipeline, "Partner API down")
    classified(pipeline, reference)
    act(pipeline, reference, "acknowledge", {}, as_="alice")
    due_before = datetime.fromisoformat(incident(pipeline, reference)["sla"]["resolution"]["due_at"])

    # When it waits 3 s on hold for the partner
    held = act(pipeline, reference, "hold", {"reason": "waiting for the partner"}, as_="alice")
    assert held["sla_status"]["resolution"]["state"] == "paused"
    left_when_paused = held["sla_status"]["resolution"]["seconds_left"]
    time.sleep(3)  # the time on hold: the scenario's duration, not a synchronisation
    still = incident(pipeline, reference)["sla_status"]["resolution"]
    assert still["state"] == "paused" and still["seconds_left"] == pytest.approx(left_when_paused, abs=0.01)
    resumed = act(pipeline, reference, "resume", {}, as_="alice")

    # Then the clock runs again and its due time moved by the time on hold (measured on the timeline: the
    # requests' own latency is not time on hold)
    due_after = datetime.fromisoformat(resumed["sla"]["resolution"]["due_at"])
    assert resumed["sla_status"]["resolution"]["state"] in ("running", "at_risk")
    entries = {
        e["kind"]: datetime.fromisoformat(e["at"])
        for e in timeline(pipeline, reference)
        if e["kind"] in ("on_hold", "resumed")
    }
    on_hold = (entries["resumed"] - entries["on_hold"]).total_seconds()
    assert on_hold >= 3
    assert (due_after - due_before).total_seconds() == pytest.approx(on_hold, abs=0.01)


# --- resolution, reopening, closure, reviews --------------------------------------------------------


def test_reopened_inside_the_window_then_closed_automatically_after_it(pipeline: RunningPipeline) -> None:
    # Given a resolved incident
    reference = report(pipeline, "Feed not updating")
    classified(pipeline, reference)
    act(pipeline, reference, "resolve", {"resolution_notes": "restarted the feeder"}, as_="alice")

    # When the reporter says it is not fixed, inside the confirmation window
    reopened = act(pipeline, reference, "reopen", {"reason": "still stale"}, as_="dave")

    # Then the same incident is open again and paging restarts
    assert (reopened["status"], reopened["reopened_count"]) == ("triggered", 1)
    wait_for("paged again", lambda: len(pages(pipeline, reference, "alice", "level 1")) >= 2, PATIENCE)

    # When it is resolved again and nobody reopens it within the window (~6 s)
    act(pipeline, reference, "resolve", {"resolution_notes": "replaced the feeder's disk"}, as_="alice")

    # Then it closes by itself with closure details
    closed = wait_for(
        "closed",
        lambda: (i := incident(pipeline, reference))["status"] == "closed" and i,
        CONFIRMATION_SECONDS + PATIENCE,
    )
    assert closed["closed_by"] == "firebell" and "replaced the feeder's disk" in closed["closure_notes"]
    status, error = http("POST", f"{pipeline.api_url}/incidents/{reference}/reopen", {}, as_="dave")
    assert status == 409 and "closed" in error["message"]


def test_p1_and_p2_require_a_review_whose_owner_is_reminded_until_done(pipeline: RunningPipeline) -> None:
    # Given a P2 incident acknowledged by alice and resolved
    reference = report(pipeline, "Checkout errors", impact="high", urgency="medium")
    classified(pipeline, reference)
    act(pipeline, reference, "acknowledge", {}, as_="alice")
    resolved = act(pipeline, reference, "resolve", {"resolution_notes": "rolled back"}, as_="alice")

    # Then a review is due, owned by alice, who is told and then reminded
    assert resolved["review"]["owner"] == "alice"
    wait_for("reminded", lambda: pages(pipeline, reference, "alice", "post-incident review reminder #1"), PATIENCE)

    # Bob, another responder, may not complete a review he does not own
    status, refused = http(
        "POST", f"{pipeline.api_url}/incidents/{reference}/review", {"summary": "not mine"}, as_="bob"
    )
    assert status == 403 and "incidents whose review they own" in refused["message"], refused
    # When she completes it, Then the reminders stop: the reminder workflow ends, and no reminder follows
    reviewed = act(
        pipeline, reference, "review", {"summary": "root cause: a bad config push; action: canary config"}, as_="alice"
    )
    sfn = local_aws_client("stepfunctions", pipeline.aws_url)
    execution = reviewed["review"]["execution_arn"]
    wait_for("reminders ended", lambda: sfn.describe_execution(executionArn=execution)["status"] != "RUNNING", PATIENCE)
    reminded = incident(pipeline, reference)["review"]["reminders_sent"]
    assert len(pages(pipeline, reference, "alice", "post-incident review reminder")) == reminded

    # And a P3 needs no review
    minor = report(pipeline, "Typo on the help page", impact="low", urgency="low")
    classified(pipeline, minor)
    assert act(pipeline, minor, "resolve", {"resolution_notes": "fixed"}, as_="alice")["review"] is None


def test_p1_gets_an_incident_manager_and_overdue_updates_are_reminded_then_escalated(pipeline: RunningPipeline) -> None:
    # Given a P1: carol is assigned as incident manager and paged at once
    reference = report(pipeline, "Site down", impact="high", urgency="high")
    wait_for("incident manager paged", lambda: pages(pipeline, reference, "carol", "incident manager for P1"), PATIENCE)
    assert incident(pipeline, reference)["incident_manager"] == "carol"

    # When no stakeholder update is posted for one cadence (~2 s), Then carol is reminded;
    # (generous deadlines: on a loaded 2-core CI machine moto's workflow threads run late)
    wait_for("reminded", lambda: pages(pipeline, reference, "carol", "stakeholder update overdue"), PATIENCE)
    # and after another overdue cadence, it is escalated to the team's manager
    wait_for("escalated", lambda: pages(pipeline, reference, "frank", "stakeholder update overdue ×2"), PATIENCE)

    # When carol posts an update, Then the stakeholders get it
    act(pipeline, reference, "updates", {"message": "Failover to the second region under way"}, as_="carol")
    update = wait_for("update sent", lambda: pages(pipeline, reference, "dave", "stakeholder update"), PATIENCE)
    assert "Failover to the second region" in update[0]["body"]


# --- alert-raised incidents that resolve themselves once quiet ------------------------------------


def test_an_alert_quiet_for_its_services_period_resolves_itself(pipeline: RunningPipeline) -> None:
    # Given a service that auto-resolves alert incidents after 10 quiet minutes (6 s), and its alarm firing
    alarm = json.loads((ROOT / "events" / "cloudwatch" / "alarm-state-alarm.json").read_text())
    alarm.update(
        AlarmName="queue-depth",
        AlarmArn="arn:aws:cloudwatch:us-east-1:123456789012:alarm:queue-depth",
        AlarmDescription="Backlog of the order queue",
    )
    sns = local_aws_client("sns", pipeline.aws_url)

    def fire() -> None:
        sns.publish(TopicArn=pipeline.resources["topic:alarms"], Message=json.dumps(alarm))

    fire()
    reference = wait_for(
        "opened",
        lambda: next(
            (
                i["reference"]
                for i in http("GET", f"{pipeline.api_url}/incidents?limit=100")[1]["items"]
                if i["title"].startswith("queue-depth")
            ),
            None,
        ),
        PATIENCE,
    )
    classified(pipeline, reference)

    # When it fires again inside the quiet period
    fire()
    wait_for("second occurrence", lambda: incident(pipeline, reference)["occurrences"] == 2, PATIENCE)

    # Then the quiet period starts over, and once the alert has been quiet for 6 s the incident resolves itself
    resolved = wait_for(
        "resolved", lambda: (i := incident(pipeline, reference))["status"] == "resolved" and i, QUIET_SECONDS + PATIENCE
    )
    assert resolved["auto_resolved"] is True and "quiet period" in resolved["resolution_notes"]
    assert resolved["occurrences"] == 2
    # (timed from the last occurrence, as stamped on the timeline, not from the first)
    entries = timeline(pipeline, reference)
    last_seen = max(datetime.fromisoformat(e["at"]) for e in entries if e["kind"] in ("occurrence", "opened"))
    resolved_at = max(datetime.fromisoformat(e["at"]) for e in entries if e["kind"] == "resolved")
    assert (resolved_at - last_seen).total_seconds() >= QUIET_SECONDS - 0.5
