"""How long until the first page: a CloudWatch alarm published to the alarms topic, and an incident reported with
POST /incidents, each until its first email or SMS left, on the local runtime (issue 10).

What runs: `python -m infra.local --no-demo` (no faults) in its own process, as `make run` starts it, a fresh one
for each path (one path's incidents and their timers are not the other's load). One alarm a second
(`--interval`), each with a name of its own (a real-format notification, events/cloudwatch/); in the next
runtime as many reports, one a second. A path's latency is from the moment this process published (or sent the request)
to the `at` of the incident's first `notification_sent` timeline entry: the runtime writes it when SES or SNS
accepted the message. Both clocks are this machine's. The hops come from the same timeline:

  publish → opened (SNS, the intake queue, intake) → classified → paged → notification_sent (the email or SMS
  delivered)

Since issue 10 an incident is opened, classified and its level 1 paged in one change (one timestamp: those
hops read 0), and the first page is the first effect carried out after that commit; before it, classify and
then the escalation workflow and notify each were a hop of their own.

Percentiles over all samples (`statistics.quantiles`, inclusive); the run's machine, Python and commit go with
them. Compare runs on one machine; a shared machine's load shows in p99 first.

    .venv/bin/python -m bench.latency [--alarms 100 --reports 100 --interval 1.0 --out FOLDER --save]
        → bench/results/local/ (--save: bench/results/) latency.json and latency.md
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench import output
from bench.faults_load import local_runtime, request
from infra.local.demo import local_aws_client, wait_for
from infra.topology import ROOT

ALARM = ROOT / "events" / "cloudwatch" / "alarm-state-alarm.json"
TIME_SCALE = 10.0  # level 1 waits 50 min: nothing but the first page happens during a run
HOPS = ("opened", "classified", "paged", "notification_sent")


def percentiles(values: list[float]) -> dict[str, float]:
    if len(values) < 2:
        only = round(values[0], 1) if values else float("nan")
        return {"p50_ms": only, "p90_ms": only, "p99_ms": only}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50_ms": round(cuts[49], 1), "p90_ms": round(cuts[89], 1), "p99_ms": round(cuts[98], 1)}


def first_times(timeline: list[dict[str, Any]]) -> dict[str, float]:
    """Each hop's first timeline entry, as epoch seconds."""
    found: dict[str, float] = {}
    for entry in timeline:
        if entry["kind"] in HOPS and entry["kind"] not in found:
            found[entry["kind"]] = datetime.fromisoformat(entry["at"]).timestamp()
    return found


