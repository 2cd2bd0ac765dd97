"""Categorisation and ownership: category, impact/urgency, priority, team and SLA (escalation plans: test_escalation)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firebell.domain.classification import classify
from firebell.domain.directory import Directory
from firebell.domain.enums import AlarmState, Impact, Priority, Source, Urgency
from firebell.domain.models import AlarmDetails, Incident

OPENED = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)


def incident(
    title="Something is wrong", description="", alarm=None, service=None, impact=None, urgency=None, team=None
):
    return Incident(
        incident_id="01HXAMPLE",
        reference="INC-1",
        title=title,
        description=description,
        source=Source.CLOUDWATCH_ALARM if alarm else Source.API,
        reporter="cloudwatch" if alarm else "erin",
        service=service,
        alarm=alarm,
        impact=impact,
        urgency=urgency,
        team=team,
        opened_at=OPENED,
        last_seen_at=OPENED,
    )


def alarm_details(name="some-alarm", namespace=None):
    return AlarmDetails(
        name=name,
        arn=f"arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}",
        state=AlarmState.ALARM,
        namespace=namespace,
    )


@pytest.fixture(scope="module")
def two_teams() -> Directory:
    """A directory with two teams, so ownership by prefix/namespace is observable."""
    return Directory.model_validate(
        {
            "notifications": {"sender": "firebell@example.com"},
            "people": [
                {"id": "alice", "name": "Alice", "email": "alice@example.com", "phone": "+15550100001"},
                {"id": "bob", "name": "Bob", "email": "bob@example.com"},
                {"id": "carol", "name": "Carol", "email": "carol@example.com"},
            ],
            "escalation_policies": [
                {"id": "platform", "levels": [{"delay_minutes": 5, "targets": [{"person": "alice"}]}]},
                {
                    "id": "payments",
                    "levels": [
                        {"delay_minutes": 2, "targets": [{"person": "bob"}]},
                        {"delay_minutes": 0.25, "targets": [{"person": "alice"}, {"person": "bob"}]},
                    ],
                },
            ],
            "teams": [
                {"id": "platform", "name": "Platform", "escalation_policy": "platform", "incident_managers": ["carol"]},
                {
                    "id": "payments",
                    "name": "Payments",
                    "escalation_policy": "payments",
                    "incident_managers": ["carol", "alice"],
                },
            ],
            "services": [
                {"id": "checkout", "team": "payments", "alarm_name_prefixes": ["checkout-", "pay-"]},
                {"id": "orders", "team": "payments", "namespaces": ["AWS/SQS"]},
            ],
            "default_team": "platform",
        }
    )


# --- category -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("namespace", "category", "impact", "urgency", "priority"),
    [
        ("AWS/RDS", "database", "high", "high", "P1"),
        ("AWS/DynamoDB", "database", "high", "high", "P1"),
        ("AWS/ApplicationELB", "application", "high", "medium", "P2"),
        ("AWS/Lambda", "application", "high", "medium", "P2"),
        ("AWS/NATGateway", "network", "medium", "high", "P2"),
        ("AWS/EC2", "compute", "medium", "medium", "P3"),
        ("AWS/WAFV2", "security", "high", "high", "P1"),
    ],
)
def test_alarm_namespace_picks_the_category(shipped_config, namespace, category, impact, urgency, priority):
    """Given an alarm in `namespace`, when classified, then the category's impact/urgency give the priority."""
    result = classify(
        incident(alarm=alarm_details(namespace=namespace)), shipped_config.rules, shipped_config.directory
    )
    assert (result.category, result.impact, result.urgency, result.priority) == (category, impact, urgency, priority)


def test_namespace_wins_over_keywords(shipped_config):
    """Given an RDS alarm whose title talks about CPU, when classified, then the namespace (database) wins."""
    result = classify(
        incident(title="cpu high on writer", alarm=alarm_details(namespace="AWS/RDS")),
        shipped_config.rules,
        shipped_config.directory,
    )
    assert result.category == "database"


@pytest.mark.parametrize(
    ("title", "description", "category"),
    [
        ("Checkout is throwing 5xx", "", "application"),
        ("Users report slowness", "DNS lookups fail from the office", "network"),
        ("Disk full on build host", "", "compute"),
        ("Possible PHISHING campaign", "", "security"),
        ("Replication lag", "", "database"),
    ],
)
def test_keywords_pick_the_category_of_a_report(shipped_config, title, description, category):
    """Given a reported incident with a keyword in the title or description, then its category is recognised."""
    result = classify(incident(title=title, description=description), shipped_config.rules, shipped_config.directory)
    assert result.category == category


def test_keywords_match_whole_words_only(shipped_config):
    """Given 'apiary' and 'dbx' (which contain 'api' and 'db'), then no keyword matches: the default category."""
    result = classify(incident(title="apiary dbx"), shipped_config.rules, shipped_config.directory)
    assert result.category == "general"


