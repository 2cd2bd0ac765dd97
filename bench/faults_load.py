"""The mixed load of issue 7 and its invariants, driven from outside the local runtime (tests/faults, bench/faults).

The runtime runs as `python -m infra.local` in a process of its own, with the fault injector switched on by
FIREBELL_FAULT_RATE/SEED (infra/local/faults.py): only the handlers' AWS calls fail; this driver's are never
faulted. The load: real-format CloudWatch alarm notifications (events/cloudwatch/alarm-state-alarm.json)
published to the alarms topic — `distinct` alarms plus `duplicates` copies spread over `stormed` of them —,
POST /incidents with an Idempotency-Key, emails to an intake address over SMTP (half of them sent twice, as a sender's
server may; docs/email-intake.md) with a reply naming each of some of their incidents once paged (each sent twice), and
acknowledgements over HTTP of incidents once they were paged.
Clients retry 5xx and connection errors with the same request (and key), like real clients.

Everything is then measured through the public doors only (HTTP API, /_local/outbox, /_local/dead-letters,
SQS on the AWS endpoint), so the measurement survives a rewrite of the core. Timers are scaled *up*
(level 1 waits TIME_SCALE × 5 min): inside a run only level-1 pages (and P1 incident-manager pages) are due,
so a second identical message to one person about one incident is a duplicate, never a later level.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import re
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from bench.faults_effects import (
    INVARIANTS as EFFECT_INVARIANTS,
)
from bench.faults_effects import (
    chat_invariants,
    set_up,
    slack_stand_in,
    webhook_invariants,
)
from infra.local.demo import DemoFailed, local_aws_client, machine_headers, stop_process, wait_for
from infra.local.slack_stand_in import SlackStandIn
from infra.local.webhook_receiver import WebhookReceiver
from infra.topology import ROOT, TOPOLOGY

ALARM_EVENT = ROOT / "events" / "cloudwatch" / "alarm-state-alarm.json"
TIME_SCALE = 10.0  # level 1: 5 min → 50 min, far beyond a run: no level-2 page, SLA or ack timer fires
VISIBILITY_TIMEOUT = 3  # s before a failed record is retried (the topology's 180 s would stall every retry)
MAX_ATTEMPTS = 6  # per client request: the first try and five retries
REF = re.compile(r"\bINC-\d+\b")
WHY = re.compile(r"receiving this for: (.+?)\.?$", re.M)
ACK_LINK = re.compile(r"\s*Ack: \S+\s*$")
INVARIANTS = (
    "incidents_unpaged",
    "duplicate_pages",
    "occurrence_count_errors",
    "missing_timeline_entries",
    "dead_letters_without_reason",
    "acked_then_paged",
    "http_5xx_after_retries",
    *EFFECT_INVARIANTS,
    # email intake: each email opens one incident (incidents_created counts them), each reply is one note
    "email_replies_not_noted_once",
)
MAIL_TO = "checkout-incidents@example.com"  # config/firebell.yaml's intake address for checkout (paged by its team)
REPLY_TEXT = "fault load: rolled back, watching"


@dataclass(frozen=True)
class Load:
    distinct: int = 200
    duplicates: int = 500
    stormed: int = 5
    reports: int = 50
    acks: int = 30
    emails: int = 20
    replies: int = 10  # to the incidents of the first emails

    @property
    def incidents_expected(self) -> int:
        return self.distinct + self.reports + self.emails


FULL = Load()
SMALL = Load(distinct=60, duplicates=100, stormed=3, reports=15, acks=10, emails=8, replies=4)


# --- the runtime, in its own process ----------------------------------------------------------------


@dataclass
class Pipeline:
    api_url: str
    aws_url: str
    resources: dict[str, str]
    log_path: str
    smtp_port: int = 0

    def log_tail(self, lines: int = 60) -> str:
        with open(self.log_path, errors="replace") as log:
            return "".join(log.readlines()[-lines:])


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def local_runtime(
    fault_rate: float, seed: int, time_scale: float = TIME_SCALE, slack: SlackStandIn | None = None
) -> Iterator[Pipeline]:
    """`python -m infra.local --no-demo` with faults at `fault_rate`; output to a file (a full pipe would block it)."""
    api_port, aws_port, tls_port, smtp_port = free_port(), free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        FIREBELL_FAULT_RATE=str(fault_rate),
        FIREBELL_FAULT_SEED=str(seed),
        FIREBELL_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT),
    )
    if slack is not None:
        env.update(
            FIREBELL_SLACK_API_URL=slack.api_url,
            FIREBELL_SLACK_BOT_TOKEN=slack.bot_token,
            FIREBELL_SLACK_SIGNING_SECRET=slack.signing_secret,
        )
    # Open for the whole life of the runtime process (closed when the load ends), so not a `with` block.
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115
        "w", prefix="firebell-faults-", suffix=".log", delete=False
    )
    state_dir = tempfile.mkdtemp(prefix="firebell-faults-state-")  # never the repository's kept state
    tls_dir = tempfile.mkdtemp(
        prefix="firebell-faults-tls-"
    )  # nor its certificate; its own ports: `make run` may be up
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.local",
            "--no-demo",
            f"--api-port={api_port}",
            f"--aws-port={aws_port}",
            f"--tls-port={tls_port}",
            f"--smtp-port={smtp_port}",
            f"--tls-dir={tls_dir}",
            f"--time-scale={time_scale}",
            f"--state-dir={state_dir}",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    pipeline = Pipeline(f"http://127.0.0.1:{api_port}", f"http://127.0.0.1:{aws_port}", {}, log.name, smtp_port)

    def started() -> dict | None:
        if process.poll() is not None:
            raise RuntimeError(f"the local runtime exited with {process.returncode}:\n{pipeline.log_tail()}")
        status, health = request("GET", f"{pipeline.api_url}/_local/health")
        return health if status == 200 else None

    try:
        pipeline.resources = wait_for("local runtime started", started, 90, interval=0.3)["resources"]
        yield pipeline
    finally:
        stop_process(process)
        log.close()
        shutil.rmtree(state_dir, ignore_errors=True)
        shutil.rmtree(tls_dir, ignore_errors=True)


# --- clients --------------------------------------------------------------------------------------


def request(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None) -> tuple[int | None, Any]:
    """One HTTP request, signed with SigV4 as the scripts and tools this load stands for sign theirs (an IAM
    principal: it may call every route, and its authentication makes no AWS call a fault could hit);
    (None, error) when the connection itself failed."""
    data = json.dumps(body).encode() if body is not None else None
    signed = machine_headers(method, url, data, {"Content-Type": "application/json", **(headers or {})})
    req = urllib.request.Request(url, data=data, method=method, headers=signed)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw or b"null")
        except ValueError:
            return error.code, raw.decode(errors="replace")
    except (OSError, ValueError) as error:  # refused, reset, timed out, a half-read body
        return None, repr(error)


def retrying(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None
) -> tuple[int | None, Any, int]:
    """A well-behaved client: the same request again on 5xx, connection errors and 409 'still in progress'."""
    status, payload = None, None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        status, payload = request(method, url, body, headers)
        in_progress = status == 409 and isinstance(payload, dict) and "in_progress" in str(payload.get("error"))
        if status is not None and status < 500 and not in_progress:
            return status, payload, attempt
        time.sleep(min(0.1 * 2**attempt, 2))  # the client's backoff between retries, not synchronisation
    return status, payload, MAX_ATTEMPTS


def list_incidents(api_url: str) -> list[dict[str, Any]] | None:
    found, cursor = [], None
    while True:
        query = f"?limit=100&cursor={urllib.request.quote(cursor)}" if cursor else "?limit=100"
        status, page, _ = retrying("GET", f"{api_url}/incidents{query}")
        if status != 200:
            return None
        found += page["items"]
        cursor = page.get("cursor")
        if not cursor:
            return found


def outbox(api_url: str) -> list[dict[str, Any]]:
    return request("GET", f"{api_url}/_local/outbox")[1]["items"]


def page_key(message: dict[str, Any]) -> tuple[str, str, str, str]:
    """(incident reference, recipient, channel, reason): two messages with one key are one message twice."""
    text = message.get("subject") or message["body"]
    reference = (REF.search(text) or REF.search(message["body"]) or [""])[0]
    if message["channel"] == "email":
        why = WHY.search(message["body"])
        reason = why.group(1) if why else text
    else:  # an SMS is only sent for a page; its ack link is unique per message, the rest is what was said
        reason = ACK_LINK.sub("", message["body"])
    return reference, message["to"][0], message["channel"], reason


def each_page(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """An SMS digest stands for each page it lists (one line each, as that page's SMS would have said it): a page
    sent by itself and again in a digest, or in two digests, is then one message twice."""
    pages = []
    for m in messages:
        if m["channel"] == "sms" and m["body"].startswith("firebell digest "):
            pages += [{**m, "body": line} for line in m["body"].splitlines()[1:] if REF.search(line)]
        else:
            pages.append(m)
    return pages


def is_page(message: dict[str, Any]) -> bool:
    return message["channel"] == "sms" or page_key(message)[3].startswith("level")


# --- the load -------------------------------------------------------------------------------------


@dataclass
class Run:
    load: Load
    seed: int
    alarms: list[dict[str, Any]] = field(default_factory=list)
    copies: dict[str, int] = field(default_factory=dict)  # alarm name → copies published after the first
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # Idempotency-Key → body
    outcomes: list[tuple[str, int | None]] = field(default_factory=list)  # (what, final status) per client request
    acked: dict[str, int] = field(default_factory=dict)  # reference → pages in the outbox when its ack returned
    emails: list[str] = field(default_factory=list)  # their subjects (the incidents' titles)
    replied: set[str] = field(default_factory=set)  # references a reply was sent about


def make_run(load: Load, seed: int) -> Run:
    template = json.loads(ALARM_EVENT.read_text())
    prefix = template["AlarmArn"].rsplit(":", 1)[0]
    run = Run(load, seed)
    for i in range(load.distinct):
        name = f"checkout-fault-{seed}-{i:03d}"  # checkout- routes it to a team with an escalation policy
        run.alarms.append(
            {**template, "AlarmName": name, "AlarmArn": f"{prefix}:{name}", "AlarmDescription": f"fault load alarm {i}"}
        )
    for i in range(load.duplicates):
        name = run.alarms[i % load.stormed]["AlarmName"]
        run.copies[name] = run.copies.get(name, 0) + 1
    run.emails = [f"fault load email {seed}-{i:03d}" for i in range(load.emails)]
    for i in range(load.reports):
        run.reports[f"fault-load-{seed}-{i:03d}"] = {
            "title": f"fault load report {seed}-{i:03d}",
            "reporter": "fault-load",
            "service": "checkout",
            "impact": "medium",
            "urgency": "medium",
        }
    return run


def drive(pipeline: Pipeline, run: Run, deadline_seconds: float) -> None:
    """Publish the alarms and POST the reports concurrently, acknowledging incidents as they get paged."""
    rng = random.Random(run.seed)
    by_name = {a["AlarmName"]: a for a in run.alarms}
    publications = list(run.alarms) + [by_name[name] for name, n in run.copies.items() for _ in range(n)]
    rng.shuffle(publications)
    targets = rng.sample(
        [("alarm", a["AlarmName"]) for a in run.alarms] + [("report", k) for k in run.reports], run.load.acks
    )
    sns = local_aws_client("sns", pipeline.aws_url)
    topic = pipeline.resources["topic:alarms"]

    def publish(alarm: dict[str, Any]) -> None:
        sns.publish(
            TopicArn=topic, Message=json.dumps(alarm), Subject=f'ALARM: "{alarm["AlarmName"]}" in {alarm["Region"]}'
        )

    def report(key: str) -> None:
        status, _, _ = retrying("POST", f"{pipeline.api_url}/incidents", run.reports[key], {"Idempotency-Key": key})
        run.outcomes.append((f"POST /incidents ({key})", status))

    def mail(subject: str, twice: bool) -> None:
        for _ in range(2 if twice else 1):  # (the same Message-ID: a sender's server sending it again)
            send_mail(pipeline, subject, "fault load: checkout is slow", f"<{subject.replace(' ', '-')}@example.com>")

    to_reply = set(run.emails[: run.load.replies])

    deadline = time.monotonic() + deadline_seconds
    with ThreadPoolExecutor(4) as pool:
        jobs = (
            [pool.submit(publish, a) for a in publications]
            + [pool.submit(report, k) for k in run.reports]
            + [pool.submit(mail, subject, i % 2 == 0) for i, subject in enumerate(run.emails)]
        )
        pending = list(targets)

        def acknowledge_what_was_paged() -> bool:
            # From the outbox, as the person paged would: under faults GET /incidents (many reads) mostly fails.
            paged = [m for m in outbox(pipeline.api_url) if is_page(m)]
            pages = Counter(page_key(m)[0] for m in paged)
            refs = {
                identity(run, {"title": m["subject"].split(": ", 1)[1]}): page_key(m)[0]
                for m in paged
                if m.get("subject")
            }
            for subject in sorted(to_reply):  # once paged, its reply (twice: one note)
                reference = refs.get(("email", subject))
                if reference:
                    for _ in range(2):
                        send_mail(
                            pipeline,
                            f"Re: [firebell] {reference} triggered: {subject}",
                            f"{REPLY_TEXT}\n\n> paged",
                            f"<reply-{subject.replace(' ', '-')}@example.com>",
                            sender="bob@example.com",
                        )
                    run.replied.add(reference)
                    to_reply.discard(subject)
            late = time.monotonic() > deadline - 30  # never paged: acknowledge anyway, the run must end
            for target in list(pending):
                reference = refs.get(target)
                if reference is None and late:  # its incident was never opened: counted by incidents_created
                    pending.remove(target)
                elif reference and (pages[reference] or late):
                    status, _, _ = retrying("POST", f"{pipeline.api_url}/incidents/{reference}/acknowledge")
                    run.outcomes.append((f"acknowledge {reference}", status))
                    if (status is not None and status < 300) or status == 409:  # 409: an earlier attempt took effect
                        run.acked[reference] = sum(
                            1 for m in outbox(pipeline.api_url) if is_page(m) and page_key(m)[0] == reference
                        )
                    pending.remove(target)
            return not pending and (not to_reply or late)

        # The ones never sent show as fewer acknowledgements in the details.
        with contextlib.suppress(DemoFailed):
            wait_for("every acknowledgement sent", acknowledge_what_was_paged, deadline_seconds, interval=0.5)
        for job in jobs:
            job.result()


def send_mail(
    pipeline: Pipeline, subject: str, text: str, message_id: str, sender: str = "Alice Ops <alice@example.com>"
) -> None:
    """One email to the intake address, over SMTP to the runtime's listener (which is never faulted: it plays SES)."""
    message = EmailMessage()
    message["From"], message["To"], message["Subject"], message["Message-ID"] = sender, MAIL_TO, subject, message_id
    message.set_content(text)
    with smtplib.SMTP("127.0.0.1", pipeline.smtp_port, timeout=30) as smtp:
        smtp.send_message(message)


def identity(run: Run, incident: dict[str, Any]) -> tuple[str, str] | None:
    """Which alarm, Idempotency-Key or email an incident came from (by its title: '<alarm name>: …', the report's,
    the email's subject)."""
    title = incident["title"]
    if title in run.emails:
        return "email", title
    name = title.split(":", 1)[0]
    if name.startswith("checkout-fault-"):
        return "alarm", name
    for key, body in run.reports.items():
        if body["title"] == title:
            return "report", key
    return None


def wait_until_quiet(pipeline: Pipeline, seconds: float) -> bool:
    """Source queues and the transactional outbox empty (nothing in flight either), and nothing new in the
    outbox of sent messages or the DLQs for 3 s."""
    sqs = local_aws_client("sqs", pipeline.aws_url)
    queues = [pipeline.resources[f"queue_url:{q.name}"] for q in TOPOLOGY.queues]
    dlqs = [pipeline.resources[f"queue_url:{TOPOLOGY.dlq_name(q.name)}"] for q in TOPOLOGY.queues]
    names = [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
    ]
    last: dict[str, Any] = {"fingerprint": None, "since": time.monotonic()}

    def depth(url: str) -> int:
        return sum(int(v) for v in sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"].values())

    dynamodb = local_aws_client("dynamodb", pipeline.aws_url)

    def outbox_pending() -> int:
        """Effects committed and not yet carried out (the relay's index), read off DynamoDB itself."""
        return dynamodb.query(
            TableName=pipeline.resources["table:incidents"],
            IndexName="by-outbox",
            Select="COUNT",
            KeyConditionExpression="outbox = :p",
            ExpressionAttributeValues={":p": {"S": "pending"}},
        )["Count"]

    def quiet() -> bool:
        busy = sum(depth(u) for u in queues) + outbox_pending()
        fingerprint = (busy, len(outbox(pipeline.api_url)), sum(depth(u) for u in dlqs))
        if fingerprint != last["fingerprint"]:
            last.update(fingerprint=fingerprint, since=time.monotonic())
        return busy == 0 and time.monotonic() - last["since"] >= 3

    try:
        wait_for("the pipeline quiet", quiet, seconds, interval=0.5)
        return True
    except DemoFailed:
        return False


# --- the invariants -------------------------------------------------------------------------------


def dead_letters(pipeline: Pipeline) -> list[dict[str, Any]]:
    """Every DLQ message, read off SQS itself (so the local view is checked, not trusted): received and hidden
    for a minute, not deleted."""
    sqs = local_aws_client("sqs", pipeline.aws_url)
    found: list[dict[str, Any]] = []
    for queue in TOPOLOGY.queues:
        url = pipeline.resources[f"queue_url:{TOPOLOGY.dlq_name(queue.name)}"]
        while batch := sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
        ).get("Messages", []):
            found += [
                {"queue": queue.name, "reason": m.get("MessageAttributes", {}).get("reason", {}).get("StringValue")}
                for m in batch
            ]
    return found


def measure(pipeline: Pipeline, run: Run, quiet: bool, fault_rate: float) -> dict[str, Any]:
    faults = request("POST", f"{pipeline.api_url}/_local/faults", {"rate": 0})[1]  # measure through a healthy API
    incidents = list_incidents(pipeline.api_url)
    if incidents is None:
        raise RuntimeError("GET /incidents failed with faults off")
    mine: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for incident in incidents:
        mine[identity(run, incident)].append(incident)
    messages = each_page(outbox(pipeline.api_url))
    copies = Counter(page_key(m) for m in messages)
    paged = {page_key(m)[0] for m in messages if m["channel"] == "email" and page_key(m)[3] == "level 1"}
    pages_now = Counter(page_key(m)[0] for m in messages if is_page(m))

    occurrence_errors, timeline_missing, held, notes = [], [], Counter(), Counter()
    for alarm in run.alarms:
        found = mine.get(("alarm", alarm["AlarmName"]), [])
        expected = 1 + run.copies.get(alarm["AlarmName"], 0)
        if len(found) != 1 or found[0]["occurrences"] != expected:
            occurrence_errors.append((alarm["AlarmName"], expected, [i["occurrences"] for i in found]))
    for incident in incidents:
        status, timeline, _ = retrying("GET", f"{pipeline.api_url}/incidents/{incident['reference']}/timeline")
        kinds = {e["kind"] for e in timeline["items"]} if status == 200 else set()
        # SMS pages past the person's limit are held for a digest (its window outlasts a run): one hold per page
        holds = sum(1 for e in timeline["items"] if e["kind"] == "notification_held") if status == 200 else 0
        if holds:
            held[incident["reference"]] = holds
        if status == 200:
            notes[incident["reference"]] = sum(
                1 for e in timeline["items"] if e["kind"] == "note" and e["message"] == REPLY_TEXT
            )
        needed = {"opened", "classified"} | (
            {"acknowledged"} if incident.get("acknowledged_at") or incident["reference"] in run.acked else set()
        )
        timeline_missing += [(incident["reference"], kind) for kind in sorted(needed - kinds)]
    shown = request("GET", f"{pipeline.api_url}/_local/dead-letters")[1]  # before dead_letters() hides them
    letters = dead_letters(pipeline)
    unpaged = [i["reference"] for i in incidents if not (i.get("priority") and i["reference"] in paged)]
    failed_requests = [(what, status) for what, status in run.outcomes if status is None or status >= 500]
    return {
        "fault_rate": fault_rate,
        "seed": run.seed,
        "faults_injected": faults["faults_injected"],
        "incidents_expected": run.load.incidents_expected,
        "incidents_created": len(incidents),
        "incidents_unpaged": len(unpaged),
        # (a page's SMS held twice, or held and also sent, is a duplicate too)
        "duplicate_pages": sum(n - 1 for n in copies.values())
        + sum(n - 1 for n in held.values() if n > 1)
        + sum(1 for ref in held if any(k[0] == ref and k[2] == "sms" for k in copies)),
        "occurrence_count_errors": len(occurrence_errors),
        "missing_timeline_entries": len(timeline_missing),
        "dead_letters_without_reason": sum(1 for d in letters if not d["reason"]),
        "acked_then_paged": sum(max(0, pages_now[ref] - before) for ref, before in run.acked.items()),
        "http_5xx_after_retries": len(failed_requests),
        "email_replies_not_noted_once": sum(1 for ref in run.replied if notes[ref] != 1)
        + sum(1 for ref, n in notes.items() if n and ref not in run.replied),
        "details": {
            "quiet_before_deadline": quiet,
            "runtime_log": pipeline.log_path,  # kept: what the handlers logged, to explain a broken invariant
            "alarms_without_an_incident_names": [
                a["AlarmName"] for a in run.alarms if not mine.get(("alarm", a["AlarmName"]))
            ][:20],
            "faults": faults,
            "alarms_without_an_incident": sum(1 for a in run.alarms if not mine.get(("alarm", a["AlarmName"]))),
            "alarms_with_several_incidents": sum(
                1 for a in run.alarms if len(mine.get(("alarm", a["AlarmName"]), [])) > 1
            ),
            "keys_with_several_incidents": sum(1 for k in run.reports if len(mine.get(("report", k), [])) > 1),
            "keys_without_an_incident": sum(1 for k in run.reports if not mine.get(("report", k))),
            "emails_with_several_incidents": sum(1 for e in run.emails if len(mine.get(("email", e), [])) > 1),
            "emails_without_an_incident": sum(1 for e in run.emails if not mine.get(("email", e))),
            "email_replies_sent": len(run.replied),
            "duplicate_emails": sum(n - 1 for k, n in copies.items() if k[2] == "email"),
            "duplicate_sms": sum(n - 1 for k, n in copies.items() if k[2] == "sms"),
            "messages_in_outbox": len(messages),
            "sms_held_for_digests": sum(held.values()),
            "unpaged": unpaged[:20],
            "occurrence_errors": occurrence_errors[:20],
            "missing_timeline": timeline_missing[:20],
            "dead_letters": dict(Counter(d["queue"] for d in letters)),
            "dead_letters_shown_by_local_view": shown["total"],
            "dead_letter_reasons": dict(Counter((d["reason"] or "(none)")[:80] for d in letters).most_common(8)),
            "acknowledged": len(run.acked),
            "requests_failed_after_retries": failed_requests[:20],
            "final_http_statuses": dict(Counter(str(s) for _, s in run.outcomes)),
        },
    }


def run_load(fault_rate: float, seed: int, load: Load, deadline_seconds: float = 600) -> dict[str, Any]:
    """One run on a fresh runtime: drive the load, wait until quiet (bounded), measure every invariant."""
    run = make_run(load, seed)
    receiver, teams, slack = WebhookReceiver(), WebhookReceiver(), slack_stand_in(seed, misbehaving=fault_rate > 0)
    try:
        with local_runtime(fault_rate, seed, slack=slack) as pipeline:
            set_up(lambda path, body: retrying("PUT", f"{pipeline.api_url}{path}", body)[:2], receiver, teams)
            started = time.monotonic()
            drive(pipeline, run, deadline_seconds / 2)
            quiet = wait_until_quiet(pipeline, max(30.0, deadline_seconds - (time.monotonic() - started)))
            result = measure(pipeline, run, quiet, fault_rate)
            incidents = list_incidents(pipeline.api_url) or []
            for invariants, details in (
                webhook_invariants(receiver, incidents),
                chat_invariants(slack, teams, incidents),
            ):
                result.update(invariants)
                result["details"].update(details)
            result["details"]["seconds"] = round(time.monotonic() - started, 1)
            return result
    finally:
        for stand_in in (receiver, teams, slack):
            stand_in.close()