def breakdown(started: dict[str, float], timelines: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """`started`: reference → when it was sent; the path's percentiles and each hop's."""
    totals: list[float] = []
    hops: dict[str, list[float]] = {f"{a} → {b}": [] for a, b in zip(("sent", *HOPS), HOPS, strict=False)}
    missing = []
    for reference, sent_at in started.items():
        times = first_times(timelines.get(reference, []))
        if "notification_sent" not in times:
            missing.append(reference)
            continue
        totals.append((times["notification_sent"] - sent_at) * 1000)
        previous = sent_at
        for (_name, samples), hop in zip(hops.items(), HOPS, strict=True):
            if hop in times:
                samples.append((times[hop] - previous) * 1000)
                previous = times[hop]
    return {
        **percentiles(totals),
        "n": len(totals),
        "unpaged": missing,
        "hops": {name: {**percentiles(samples), "n": len(samples)} for name, samples in hops.items()},
    }


def publish_alarms(pipeline: Any, count: int, interval: float, run: str) -> dict[str, float]:
    """alarm name → when it was published."""
    template = json.loads(ALARM.read_text())
    sns = local_aws_client("sns", pipeline.aws_url)
    topic = next(arn for arn in (t["TopicArn"] for t in sns.list_topics()["Topics"]) if arn.endswith("alarms"))
    sent: dict[str, float] = {}
    for i in range(count):
        name = f"checkout-latency-{run}-{i:03d}"
        alarm = {**template, "AlarmName": name, "AlarmArn": template["AlarmArn"].replace(template["AlarmName"], name)}
        began = time.monotonic()
        sent[name] = time.time()
        sns.publish(TopicArn=topic, Subject=f'ALARM: "{name}" in US East (N. Virginia)', Message=json.dumps(alarm))
        time.sleep(max(0.0, interval - (time.monotonic() - began)))  # the pace of the load, not a synchronisation
    return sent


def send_reports(pipeline: Any, count: int, interval: float, run: str) -> dict[str, float]:
    """reference → when its POST /incidents was sent."""
    sent: dict[str, float] = {}
    for i in range(count):
        began = time.monotonic()
        at = time.time()
        status, incident = request(
            "POST",
            f"{pipeline.api_url}/incidents",
            {"title": f"Checkout fails ({run} {i:03d})", "service": "checkout", "impact": "high", "urgency": "medium"},
        )
        if status != 201:
            raise RuntimeError(f"POST /incidents answered {status}: {incident}")
        sent[incident["reference"]] = at
        time.sleep(max(0.0, interval - (time.monotonic() - began)))
    return sent


def every_incident(api_url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = f"?limit=100{f'&cursor={cursor}' if cursor else ''}"
        status, page = request("GET", f"{api_url}/incidents{query}")
        if status != 200:
            raise RuntimeError(f"GET /incidents answered {status}: {page}")
        items += page["items"]
        cursor = page.get("cursor")
        if not cursor:
            return items


def timelines_once_paged(api_url: str, references: list[str], timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Each incident's timeline, once every one has its first page (or `timeout` passed)."""
    timelines: dict[str, list[dict[str, Any]]] = {}

    def all_paged() -> bool:
        for reference in references:
            if any(e["kind"] == "notification_sent" for e in timelines.get(reference, [])):
                continue
            status, timeline = request("GET", f"{api_url}/incidents/{reference}/timeline")
            if status == 200:
                timelines[reference] = timeline["items"]
        return all(any(e["kind"] == "notification_sent" for e in timelines.get(r, [])) for r in references)

    with contextlib.suppress(AssertionError):  # reported as `unpaged`
        wait_for("every incident paged", all_paged, timeout, interval=0.5)
    return timelines


def commit() -> str:
    """HEAD, marked `+changes` when the working tree differs from it (the numbers are then of code no commit has)."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        changed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head}+changes" if changed else head


def markdown(result: dict[str, Any]) -> str:
    lines = [
        f"# Time to the first page (bench/latency.py, {result['date']}, commit {result['commit']})",
        "",
        f"{result['machine']}; local runtime, one every {result['interval_s']} s; `.venv/bin/python -m bench.latency`.",
        "",
        "| path | n | p50 ms | p90 ms | p99 ms | unpaged |",
        "|---|---|---|---|---|---|",
    ]
    for name, path in result["paths"].items():
        lines.append(
            f"| {name} | {path['n']} | {path['p50_ms']} | {path['p90_ms']} | {path['p99_ms']} | {len(path['unpaged'])} |"
        )
    for name, path in result["paths"].items():
        lines += ["", f"## {name}: each hop", "", "| hop | p50 ms | p90 ms | p99 ms |", "|---|---|---|---|"]
        lines += [f"| {hop} | {h['p50_ms']} | {h['p90_ms']} | {h['p99_ms']} |" for hop, h in path["hops"].items()]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--reports", type=int, default=100)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between two alarms (or reports)")
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    run = uuid.uuid4().hex[:6]
    paths: dict[str, Any] = {}
    if args.alarms:
        with local_runtime(0.0, 0, TIME_SCALE) as pipeline:
            published = publish_alarms(pipeline, args.alarms, args.interval, run)
            by_name = wait_for(
                f"{args.alarms} incidents opened",
                lambda: (
                    found
                    if len(
                        found := {
                            i["alarm"]["name"]: i["reference"]
                            for i in every_incident(pipeline.api_url)
                            if (i.get("alarm") or {}).get("name") in published
                        }
                    )
                    == len(published)
                    else None
                ),
                120,
                interval=1,
            )
            started = {by_name[name]: at for name, at in published.items()}
            paths["alarm → first page"] = breakdown(started, timelines_once_paged(pipeline.api_url, list(started), 120))
    if args.reports:
        with local_runtime(0.0, 0, TIME_SCALE) as pipeline:
            started = send_reports(pipeline, args.reports, args.interval, run)
            paths["POST /incidents → first page"] = breakdown(
                started, timelines_once_paged(pipeline.api_url, list(started), 120)
            )
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit(),
        "interval_s": args.interval,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "paths": paths,
    }
    output.write(output.chosen(args.out, args.save), "latency", result, markdown(result))
    print(markdown(result))
    return 1 if any(path["unpaged"] for path in paths.values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
