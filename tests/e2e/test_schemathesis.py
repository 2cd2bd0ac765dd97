"""schemathesis against the local runtime over real HTTP (the local gateway included), every check and phase on:
no server error, no response outside the documented statuses, schemas and content types, 405 for undeclared
methods, invalid data refused, valid data accepted (see schemathesis.toml for what "accepted" may mean here).

Bounded by a fixed number of examples per operation and a fixed seed, not by a clock: the same requests on a
fast or a loaded machine (≥ 1,000 of them), only the time differs.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from infra.local.demo import local_aws_client, sign_in
from tests.e2e.conftest import RunningPipeline

pytestmark = pytest.mark.e2e

CONFIG = Path(__file__).with_name("schemathesis.toml")
HOOKS = Path(__file__).with_name("schemathesis_hooks.py")
EXAMPLES_PER_OPERATION = 15
SEED = 8


def _served_document(pipeline: RunningPipeline, folder: Path, token: str) -> Path:
    """The document as served, security schemes and all: the local runtime enforces who may call what
    (docs/access.md), so schemathesis checks that each secured operation refuses no credentials and forged ones."""
    request = urllib.request.Request(f"{pipeline.api_url}/openapi.json", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        document = json.loads(response.read())
    assert document["security"] == [{"sigv4": []}, {"bearer": []}, {"session": []}]
    path = folder / "openapi.json"
    path.write_text(json.dumps(document))
    return path


def _slack_signing_secret(pipeline: RunningPipeline) -> str:
    """The runtime's Slack app signing secret, as a deployer would read it: the hooks sign Slack's routes with it."""
    secrets = local_aws_client("secretsmanager", pipeline.aws_url)
    return secrets.get_secret_value(SecretId="firebell-slack-signing-secret")["SecretString"]


@pytest.mark.timeout(900)
def test_schemathesis_finds_nothing(local_pipeline: RunningPipeline, tmp_path: Path) -> None:
    # carol is an incident manager and an admin: her roles may call every operation (x-firebell-roles)
    token = sign_in(local_pipeline.api_url, "carol")
    document = _served_document(local_pipeline, tmp_path, token)
    reports = tmp_path / "reports"
    started = time.monotonic()
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("st")),
            "--config-file",
            str(CONFIG),
            "--no-color",
            "run",
            str(document),
            "--url",
            local_pipeline.api_url,
            "--header",
            f"Authorization: Bearer {token}",
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES_PER_OPERATION),
            "--seed",
            str(SEED),
            "--workers",
            "2",
            "--request-timeout",
            "60",
            "--report",
            "json,har",
            "--report-dir",
            str(reports),
        ],
        capture_output=True,
        text=True,
        timeout=840,
        cwd=tmp_path,
        env={
            **os.environ,
            "SCHEMATHESIS_HOOKS": str(HOOKS),
            "FIREBELL_SLACK_SIGNING_SECRET": _slack_signing_secret(local_pipeline),
        },  # its cache (.schemathesis/) stays out of the repo
    )
    elapsed = time.monotonic() - started
    [report_file] = reports.glob("json-*.json")
    [har_file] = reports.glob("har-*.json")
    report = json.loads(report_file.read_text())
    requests = len(json.loads(har_file.read_text())["log"]["entries"])
    statuses = collections.Counter(
        str(entry["response"]["status"]) for entry in json.loads(har_file.read_text())["log"]["entries"]
    )
    failures = {f"{failure['code']} {failure['title']}": failure["count"] for failure in report["failures"]}
    print(
        f"\nschemathesis {report['schemathesis_version']}: {requests} requests, {report['test_cases']['generated']} test "
        f"cases, {len(failures)} kinds of failure {failures}, {len(report['errors'])} errors, {elapsed:.0f} s; "
        f"statuses {dict(sorted(statuses.items()))}"
    )
    assert run.returncode == 0 and not failures and not report["errors"], run.stdout[-6000:]
    assert report["operations"]["tested"] == report["operations"]["total"] >= 26
    assert requests >= 1_000
    assert not any(status.startswith("5") for status in statuses)
