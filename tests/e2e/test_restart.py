"""The local runtime keeps its state across restarts (infra/local/state.py): incidents, the reference counter, the
outbox and the directory overlay come back, and the timers each incident's state implies are re-armed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from infra.local.demo import http, wait_for
from infra.topology import ROOT
from tests.e2e.conftest import RunningPipeline, running_pipeline
from tests.e2e.test_process import incident
from tests.e2e.test_process import report as report_in

# Level 1 waits 5 min × 0.05 = 15 s: an escalation is still running when the runtime stops.
TIME_SCALE = 0.05
CONFIG = ROOT / "config"


def report(pipeline: RunningPipeline, title: str) -> str:
    return report_in(pipeline, title, service="checkout", reporter="gus")  # an employee of the shipped config


def kinds(pipeline: RunningPipeline, reference: str) -> list[str]:
    return [e["kind"] for e in http("GET", f"{pipeline.api_url}/incidents/{reference}/timeline")[1]["items"]]


def outbox(pipeline: RunningPipeline) -> list[dict[str, Any]]:
    return http("GET", f"{pipeline.api_url}/_local/outbox")[1]["items"]


def about(messages: list[dict[str, Any]], reference: str) -> list[dict[str, Any]]:
    return [m for m in messages if f"{reference} " in (m.get("subject") or m["body"])]


def kept(state_dir: Path, reference: str) -> bool:
    """Whether a whole save (its manifest is written last) has happened and the folder holds the incident `reference`
    (a kill may land between a save's files: on a busy machine it did, between the table and the manifest)."""
    table = state_dir / "table-incidents.jsonl"
    return (
        (state_dir / "manifest.json").exists()
        and table.exists()
        and any(json.loads(line).get("reference", {}).get("S") == reference for line in table.read_text().splitlines())
    )


def test_a_clean_restart_keeps_incidents_counter_outbox_and_directory_and_re_arms_the_escalation(
    tmp_path: Path,
) -> None:
    # Given a runtime with an acknowledged incident, one whose escalation is running, and a directory change
    with running_pipeline(CONFIG, TIME_SCALE, tmp_path) as first:
        acknowledged = report(first, "Checkout is slow")
        running = report(first, "Payments fail")
        wait_for("level 1 paged", lambda: "paged" in kinds(first, running), 60)
        wait_for("classified", lambda: incident(first, acknowledged)["escalation"]["execution_arn"], 60)
        assert http("POST", f"{first.api_url}/incidents/{acknowledged}/acknowledge", as_="bob")[0] == 200
        status, person = http("PUT", f"{first.api_url}/admin/people/zoe", {"name": "Zoe", "email": "zoe@example.com"})
        assert status == 201, person
        sent_before = outbox(first)
        pages_before = about(sent_before, running)
        assert pages_before
    # When it is stopped cleanly (SIGTERM) and started again on the same folder
    assert json.loads((tmp_path / "manifest.json").read_text())["saved_by"] == "clean stop"
    with running_pipeline(CONFIG, TIME_SCALE, tmp_path) as second:
        # Then the incidents are there, as they were
        assert incident(second, acknowledged)["status"] == "acknowledged"
        assert incident(second, running)["status"] == "triggered"
        # And references go on from where they were
        assert report(second, "After the restart") == "INC-3"
        # And the outbox keeps what was sent before
        after = outbox(second)
        assert all(message in after for message in sent_before)
        # And the directory change made through the admin API is kept
        status, snapshot = http("GET", f"{second.api_url}/admin/directory")
        assert status == 200 and snapshot["sources"]["people"]["zoe"] == "admin", snapshot
        # And the running escalation pages again (its timer re-armed), the acknowledged one pages nobody
        wait_for("paged again", lambda: len(about(outbox(second), running)) > len(pages_before), 60)
        assert "timers_rearmed" in kinds(second, running) and "timers_rearmed" in kinds(second, acknowledged)
        assert about(outbox(second), acknowledged) == about(sent_before, acknowledged)


def test_a_killed_runtime_keeps_what_it_saved_up_to_a_second_before(tmp_path: Path) -> None:
    # Given a runtime that saved an incident in its periodic save
    with running_pipeline(CONFIG, TIME_SCALE, tmp_path) as first:
        reference = report(first, "Checkout is slow")
        wait_for("saved", lambda: kept(tmp_path, reference), 60)
        # When it is killed (no clean stop)
        first.process.kill()
        first.process.wait(timeout=10)
    assert json.loads((tmp_path / "manifest.json").read_text())["saved_by"] == "periodic"
    # Then the next start has it, and goes on counting after it
    with running_pipeline(CONFIG, TIME_SCALE, tmp_path) as second:
        assert incident(second, reference)["title"] == "Checkout is slow"
        assert report(second, "Next") == "INC-2"


def test_fresh_starts_empty_at_inc_1(tmp_path: Path) -> None:
    with running_pipeline(CONFIG, TIME_SCALE, tmp_path) as first:
        report(first, "Checkout is slow")
        report(first, "Payments fail")
    with running_pipeline(CONFIG, TIME_SCALE, tmp_path, "--fresh") as fresh:
        assert http("GET", f"{fresh.api_url}/incidents")[1]["items"] == []
        assert outbox(fresh) == []
        assert report(fresh, "First again") == "INC-1"


def test_one_folder_serves_one_runtime(tmp_path: Path) -> None:
    with (
        running_pipeline(CONFIG, TIME_SCALE, tmp_path),
        pytest.raises(pytest.fail.Exception, match="in use by another local runtime"),
        running_pipeline(CONFIG, TIME_SCALE, tmp_path),
    ):
        pass


def test_a_restart_works_out_the_report_facts_of_incidents_an_older_firebell_closed(tmp_path: Path) -> None:
    # Given an incident closed (the confirmation window: 60 min × 0.005 = 18 s) in a runtime whose saved state is
    # then stripped of the reports' facts, as a firebell from before them would have left it
    with running_pipeline(CONFIG, 0.005, tmp_path) as first:
        reference = report(first, "Disk full on build host")
        assert (
            http("POST", f"{first.api_url}/incidents/{reference}/resolve", {"resolution_notes": "pruned"}, as_="bob")[0]
            == 200
        )
        wait_for("closed", lambda: incident(first, reference)["status"] == "closed", 90)
    table = tmp_path / "table-incidents.jsonl"
    lines = table.read_text().splitlines()
    kept_lines = [line for line in lines if not json.loads(line)["pk"]["S"].startswith(("FACTS#", "LASTFIX#"))]
    assert len(kept_lines) < len(lines)
    table.write_text("".join(line + "\n" for line in kept_lines))

    # When it starts again on that state
    with running_pipeline(CONFIG, 0.005, tmp_path) as second:
        # Then the reports have the incident, worked out from its timeline
        start = (datetime.now(UTC) - timedelta(days=1)).isoformat().replace("+00:00", "Z")
        end = (datetime.now(UTC) + timedelta(days=1)).isoformat().replace("+00:00", "Z")

        def reported() -> dict[str, Any] | None:  # (the runtime answers while its start-up work still runs)
            status, answer = http("GET", f"{second.api_url}/reports?from={start}&to={end}", as_="carol")
            assert status == 200, answer
            return answer if answer["incidents"] else None

        answer = wait_for("the closed incident in the reports", reported, 30)
        assert (
            answer["incidents"] == 1 and answer["mttr"]["count"] == 1 and answer["cost"]["estimated_incidents"] == 1
        ), answer


def test_dead_letters_and_their_reasons_are_kept_across_a_restart(tmp_path: Path) -> None:
    # Given a runtime whose intake dead-lettered a message it can never process (health answers 503 for it)
    from infra.local.demo import local_aws_client

    with running_pipeline(CONFIG, TIME_SCALE, tmp_path) as first:
        sqs = local_aws_client("sqs", first.aws_url)
        sqs.send_message(QueueUrl=first.resources["queue_url:intake"], MessageBody="this is not an alarm")
        letters = lambda pipeline: http("GET", f"{pipeline.api_url}/_local/dead-letters")[1]  # noqa: E731
        before = wait_for("a dead letter", lambda: letters(first)["queues"]["intake-dlq"]["messages"], 60)
    # When it is stopped and started again on the same folder
    with running_pipeline(CONFIG, TIME_SCALE, tmp_path) as second:
        # Then the dead letter is still there, with its reason and attempts, and health still says so
        after = letters(second)["queues"]["intake-dlq"]["messages"]
        assert [(m["body"], m["reason"], m["receive_count"]) for m in after] == [
            (m["body"], m["reason"], m["receive_count"]) for m in before
        ]
        assert http("GET", f"{second.api_url}/_local/health")[0] == 503
