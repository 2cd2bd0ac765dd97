"""schemathesis against the local runtime over real HTTP (the local gateway included), every check and phase on:
no server error, no response outside the documented statuses, schemas and content types, 405 for undeclared
methods, invalid data refused, valid data accepted (see schemathesis.toml for what "accepted" may mean here).

Bounded by a fixed number of examples per operation and a fixed seed, not by a clock: the same requests on a
fast or a loaded machine (≥ 1,000 of them), only the time differs.
"""

from __future__ import annotations

import collections
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningPipeline

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES_PER_OPERATION = 15
SEED = 8


def _local_document(pipeline: RunningPipeline, folder: Path) -> Path:
    """The served document, without SigV4: the local runtime checks no signatures (API Gateway does, in AWS;
    tests/unit/test_openapi.py holds the document's security to the topology), so schemathesis would only
    report that the local runtime ignores auth."""
    with urllib.request.urlopen(f"{pipeline.api_url}/openapi.json", timeout=30) as response:
        document = json.loads(response.read())
    assert document["security"] == [{"sigv4": []}]
    document.pop("security")
    document["components"].pop("securitySchemes")
    path = folder / "openapi.local.json"
    path.write_text(json.dumps(document))
    return path


@pytest.mark.timeout(900)
def test_schemathesis_finds_nothing(local_pipeline: RunningPipeline, tmp_path: Path) -> None:
    document = _local_document(local_pipeline, tmp_path)
    reports = tmp_path / "reports"
    started = time.monotonic()
    run = subprocess.run(
        [str(Path(sys.executable).with_name("st")), "--config-file", str(CONFIG), "--no-color", "run", str(document),
         "--url", local_pipeline.api_url, "--checks", "all", "--max-examples", str(EXAMPLES_PER_OPERATION),
         "--seed", str(SEED), "--workers", "2", "--request-timeout", "60", "--report", "json,har",
         "--report-dir", str(reports)],
        capture_output=True, text=True, timeout=840, cwd=tmp_path,  # its cache (.schemathesis/) stays out of the repo
    )
    elapsed = time.monotonic() - started
    [report_file] = reports.glob("json-*.json")
    [har_file] = reports.glob("har-*.json")
    report = json.loads(report_file.read_text())
    requests = len(json.loads(har_file.read_text())["log"]["entries"])
    statuses = collections.Counter(
        str(entry["response"]["status"]) for entry in json.loads(har_file.read_text())["log"]["entries"])
    failures = {f"{failure['code']} {failure['title']}": failure["count"] for failure in report["failures"]}
    print(f"\nschemathesis {report['schemathesis_version']}: {requests} requests, {report['test_cases']['generated']} test "
          f"cases, {len(failures)} kinds of failure {failures}, {len(report['errors'])} errors, {elapsed:.0f} s; "
          f"statuses {dict(sorted(statuses.items()))}")
    assert run.returncode == 0 and not failures and not report["errors"], run.stdout[-6000:]
    assert report["operations"]["tested"] == report["operations"]["total"] >= 26
    assert requests >= 1_000
    assert not any(status.startswith("5") for status in statuses)