def test_first_matching_category_wins(shipped_config):
    """Given words of two categories (database listed before network), then the first listed rule wins."""
    result = classify(
        incident(title="network partition broke the database"), shipped_config.rules, shipped_config.directory
    )
    assert result.category == "database"


def test_unknown_namespace_falls_back_to_keywords(shipped_config):
    """Given an alarm in a namespace no rule lists, then the alarm's words still classify it."""
    result = classify(
        incident(title="queue latency", alarm=alarm_details(namespace="Custom/Queues")),
        shipped_config.rules,
        shipped_config.directory,
    )
    assert result.category == "application"


def test_default_category(shipped_config):
    """Given nothing recognisable, when classified, then the default category (low × medium → P4) applies."""
    result = classify(incident(title="The coffee machine is sad"), shipped_config.rules, shipped_config.directory)
    assert (result.category, result.impact, result.urgency, result.priority) == ("general", "low", "medium", "P4")


@pytest.mark.parametrize(
    ("impact", "urgency", "priority"),
    [(Impact.LOW, Urgency.LOW, "P5"), (Impact.HIGH, None, "P1"), (None, Urgency.LOW, "P3")],
)
def test_reporter_impact_and_urgency_win(shipped_config, impact, urgency, priority):
    """Given a database report (high × high) where the reporter set impact and/or urgency, then theirs win."""
    result = classify(
        incident(title="database deadlock", impact=impact, urgency=urgency),
        shipped_config.rules,
        shipped_config.directory,
    )
    assert result.category == "database"
    assert result.impact == (impact or Impact.HIGH) and result.urgency == (urgency or Urgency.HIGH)
    assert result.priority is Priority(priority)


def test_sla_starts_at_opening(shipped_config):
    """Given a P1, when classified, then its SLA clock runs from opened_at (not from classification time)."""
    result = classify(
        incident(alarm=alarm_details(namespace="AWS/RDS")), shipped_config.rules, shipped_config.directory
    )
    assert result.sla.response.due_at == OPENED + timedelta(minutes=15)
    assert result.sla.resolution.due_at == OPENED + timedelta(minutes=240)
    assert result.sla.response.at_risk_at == OPENED + timedelta(minutes=15 * 0.75)
    assert (result.sla.generation, result.sla.paused_since, result.sla.execution_arn) == (0, None, None)


def test_sla_is_scaled_by_the_time_scale(shipped_config):
    """Given time_scale 0.01 (the local runtime), when a P1 is classified, then 15 min respond in 9 s."""
    result = classify(
        incident(alarm=alarm_details(namespace="AWS/RDS")), shipped_config.rules, shipped_config.directory, 0.01
    )
    assert result.sla.response.due_at == OPENED + timedelta(seconds=9)
    assert result.sla.response.target_minutes == 15  # the target itself is not scaled, only the moments


# --- ownership ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "service"), [("checkout-5xx-high", "checkout"), ("pay-latency", "checkout")])
def test_alarm_name_prefix_gives_service_and_team(shipped_config, two_teams, name, service):
    """Given an alarm whose name starts with a service's prefix, then that service and its team own it."""
    result = classify(incident(alarm=alarm_details(name=name, namespace="AWS/EC2")), shipped_config.rules, two_teams)
    assert (result.service, result.team) == (service, "payments")


def test_alarm_namespace_gives_service_when_no_prefix_matches(shipped_config, two_teams):
    """Given an alarm with no known prefix in a namespace a service lists, then that service owns it."""
    result = classify(
        incident(alarm=alarm_details(name="dlq-depth", namespace="AWS/SQS")), shipped_config.rules, two_teams
    )
    assert (result.service, result.team) == ("orders", "payments")


def test_unowned_alarm_goes_to_default_team(shipped_config, two_teams):
    """Given an alarm matching no service, then there is no service and the default team owns it."""
    result = classify(incident(alarm=alarm_details(name="misc", namespace="AWS/EC2")), shipped_config.rules, two_teams)
    assert (result.service, result.team) == (None, "platform")


def test_reported_service_is_kept(shipped_config, two_teams):
    """Given a report naming a service, then that service and its team are used."""
    result = classify(incident(service="checkout"), shipped_config.rules, two_teams)
    assert (result.service, result.team) == ("checkout", "payments")


def test_reported_unknown_service_goes_to_default_team(shipped_config, two_teams):
    """Given a report naming a service nobody configured, then the service is kept and the default team owns it."""
    result = classify(incident(service="mystery"), shipped_config.rules, two_teams)
    assert (result.service, result.team) == ("mystery", "platform")


def test_shipped_directory_routes_checkout_alarms_to_platform(shipped_config):
    """Given the shipped config, a checkout-* alarm belongs to the checkout service of team platform."""
    result = classify(
        incident(alarm=alarm_details(name="checkout-5xx-high", namespace="AWS/ApplicationELB")),
        shipped_config.rules,
        shipped_config.directory,
    )
    assert (result.category, result.priority, result.service, result.team) == (
        "application",
        "P2",
        "checkout",
        "platform",
    )
