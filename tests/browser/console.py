"""What the browser tests share: who is who in their directory, signing in through the page, a CloudWatch alarm
published the way AWS publishes it, and the API as a machine caller (for set-up and for checking outcomes)."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import Page, expect

from infra.local.demo import MACHINE, http, local_aws_client
from infra.topology import ROOT
from tests.e2e.conftest import RunningPipeline

WAIT_MS = 30_000  # an alarm's incident appears in a few seconds; a loaded machine may take longer

# The browser tests' own directory: config/firebell.yaml with a person for each role (docs/access.md).
ROLES = {
    "alice": ["responder"],
    "erin": ["responder"],
    "bob": ["responder"],
    "carol": ["incident_manager"],
    "frank": ["admin"],
    "dave": ["viewer"],
}
REPORTER = {"id": "rita", "name": "Rita Reporter", "email": "rita@example.com", "roles": ["reporter"]}
NAMES = {
    "alice": "Alice Ops",
    "erin": "Erin Ops",
    "bob": "Bob Backend",
    "carol": "Carol Manager",
    "frank": "Frank Lead",
    "dave": "Dave Stakeholder",
    "rita": "Rita Reporter",
}


def write_config(folder: Path) -> Path:
    """config/ with the people of ROLES (their roles set, whatever config/ gives them) and a reporter, into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for file in (ROOT / "config").iterdir():
        if file.is_file():
            (folder / file.name).write_bytes(file.read_bytes())
    directory = yaml.safe_load((ROOT / "config" / "firebell.yaml").read_text(encoding="utf-8"))
    directory["people"] = [
        {**person, "roles": ROLES[person["id"]]} for person in directory["people"] if person["id"] in ROLES
    ]
    directory["people"].append(REPORTER)
    (folder / "firebell.yaml").write_text(yaml.safe_dump(directory, sort_keys=False), encoding="utf-8")
    return folder


def sign_in(page: Page, pipeline: RunningPipeline, person: str) -> None:
    """Through the sign-in page, as a person would: their name's button."""
    page.goto(f"{pipeline.api_url}/")
    page.get_by_role("button", name=re.compile(rf"^Sign in as {re.escape(NAMES[person])} \({person}\)")).click()
    expect(page.locator("#who")).to_contain_text(f"Signed in as {NAMES[person]}", timeout=WAIT_MS)


def machine(pipeline: RunningPipeline, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """The API as a machine (IAM, SigV4-signed) caller, for set-up and for checking what the console did."""
    return http(method, f"{pipeline.api_url}{path}", body, as_=MACHINE)


def publish_alarm(pipeline: RunningPipeline) -> str:
    """A real-format CloudWatch alarm (events/cloudwatch/) with a name of its own, to the alarms topic. Its name."""
    alarm = json.loads((ROOT / "events" / "cloudwatch" / "alarm-state-alarm.json").read_text())
    name = f"checkout-browser-{uuid.uuid4().hex[:8]}"
    alarm["AlarmArn"] = alarm["AlarmArn"].replace(alarm["AlarmName"], name)
    alarm["AlarmName"] = name
    local_aws_client("sns", pipeline.aws_url).publish(
        TopicArn=pipeline.resources["topic:alarms"],
        Subject=f'ALARM: "{name}" in US East (N. Virginia)',
        Message=json.dumps(alarm),
    )
    return name


def report(pipeline: RunningPipeline, title: str, impact: str = "high", urgency: str = "high") -> dict[str, Any]:
    """An incident opened over the API (by a machine), for tests that need one and do not test opening it."""
    status, incident = machine(
        pipeline,
        "POST",
        "/incidents",
        {"title": title, "reporter": "monitoring", "service": "checkout", "impact": impact, "urgency": urgency},
    )
    assert status == 201, incident
    return incident


def open_incident(page: Page, pipeline: RunningPipeline, reference: str) -> None:
    page.goto(f"{pipeline.api_url}/#/incidents/{reference}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(reference, timeout=WAIT_MS)
    expect(page.locator("#h-timeline + div li").first).to_be_visible(timeout=WAIT_MS)
