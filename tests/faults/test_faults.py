"""Issue 7, exactly once under faults: the mixed load (bench/faults_load.py, smaller than the benchmark's) on the
local runtime with a seeded 10 % of the handlers' AWS calls failing, every invariant measured from outside
and required to be exact. A run without faults first proves the harness itself counts zero when nothing fails.

On the pre-rewrite core most invariants fail (numbers in bench/results/faults.md): those tests are xfail
(strict=False) until the core rewrite lands; then the marks come off.
"""

from __future__ import annotations

from typing import Any

import pytest

from bench.faults_load import INVARIANTS, SMALL, run_load

pytestmark = pytest.mark.e2e
SEED = 7
REWRITE = pytest.mark.xfail(strict=False, reason="issue 7: core rewrite in progress")
# Each invariant, and whether the current core breaks it at 10 % (seen at seed 7, or able to by construction).
CURRENTLY_BROKEN = {
    "incidents_created": REWRITE,  # an Idempotency-Key opened two incidents
    "incidents_unpaged": REWRITE,  # incident.opened dead-lettered after five failed classifications
    "duplicate_pages": REWRITE,  # page() sends, then fails to record, and the retry sends again
    "occurrence_count_errors": REWRITE,  # the ADD runs again on every redelivered copy
    "missing_timeline_entries": REWRITE,  # the state was saved, the timeline write failed
    "dead_letters_without_reason": REWRITE,  # SQS's own redrive moves a message that failed five times
    "acked_then_paged": REWRITE,  # 0 at seed 7, but a redelivered level-1 page can land after the ack
    "http_5xx_after_retries": REWRITE,  # 0 at seed 7; ~2-4 AWS calls per request can fail six times running
}


@pytest.fixture(scope="module")
def without_faults() -> dict[str, Any]:
    return run_load(0.0, SEED, SMALL, deadline_seconds=150)


@pytest.fixture(scope="module")
def under_faults() -> dict[str, Any]:
    return run_load(0.10, SEED, SMALL, deadline_seconds=240)  # ~80 s on an idle 2-core machine


def test_without_faults_the_harness_counts_every_invariant_at_zero(without_faults: dict[str, Any]) -> None:
    result = without_faults
    assert result["faults_injected"] == 0
    assert result["incidents_created"] == result["incidents_expected"] == SMALL.incidents_expected, result["details"]
    assert {name: result[name] for name in INVARIANTS} == dict.fromkeys(INVARIANTS, 0), result["details"]
    # every incident paged at level 1 by email and SMS (the on-call person has both), nothing else yet
    assert result["details"]["messages_in_outbox"] == 2 * SMALL.incidents_expected
    assert result["details"]["acknowledged"] == SMALL.acks


def test_the_faulted_run_was_meaningful(under_faults: dict[str, Any]) -> None:
    details = under_faults["details"]
    assert details["quiet_before_deadline"], "the pipeline never went quiet: counts below would be partial"
    eligible = details["faults"]["eligible_calls"]
    # ~10 % of the handlers' calls, every kind of fault, and the acknowledgements really sent
    assert 0.07 * eligible <= under_faults["faults_injected"] <= 0.13 * eligible, details["faults"]
    assert set(details["faults"]["by_kind"]) == {"throttling", "internal_error", "service_unavailable", "connection_error", "read_timeout_after_effect"}
    assert details["acknowledged"] >= SMALL.acks // 2  # (an incident never paged is never acknowledged)


@pytest.mark.parametrize("invariant", [pytest.param(name, marks=CURRENTLY_BROKEN.get(name, ())) for name in ("incidents_created", *INVARIANTS)])
def test_every_invariant_holds_under_ten_percent_faults(under_faults: dict[str, Any], invariant: str) -> None:
    expected = under_faults["incidents_expected"] if invariant == "incidents_created" else 0
    assert under_faults[invariant] == expected, under_faults["details"]
