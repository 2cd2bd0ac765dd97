"""The `firebell` command as a person types it (the installed console script, in a shell-like subprocess) against
the local runtime: sign in, report, act, read, and the refusals and exit codes a script relies on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningPipeline

pytestmark = pytest.mark.e2e

FIREBELL = Path(sys.executable).parent / "firebell"  # what `make install` put on the venv's PATH


@pytest.fixture
def firebell(local_pipeline: RunningPipeline, tmp_path: Path):
    """Run `firebell …` with its own config home (profiles, tokens) against the local runtime."""
    environment = {**os.environ, "FIREBELL_CONFIG_HOME": str(tmp_path / "firebell-home")}
    environment.pop("FIREBELL_PROFILE", None)

    def run(*argv: str, endpoint: str | None = local_pipeline.api_url) -> subprocess.CompletedProcess:
        prefix = ["--endpoint", endpoint] if endpoint else []
        return subprocess.run(
            [str(FIREBELL), *prefix, *argv], env=environment, capture_output=True, text=True, timeout=120
        )

    return run


def test_a_responder_reports_acknowledges_notes_and_resolves(firebell) -> None:
    signed_in = firebell("login", "--as", "alice")
    assert signed_in.returncode == 0, signed_in.stderr
    assert "signed in as alice" in signed_in.stdout

    reported = firebell(
        "-o", "json", "report", "Disk full on db-1", "--service", "checkout", "--impact", "high", "--urgency", "high"
    )
    assert reported.returncode == 0, reported.stderr
    reference = json.loads(reported.stdout)["reference"]

    for argv in (
        ("ack", reference),
        ("note", reference, "freeing space"),
        ("resolve", reference, "--notes", "old logs removed"),
    ):
        done = firebell(*argv)
        assert done.returncode == 0, (argv, done.stderr)
        if argv[0] == "note":  # what it put on the timeline, shown as the timeline is
            assert done.stdout.splitlines()[0].split() == ["AT", "KIND", "ACTOR", "MESSAGE"], done.stdout
            assert "freeing space" in done.stdout.splitlines()[-1]

    shown = json.loads(firebell("-o", "json", "incidents", "show", reference).stdout)
    assert (shown["status"], shown["acknowledged_by"], shown["resolved_by"]) == ("resolved", "alice", "alice")
    timeline = json.loads(firebell("-o", "json", "incidents", "timeline", reference).stdout)["items"]
    assert {e["actor"] for e in timeline if e["kind"] in ("acknowledged", "note", "resolved")} == {"alice"}
    table = firebell("incidents", "list", "--limit", "5")
    assert table.returncode == 0 and table.stdout.splitlines()[0].split()[:3] == ["REFERENCE", "STATUS", "PRIORITY"]
    assert reference in table.stdout


def test_a_viewer_is_refused_in_the_apis_words_with_exit_code_1(firebell) -> None:
    assert firebell("login", "--as", "alice").returncode == 0
    reference = json.loads(firebell("-o", "json", "report", "Printer on fire").stdout)["reference"]
    assert firebell("login", "--as", "dave").returncode == 0

    refused = firebell("ack", reference)

    assert refused.returncode == 1
    assert refused.stderr.startswith("firebell: 403 forbidden:"), refused.stderr
    assert json.loads(firebell("-o", "json", "incidents", "show", reference).stdout)["status"] == "triggered"


def test_on_call_and_whoami(firebell) -> None:
    assert firebell("login", "--as", "bob").returncode == 0
    me = json.loads(firebell("-o", "json", "whoami").stdout)
    assert me["person"] == "bob" and me["kind"] == "person"
    now = firebell("oncall", "now")
    assert now.returncode == 0 and "platform-primary" in now.stdout
    mine = firebell("-o", "json", "oncall", "mine", "--days", "14")
    assert mine.returncode == 0 and json.loads(mine.stdout)["person"] == "bob"
    nobody = firebell("oncall", "mine", "--person", "nobody")
    assert nobody.returncode == 1 and "404 person_not_found" in nobody.stderr, nobody.stderr
    no_offset = firebell("oncall", "at", "2026-12-03T09:30:00")
    assert no_offset.returncode == 1 and "422 validation_failed" in no_offset.stderr, no_offset.stderr
    assert "query.at: give a UTC offset" in no_offset.stderr


def test_reports_as_a_table_as_json_and_as_csv(firebell) -> None:
    assert firebell("login", "--as", "alice").returncode == 0
    reference = json.loads(firebell("-o", "json", "report", "Queue backlog", "--service", "checkout").stdout)[
        "reference"
    ]
    assert firebell("ack", reference).returncode == 0
    assert firebell("login", "--as", "dave").returncode == 0  # a viewer may read reports

    table = firebell("reports", "--by", "on-call")
    assert table.returncode == 0, table.stderr
    assert (
        table.stdout.splitlines()[0].split()[0] == "incidents" and "PERSON" in table.stdout and "alice" in table.stdout
    )
    report = json.loads(firebell("-o", "json", "reports", "--team", "platform").stdout)
    assert report["incidents"] >= 1 and report["filter"]["team"] == "platform"
    rows = firebell("reports", "--csv").stdout.splitlines()
    assert rows[0].startswith("reference,title,opened_at,") and any(row.startswith(reference + ",") for row in rows[1:])
    bad = firebell("reports", "--from", "last tuesday")
    assert bad.returncode == 2 and "--from" in bad.stderr  # a usage error, refused before the API is asked
    monthly = json.loads(firebell("-o", "json", "reports", "--bucket", "month").stdout)
    assert monthly["filter"]["bucket"] == "month" and all(len(p["key"]) == 7 for p in monthly["by_period"])  # 2026-12


def test_a_calendar_feed_address_from_the_cli_is_what_a_calendar_app_subscribes_to(firebell) -> None:
    assert firebell("login", "--as", "alice").returncode == 0
    made = firebell("-o", "json", "oncall", "feed", "new")
    assert made.returncode == 0, made.stderr
    url = json.loads(made.stdout)["url"]
    shown = firebell("oncall", "feed", "new")  # as a table: the address whole (it is shown this once)
    assert shown.returncode == 0 and url.split("/feeds/")[0] in shown.stdout and "…" not in shown.stdout
    url = next(line.split()[-1] for line in shown.stdout.splitlines() if line.startswith("url"))
    with urllib.request.urlopen(url, timeout=30) as answer:  # no credentials: the address is the credential
        calendar = answer.read().decode()
    assert (
        answer.headers["Content-Type"].startswith("text/calendar")
        and "SUMMARY:On call: Platform primary (alice)" in calendar
    )
    assert "url" not in json.loads(firebell("-o", "json", "oncall", "feed").stdout)  # shown once, when made
    assert firebell("oncall", "feed", "revoke").returncode == 0
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(url, timeout=30)
    assert gone.value.code == 404


def test_exit_codes_for_no_sign_in_unreachable_and_usage(firebell) -> None:
    assert firebell("incidents", "list").returncode == 3  # never signed in
    assert firebell("login", "--as", "alice").returncode == 0
    assert firebell("login", "--as", "alice", endpoint="http://127.0.0.1:9").returncode == 4  # nothing listens there
    # The sign-in is the local runtime's: pointed elsewhere, the command asks for another instead of sending it
    elsewhere = firebell("incidents", "list", endpoint="http://127.0.0.1:9")
    assert elsewhere.returncode == 3 and "the sign-in kept is for" in elsewhere.stderr
    assert firebell("incidents", "frobnicate").returncode == 2
    refused = firebell("login", "--as", "nobody-of-the-config")  # refused by the API: exit 1, in its words
    assert (
        refused.returncode == 1
        and "unknown_person" in refused.stderr
        and "body.person: unknown person" in refused.stderr
    )
    validated = firebell("config", "validate", "config", endpoint=None)
    assert validated.returncode == 0 and "valid" in validated.stdout


def test_a_drill_from_the_cli(firebell) -> None:
    assert firebell("login", "--as", "carol").returncode == 0
    unknown = firebell("drill", "start", "--service", "nope")
    assert unknown.returncode == 1 and "422 unknown_service" in unknown.stderr and "body.service" in unknown.stderr
    started = firebell("-o", "json", "drill", "start", "--service", "checkout")
    assert started.returncode == 0, started.stderr
    reference = json.loads(started.stdout)["reference"]
    assert firebell("ack", reference).returncode == 0
    assert firebell("drill", "end", reference).returncode == 0
    report = firebell("drill", "report", reference)
    assert report.returncode == 0 and "acknowledged_by" in report.stdout and "carol" in report.stdout
    assert any(line.split()[:2] == ["PERSON", "SECONDS_TO_FIRST_PAGE"] for line in report.stdout.splitlines())
