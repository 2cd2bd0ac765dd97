"""The demo scenario, played only through the public doors: SNS on the AWS endpoint and the HTTP API.

alarm → INC opened → classified → level 1 paged (email + SMS) → nobody acks → level 2 paged →
acknowledged over HTTP (paging stops) → the alarm's OK resolves it → stakeholders told.
Every step is checked; the demo passes only if all of them happened.

It watches as a script would, signing its requests with SigV4 (an IAM principal); bob signs in
(POST /auth/local/sign-in) and acknowledges as himself, so the timeline names him.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import boto3
from botocore.exceptions import ClientError

from infra.topology import CONFIG_DIR, ROOT

EVENTS = ROOT / "events" / "cloudwatch"
DEMO_SERVICE = "checkout"  # the demo alarm's service (checkout- prefix)
PRIMARY_SCHEDULE = "platform-primary"
T = TypeVar("T")


def changed_now(alarm: dict) -> dict:
    """A CloudWatch notification whose state changed at this moment, in CloudWatch's format: firebell orders an
    alarm's notifications by StateChangeTime, so a shipped file's fixed time would read as a late one."""
    now = datetime.now(UTC)
    return {**alarm, "StateChangeTime": f"{now:%Y-%m-%dT%H:%M:%S}.{now.microsecond // 1000:03d}+0000"}


class DemoFailed(AssertionError):
    pass


def wait_for(what: str, probe: Callable[[], T | None], seconds: float, interval: float = 0.1) -> T:
    """Poll `probe` until it returns something truthy; DemoFailed (an AssertionError) if it never does."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(interval)
    raise DemoFailed(f"{what}: did not happen within {seconds:.0f}s")


def stop_process(process: Any) -> None:
    """End a local runtime started as a subprocess: politely, then for certain."""
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


MACHINE = "machine"
_sessions: dict[tuple[str, str], str] = {}  # (API origin, person) → session token


