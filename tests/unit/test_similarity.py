"""Similar incidents (domain/similarity.py) on a labelled set: past incidents in five groups, each written the way
different people and tools word the same trouble; the nearest neighbours of a new one must come from its group."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from firebell.domain.facts import IncidentFacts
from firebell.domain.similarity import rank, words

T0 = datetime(2026, 5, 1, tzinfo=UTC)
LABELLED = {
    "database": [
        "Primary database deadlock on the orders table",
        "Database connections exhausted on the primary",
        "Deadlock detected in orders DB, writes failing",
        "Orders DB primary CPU at 100%, queries timing out",
    ],
    "disk": [
        "Disk full on build host",
        "Build agent out of disk space",
        "No space left on device on ci-runner-3",
        "Disk usage 98% on artifact store",
    ],
    "checkout": [
        "Checkout page returns 500 after payment",
        "Payment confirmation errors at checkout",
        "Checkout 5xx spike from the payment provider",
        "Customers charged but checkout shows an error",
    ],
    "dns": [
        "DNS resolution failing for internal services",
        "Internal DNS timeouts from the VPC resolver",
        "Services cannot resolve each other's names (DNS)",
        "Resolver returns SERVFAIL for internal zone",
    ],
    "certificates": [
        "TLS certificate expired on api.example.com",
        "Certificate expiry warning for www",
        "Browsers warn: certificate not valid for the login page",
        "Renew the expiring TLS certificate on the load balancer",
    ],
}
PAST = [
    IncidentFacts(
        incident_id=f"{group}-{n}",
        reference=f"INC-{i * 10 + n}",
        title=title,
        opened_at=T0 + timedelta(hours=i * 10 + n),
        source="api",
        service=None,
        resolution_notes=f"fixed {group} #{n}",
    )
    for i, (group, titles) in enumerate(LABELLED.items())
    for n, title in enumerate(titles)
]
NEW = [
    ("database", "Orders database deadlock again"),
    ("disk", "ci-runner-7: no space left on device"),
    ("checkout", "Payment errors at checkout"),
    ("dns", "internal DNS lookups failing"),
    ("certificates", "expired certificate on api.example.com"),
]


@pytest.mark.parametrize(("group", "text"), NEW, ids=[g for g, _ in NEW])
def test_a_new_incidents_nearest_neighbours_are_from_its_group(group: str, text: str) -> None:
    found = rank(text, None, None, PAST, limit=2)
    assert found, text
    assert [s.facts.incident_id.split("-")[0] for s in found] == [group] * len(found), [
        (s.facts.title, s.score) for s in found
    ]


def test_leave_one_out_the_best_match_is_in_the_same_group_for_most() -> None:
    hits = 0
    for incident in PAST:
        best = rank(incident.title, None, None, PAST, limit=1, exclude=incident.incident_id)
        hits += bool(best) and best[0].facts.incident_id.split("-")[0] == incident.incident_id.split("-")[0]
    assert hits >= 14, f"{hits} of {len(PAST)}"  # 70 % (15 measured): text alone, short titles worded differently


def test_unrelated_text_finds_nothing_and_a_shared_alert_finds_its_past_incidents() -> None:
    assert rank("Office coffee machine broken", None, None, PAST) == []
    alarm_past = [
        *PAST,
        IncidentFacts(
            incident_id="alarm-1",
            reference="INC-99",
            title="queue-depth in ALARM",
            opened_at=T0,
            source="cloudwatch_alarm",
            alert="queue-depth",
            service="orders",
            resolution_notes="scaled consumers",
        ),
    ]
    [found] = rank("queue-depth in ALARM", "queue-depth", "orders", alarm_past)
    assert (found.facts.reference, found.same_alert, found.same_service, found.facts.resolution_notes) == (
        "INC-99",
        True,
        True,
        "scaled consumers",
    )
    assert found.score == pytest.approx(0.6 * found.text + 0.3 + 0.1)


def test_words_drop_an_alarms_boilerplate():
    assert words("Threshold Crossed: 1 datapoint [5.0] was greater than the threshold (ALARM state)") == []
    assert words("ci-runner-3 disk 98%") == ["ci", "runner", "disk"]