def machine_headers(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> dict[str, str]:
    """`headers` signed with SigV4 as an IAM principal signs for API Gateway (service execute-api), with the local
    endpoint's stand-in credentials: the local gateway takes any such signature as the IAM user `local`
    (docs/access.md); deployed, real credentials make the same request."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    request = AWSRequest(method=method, url=url, data=data or b"", headers=headers)
    SigV4Auth(Credentials("local", "local"), "execute-api", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def sign_in(url: str, person: str, fresh: bool = False) -> str:
    """A session token for `person` from the local runtime serving `url` (POST /auth/local/sign-in), kept per origin."""
    parts = urllib.parse.urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    if fresh or (origin, person) not in _sessions:
        status, body = _send(
            "POST",
            f"{origin}/auth/local/sign-in",
            json.dumps({"person": person}).encode(),
            {"Content-Type": "application/json"},
        )
        if status != 200:
            raise DemoFailed(f"signing in as {person} answered {status}: {body}")
        _sessions[(origin, person)] = body["token"]
    return _sessions[(origin, person)]


def http(
    method: str, url: str, body: Any = None, as_: str | None = MACHINE, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    """One request to the local runtime, as a client would send it. `as_`: MACHINE (signed with SigV4: an IAM
    principal, who may call every route), a person of the config (signed in: their roles, and the timeline names
    them), or None (no credentials)."""
    data = json.dumps(body).encode() if body is not None else None
    sent = {"Content-Type": "application/json", **(headers or {})}
    if as_ is None:
        return _send(method, url, data, sent)
    if as_ == MACHINE:
        return _send(method, url, data, machine_headers(method, url, data, sent))
    status, answer = _send(method, url, data, {**sent, "Authorization": f"Bearer {sign_in(url, as_)}"})
    if status == 401:  # a token of a runtime that was on this port before: sign in again, once
        status, answer = _send(method, url, data, {**sent, "Authorization": f"Bearer {sign_in(url, as_, fresh=True)}"})
    return status, answer


def _send(method: str, url: str, data: bytes | None, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def local_aws_client(service: str, endpoint_url: str, region: str = "us-east-1"):
    """A boto3 client for the local AWS endpoint (moto accepts any credentials)."""
    return boto3.client(
        service, region_name=region, endpoint_url=endpoint_url, aws_access_key_id="local", aws_secret_access_key="local"
    )


@dataclass
class Demo:
    api_url: str
    aws_url: str
    alarms_topic_arn: str
    level_timeouts: list[int]
    out: Callable[[str], None] = print
    region: str = "us-east-1"
    # How long an earlier run's incident for the demo alarm may take to close (its confirmation window).
    confirmation_seconds: int = 60
    steps_passed: list[str] = field(default_factory=list)
    _started: float = field(default_factory=time.monotonic)
    # What the runtime kept from earlier runs (--state-dir) is not this run's: messages and incidents seen at the start.
    _earlier_messages: set[str] = field(default_factory=set)
    _earlier_incidents: set[str] = field(default_factory=set)

    # --- narration -------------------------------------------------------------------------------

    def _say(self, mark: str, text: str) -> None:
        self.out(f"  {time.monotonic() - self._started:6.1f}s  {mark} {text}")

    def _passed(self, text: str) -> None:
        self.steps_passed.append(text)
        self._say("✓", text)

    def _wait_for(self, what: str, probe: Callable[[], T | None], timeout: float) -> T:
        return wait_for(what, probe, timeout)

    # --- the doors -------------------------------------------------------------------------------

    def publish_alarm(self, file_name: str) -> dict:
        """The shipped notification as CloudWatch would send it now: its state changed at this moment (firebell
        ignores a notification older than the alarm's latest state it acted on, and a kept state may hold one)."""
        alarm = changed_now(json.loads((EVENTS / file_name).read_text()))
        sns = local_aws_client("sns", self.aws_url, self.region)
        sns.publish(
            TopicArn=self.alarms_topic_arn,
            Subject=f'{alarm["NewStateValue"]}: "{alarm["AlarmName"]}" in US East (N. Virginia)',
            Message=json.dumps(alarm),
        )
        return alarm

    def incidents_for(self, alarm_name: str) -> list[dict]:
        status, page = http("GET", f"{self.api_url}/incidents?limit=100")
        if status != 200:
            raise DemoFailed(f"GET /incidents answered {status}: {page}")
        return [i for i in page["items"] if i.get("alarm") and i["alarm"]["name"] == alarm_name]

    def incident_for(self, alarm_name: str) -> dict | None:
        """The incident this run's alarm opened (not one kept from an earlier run)."""
        return next(
            (i for i in self.incidents_for(alarm_name) if i["incident_id"] not in self._earlier_incidents), None
        )

    def incident(self, reference: str) -> dict:
        status, body = http("GET", f"{self.api_url}/incidents/{reference}")
        if status != 200:
            raise DemoFailed(f"GET /incidents/{reference} answered {status}: {body}")
        return body

    def outbox(self) -> list[dict]:
        """This run's emails and SMS."""
        return [
            m for m in http("GET", f"{self.api_url}/_local/outbox")[1]["items"] if m["id"] not in self._earlier_messages
        ]

    def pages_to(self, address: str, reference: str) -> list[dict]:
        """This run's messages to `address` about `reference` (kept incidents may page the same people meanwhile)."""
        about = re.compile(rf"\b{re.escape(reference)}\b")
        return [m for m in self.outbox() if address in m["to"] and about.search(m.get("subject") or m["body"])]

    def pages_to_each(self, reference: str, first: str, *others: str) -> list[dict] | None:
        """The pages about `reference` to `first` once every address has been paged, else None."""
        pages = [self.pages_to(address, reference) for address in (first, *others)]
        return pages[0] if all(pages) else None

    def execution_status(self, execution_arn: str) -> str:
        return self._execution(execution_arn)["status"]

    def window_seconds(self, resolution_arn: str) -> int:
        """How long the resolution workflow keeps the window open, as the workflow was started (the incident
        names its execution in the commit that resolves it; the outbox starts it a moment later)."""

        def started() -> dict | None:
            try:
                return self._execution(resolution_arn)
            except ClientError as error:
                if error.response["Error"]["Code"] != "ExecutionDoesNotExist":
                    raise
                return None

        return json.loads(self._wait_for("confirmation window open", started, 15)["input"])["confirmation_seconds"]

    def _execution(self, execution_arn: str) -> dict:
        sfn = local_aws_client("stepfunctions", self.aws_url, self.region)
        return sfn.describe_execution(executionArn=execution_arn)

    # --- the scenario ----------------------------------------------------------------------------

    def play(self) -> str:
        level1, level2 = self.level_timeouts[:2]
        self.out(f"firebell demo: level 1 has {level1}s to acknowledge, level 2 {level2}s (scaled timers)\n")
        self._set_earlier_apart(json.loads((EVENTS / "alarm-state-alarm.json").read_text())["AlarmName"])

        alarm = self.publish_alarm("alarm-state-alarm.json")
        self._say("▶", f'CloudWatch alarm "{alarm["AlarmName"]}" → ALARM, published to the alarms topic')
        opened = self._wait_for("incident opened", lambda: self.incident_for(alarm["AlarmName"]), 15)
        reference = opened["reference"]
        self._passed(f"{reference} opened: {opened['title']}")

        classified = self._wait_for(
            "incident classified", lambda: (i := self.incident(reference))["priority"] and i, 15
        )
        self._passed(
            f"classified {classified['category']}: impact {classified['impact']} × urgency {classified['urgency']} → "
            f"{classified['priority']}; team {classified['team']}; respond by {classified['sla']['response']['due_at'][11:19]} UTC, "
            f"resolve by {classified['sla']['resolution']['due_at'][11:19]} UTC (timers scaled)"
        )

        _, on_call = http("GET", f"{self.api_url}/schedules/{PRIMARY_SCHEDULE}/on-call")
        if not on_call.get("person"):  # (config/firebell.yaml's schedule restricted to hours that are not now)
            raise DemoFailed(
                f"nobody is on call for {PRIMARY_SCHEDULE} now ({on_call.get('vacancy')}): level 1 pages nobody"
            )
        primary = on_call["person"]["id"]
        email, phone = contacts(CONFIG_DIR)[primary]
        self._say("·", f"{primary} is on call for {PRIMARY_SCHEDULE} (GET /schedules/{PRIMARY_SCHEDULE}/on-call)")
        level1_pages = self._wait_for("level 1 paged", lambda: self.pages_to_each(reference, email, phone), 15)
        self._passed(f'level 1 paged: email to {email} and SMS to {phone}: "{level1_pages[0]["subject"][:60]}…"')

        self._say("…", f"nobody acknowledges for {level1}s")
        paged_at = time.monotonic()
        self._wait_for(
            "level 2 paged", lambda: self.pages_to_each(reference, "bob@example.com", "+15550100002"), level1 + 15
        )
        self._passed(
            f"level 2 paged after {time.monotonic() - paged_at:.1f}s: email to bob@example.com and SMS to +15550100002"
        )

        self._say("▶", f"bob, signed in, acknowledges over HTTP: POST /incidents/{reference}/acknowledge")
        acked_at = time.monotonic()
        status, body = http("POST", f"{self.api_url}/incidents/{reference}/acknowledge", as_="bob")
        if status != 200 or body["status"] != "acknowledged":
            raise DemoFailed(f"acknowledge answered {status}: {body}")
        execution = body["escalation"]["execution_arn"]
        self._wait_for("paging stopped", lambda: self.incident(reference)["escalation"]["watching"], 10)
        self._passed(
            f"acknowledged; paging stopped {time.monotonic() - acked_at:.1f}s later (the workflow now watches the acknowledgement)"
        )

        time.sleep(level2 + 1)  # past the moment level 2 would have escalated to the incident manager
        if self.pages_to("carol@example.com", reference):
            raise DemoFailed("the incident manager was paged after the acknowledgement")
        self._passed(f"no more pages in the {level2 + 1}s after it: the incident manager was not paged")

        alarm = self.publish_alarm("alarm-state-ok.json")
        self._say("▶", f'CloudWatch alarm "{alarm["AlarmName"]}" → OK, published to the alarms topic')
        resolved = self._wait_for(
            "resolved automatically", lambda: (i := self.incident(reference))["status"] == "resolved" and i, 15
        )
        if not resolved["auto_resolved"]:
            raise DemoFailed("the incident was resolved, but not automatically")
        self._passed(f"{reference} resolved automatically: {resolved['resolution_notes'][:60]}…")
        self._wait_for(
            "escalation ended", lambda: self.execution_status(execution) != "RUNNING", 10
        )  # (stopped: ABORTED)
        window = self.window_seconds(resolved["resolution"]["execution_arn"])
        self._passed(
            f"escalation workflow ended; the confirmation window is open for {window}s: the alarm returning "
            f"inside it reopens {reference}, after it a new incident opens (rules.yaml: confirmation_window_minutes)"
        )
        self._wait_for(
            "stakeholders told",
            lambda: any("resolved" in m.get("subject", "") for m in self.pages_to("dave@example.com", reference)),
            15,
        )
        self._passed("stakeholder dave@example.com told of the resolution by email")

        self._print_timeline(reference)
        return reference

    def _set_earlier_apart(self, alarm_name: str) -> None:
        """With state kept from earlier runs, this run's alarm must open an incident of its own: an earlier incident
        for it still open is resolved, and one resolved is left to close (a returning alarm would reopen it)."""
        self._earlier_messages = {m["id"] for m in self.outbox()}
        earlier = self.incidents_for(alarm_name)
        self._earlier_incidents = {i["incident_id"] for i in earlier}
        for incident in earlier:
            reference = incident["reference"]
            if incident["status"] in ("triggered", "acknowledged", "on_hold"):
                status, body = http(
                    "POST",
                    f"{self.api_url}/incidents/{reference}/resolve",
                    {"resolution_notes": "set apart by a new run of the demo"},
                )
                if status != 200:
                    raise DemoFailed(f"resolving {reference}, kept from an earlier run, answered {status}: {body}")
            if incident["status"] != "closed":
                self._say(
                    "·",
                    f"{reference}, kept from an earlier run, is resolved: waiting for its confirmation window to close it",
                )
                self._wait_for(
                    f"{reference} closed",
                    lambda reference=reference: self.incident(reference)["status"] == "closed",
                    self.confirmation_seconds + 15,
                )

    def _print_timeline(self, reference: str) -> None:
        _, timeline = http("GET", f"{self.api_url}/incidents/{reference}/timeline")
        self.out(f"\nTimeline of {reference}:")
        for entry in timeline["items"]:
            at = entry["at"]
            self.out(f"  {at[11:23]}  {entry['kind']:<20} {entry['message'][:110]}")
        outbox = self.outbox()
        # (the outbox holds every run's messages when the state is kept: count this incident's)
        outbox = [m for m in outbox if f"{reference} " in f"{m.get('subject') or ''} {m['body']}"]
        emails = sum(1 for m in outbox if m["channel"] == "email")
        self.out(
            f"\nOutbox: {emails} emails, {len(outbox) - emails} SMS about {reference}  (GET {self.api_url}/_local/outbox)"
        )


def level_timeouts(config_dir: Path, time_scale: float) -> list[int]:
    from firebell.config import load_config
    from firebell.domain.escalation import scaled_timeout

    directory = load_config(config_dir).directory
    levels = directory.policy_for(directory.default_team, DEMO_SERVICE).levels
    return [scaled_timeout(level.delay_minutes, time_scale) for level in levels]


def confirmation_seconds(config_dir: Path, time_scale: float) -> int:
    from firebell.config import load_config
    from firebell.domain.escalation import scaled_timeout

    return scaled_timeout(load_config(config_dir).rules.process.confirmation_window_minutes, time_scale)


def contacts(config_dir: Path) -> dict[str, tuple[str | None, str | None]]:
    """person id → (email, phone), to recognise the demo's pages in the outbox."""
    from firebell.config import load_config

    return {p.id: (p.email, p.phone) for p in load_config(config_dir).directory.people}
