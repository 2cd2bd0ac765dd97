"""Alarm storm: many copies of one alarm plus many distinct alarms, concurrently, through the real intake path.

What runs: moto's server on a free 127.0.0.1 port is the AWS endpoint; the real topology is rendered onto it
(infra/local/render.py); `--workers` threads (at least 16 by default) each hold their own intake "container"
(infra.local.lambdas.LocalFunction) and invoke the intake handler in-process with SQS Lambda events of 10
records, exactly as Lambda's event source mapping would hand them over. Every record is a real-format SNS
envelope (taken from what moto's SNS actually delivers to the intake queue) around a real-format CloudWatch
alarm notification (events/cloudwatch/alarm-state-alarm.json): `--duplicates` copies of one alarm ARN and
`--distinct` other ARNs, shuffled. The handlers talk to DynamoDB and SNS over HTTP.

Then, in the same run and against the same server, as many conditional UpdateItems of the dedup pointer's shape
(if_not_exists + ADD a counter, with a condition) are sent with plain boto3 from the same number of threads, as
the baseline: one bare write per alarm. The ratio between the two rates is what firebell (parsing, validation,
powertools, the service, the writes that opening an incident takes, less what counting a batch's copies of an
alarm in one write saves) costs against that. moto's server runs in a process of its own by default (`--moto
thread` puts it in a thread of this one), so the CPU time of each process, per alarm and per raw update, shows
which side costs what.

Measured and checked:
- incidents created (scanned from the table; must be distinct + 1) and the reference counter (no gaps);
- the stormed alarm's occurrence count as the API reports it (must equal --duplicates), every other alarm's
  dedup pointer exactly 1;
- each incident's "opened" timeline line, scanned from the table: one per incident, none twice;
- DynamoDB write calls (PutItem, UpdateItem, DeleteItem, BatchWriteItem, TransactWriteItems, counted at
  botocore's `BaseClient._make_api_call`, conditional failures included) charged to each unit of intake's work
  (bench/storm_ledger.py: a group of one alarm's copies in a batch, or one alarm in code without groups), split
  by what intake did (opened / deduplicated), so "writes per duplicate alarm" is measured, not derived;
- alarms/s through intake, raw conditional updates/s, and their ratio.

moto executes a DynamoDB request in several Python steps (read the item, check the condition, write it back)
without a lock, so concurrent requests to one item lose updates and two conditional "creates" can both
succeed; DynamoDB itself applies each single-item write atomically. The bench therefore serialises moto's
DynamoDB request handling with one lock (bench/storm_endpoint.py), for the intake phase and the baseline
alike; without it even the baseline's plain counter loses increments.

    .venv/bin/python -m bench.storm [--duplicates 10000 --distinct 1000 --workers 16 --moto process --seed 7]
                                    [--before earlier/storm.json] [--code "what code, if not HEAD"]
        → bench/results/local/ (--save: bench/results/) storm.json, bench/results/storm.md; exit status 1 if a check fails
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import queue
import random
import statistics
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import output

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layers" / "common" / "python"
for _path in (str(ROOT), str(LAYER)):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from bench.storm_endpoint import MotoEndpoint, cpu_ms_per  # noqa: E402 (after the paths they need)
from bench.storm_ledger import AlarmLedger, DynamoCalls, reads, writes  # noqa: E402
from bench.storm_report import machine, markdown, summary_of  # noqa: E402

REGION = "us-east-1"
BATCH_SIZE = 10  # the intake trigger's batch size (infra/topology.py)
STORM_EVENT = ROOT / "events" / "cloudwatch" / "alarm-state-alarm.json"


# --- the environment ------------------------------------------------------------------------------


def configure_process(aws_url: str, port: int) -> None:
    from infra.local.runtime import configure_local_process  # imports moto's world: not at module import

    configure_local_process(aws_url, port)
    os.environ["LOG_LEVEL"] = "WARNING"
    # 16 threads share pynamodb's and botocore's pools of 10 connections; the overflow is reopened, not an error.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)


# --- the alarms -----------------------------------------------------------------------------------


def sns_envelope_template(resources: dict[tuple[str, str], str]) -> dict[str, Any]:
    """What SNS really delivers to the intake queue (no raw delivery): publish one alarm, read it back."""
    import boto3

    sns, sqs = boto3.client("sns", region_name=REGION), boto3.client("sqs", region_name=REGION)
    sns.publish(
        TopicArn=resources[("topic", "alarms")], Message=STORM_EVENT.read_text(), Subject='ALARM: "checkout-5xx-rate"'
    )
    url = resources[("queue_url", "intake")]
    for _ in range(50):
        messages = sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=1, AttributeNames=["All"], WaitTimeSeconds=1
        ).get("Messages", [])
        if messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
            return {"envelope": json.loads(messages[0]["Body"]), "attributes": messages[0].get("Attributes", {})}
    raise RuntimeError("the alarm published to the alarms topic never reached the intake queue")


def alarm_message(alarm: dict[str, Any], template: dict[str, Any], sent_ms: int) -> dict[str, Any]:
    """One SQS message (as ReceiveMessage returns it) carrying `alarm` in SNS's envelope."""
    envelope = dict(template["envelope"])
    envelope.update(
        MessageId=str(uuid.uuid4()),
        Subject=f'ALARM: "{alarm["AlarmName"]}" in {alarm["Region"]}',
        Message=json.dumps(alarm),
        Timestamp=datetime.fromtimestamp(sent_ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    )
    attributes = dict(template["attributes"])
    attributes.update(
        ApproximateReceiveCount="1", SentTimestamp=str(sent_ms), ApproximateFirstReceiveTimestamp=str(sent_ms)
    )
    return {
        "MessageId": str(uuid.uuid4()),
        "ReceiptHandle": uuid.uuid4().hex,
        "Body": json.dumps(envelope),
        "Attributes": attributes,
        "MessageAttributes": {},
    }


def storm_alarms(duplicates: int, distinct: int, seed: int) -> tuple[str, list[dict[str, Any]]]:
    """`duplicates` copies of the sample alarm and `distinct` alarms of their own, shuffled."""
    storm = json.loads(STORM_EVENT.read_text())
    alarms = [storm] * duplicates
    prefix = storm["AlarmArn"].rsplit(":", 1)[0]
    for i in range(distinct):
        other = dict(storm)
        other["AlarmName"] = name = f"bench-distinct-{i:05d}"
        other["AlarmArn"] = f"{prefix}:{name}"
        other["AlarmDescription"] = f"Distinct alarm {i} of the storm benchmark"
        alarms.append(other)
    random.Random(seed).shuffle(alarms)
    return storm["AlarmArn"], alarms


# --- phases ---------------------------------------------------------------------------------------


def run_intake(events: list[dict[str, Any]], workers: int, cpu_seconds: Any) -> dict[str, Any]:
    """`workers` threads, one intake container each, take SQS events off a shared queue and invoke intake.

    A record intake reports as failed comes back with its receive count raised, as SQS would redeliver it.
    """
    from infra.local.lambdas import LocalFunction
    from infra.topology import TOPOLOGY

    spec = TOPOLOGY.function("intake")
    max_receives = TOPOLOGY.queue("intake").max_receive_count  # a record failing this often is dead-lettered by intake
    work: queue.Queue[dict[str, Any] | None] = queue.Queue()
    for event in events:
        work.put(event)
    latencies: list[float] = []
    redelivered = Counter()
    errors: list[str] = []
    lock = threading.Lock()
    pending = [len(events)]
    done = threading.Event()
    start = threading.Barrier(workers + 1)

    def finish_one() -> None:
        with lock:
            pending[0] -= 1
            if pending[0] == 0:
                done.set()

    def worker() -> None:
        function = LocalFunction(spec)  # one Lambda instance per worker
        start.wait()
        while not done.is_set():
            try:
                event = work.get(timeout=0.1)
            except queue.Empty:
                continue
            try:
                began = time.perf_counter()
                try:
                    response = function.invoke(event) or {}
                except Exception as error:  # the whole batch failed: SQS would deliver all of it again
                    with lock:
                        errors.append(f"{type(error).__name__}: {error}")
                    response = {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]}
                with lock:
                    latencies.append(time.perf_counter() - began)
                failed = {f["itemIdentifier"] for f in response.get("batchItemFailures", [])}
                retry = [
                    {
                        **r,
                        "attributes": {
                            **r["attributes"],
                            "ApproximateReceiveCount": str(int(r["attributes"]["ApproximateReceiveCount"]) + 1),
                        },
                    }
                    for r in event["Records"]
                    if r["messageId"] in failed and int(r["attributes"]["ApproximateReceiveCount"]) < max_receives
                ]
                if retry:
                    with lock:
                        redelivered[len(retry)] += 1
                        pending[0] += 1
                    work.put({"Records": retry})
            finally:  # even if handling the response broke, so the run ends
                finish_one()

    threads = [threading.Thread(target=worker, name=f"intake-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    start.wait()
    began, cpu_began = time.perf_counter(), cpu_seconds()
    done.wait()
    elapsed, cpu_ended = time.perf_counter() - began, cpu_seconds()
    for thread in threads:
        thread.join(timeout=10)
    ordered = sorted(latencies)
    return {
        "seconds": elapsed,
        "cpu_ms_per_alarm": cpu_ms_per(cpu_began, cpu_ended, sum(len(e["Records"]) for e in events)),
        "invocations": len(latencies),
        "redelivered_records": sum(k * v for k, v in redelivered.items()),
        "invocation_errors": errors[:10],
        "invocation_ms": {
            "median": round(statistics.median(ordered) * 1000, 1),
            "p95": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1),
            "max": round(ordered[-1] * 1000, 1),
        },
    }


def run_raw_updates(keys: list[str], workers: int, cpu_seconds: Any) -> dict[str, Any]:
    """The baseline: the same kind of conditional UpdateItem, plain boto3, `workers` threads, same server."""
    import boto3

    dynamodb = boto3.client("dynamodb", region_name=REGION)
    table = "bench-raw-conditional-updates"
    dynamodb.create_table(
        TableName=table,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
    )
    work: queue.Queue[str] = queue.Queue()
    for key in keys:
        work.put(key)
    start = threading.Barrier(workers + 1)
    failures: list[str] = []

    def worker() -> None:
        client = boto3.session.Session().client("dynamodb", region_name=REGION)  # clients are made per thread
        start.wait()
        while True:
            try:
                key = work.get_nowait()
            except queue.Empty:
                return
            now = datetime.now(UTC).isoformat()
            try:
                # The dedup pointer's counting update (data/dedup_store.py), plus a condition that holds: the write DynamoDB must check.
                client.update_item(
                    TableName=table,
                    Key={"pk": {"S": f"DEDUP#{key}"}, "sk": {"S": "DEDUP"}},
                    UpdateExpression="SET incident_id = if_not_exists(incident_id, :candidate), "
                    "first_seen = if_not_exists(first_seen, :now), last_seen = :now ADD occurrences :one",
                    ConditionExpression="attribute_not_exists(resolved_at)",
                    ExpressionAttributeValues={
                        ":candidate": {"S": uuid.uuid4().hex},
                        ":now": {"S": now},
                        ":one": {"N": "1"},
                    },
                    ReturnValues="ALL_NEW",
                )
            except Exception as error:
                failures.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=worker, name=f"raw-{i}", daemon=True) for i in range(workers)]
    for thread in threads:
        thread.start()
    start.wait()
    began, cpu_began = time.perf_counter(), cpu_seconds()
    for thread in threads:
        thread.join()
    elapsed, cpu_ended = time.perf_counter() - began, cpu_seconds()
    hot = Counter(keys).most_common(1)[0]
    item = dynamodb.get_item(
        TableName=table, Key={"pk": {"S": f"DEDUP#{hot[0]}"}, "sk": {"S": "DEDUP"}}, ConsistentRead=True
    )
    return {
        "updates": len(keys),
        "seconds": elapsed,
        "cpu_ms_per_update": cpu_ms_per(cpu_began, cpu_ended, len(keys)),
        "failures": failures[:10],
        "hot_key_expected": hot[1],
        "hot_key_counted": int(item["Item"]["occurrences"]["N"]),
    }


# --- checks ---------------------------------------------------------------------------------------


def scan_all(table: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
    import boto3

    paginator = boto3.client("dynamodb", region_name=REGION).get_paginator("scan")
    for page in paginator.paginate(TableName=table, ConsistentRead=True, **kwargs):
        yield from page["Items"]


def api_get(path: str) -> tuple[int, Any]:
    """GET through the real api handler, as API Gateway would call it for a SigV4-signed script (an IAM principal)."""
    from infra.local.http_api import LOCAL_IAM_USER_ARN, proxy_event
    from infra.local.lambdas import LocalFunction
    from infra.topology import TOPOLOGY

    event = proxy_event("GET", path, {"Accept": "application/json"}, b"", "198.51.100.7")
    event["requestContext"]["identity"]["userArn"] = LOCAL_IAM_USER_ARN
    response = LocalFunction(TOPOLOGY.function("api")).invoke(event)
    return response["statusCode"], json.loads(response["body"]) if response.get("body") else None


def dead_letter_counts(resources: dict[tuple[str, str], str]) -> dict[str, int]:
    """Messages in each DLQ, asked over the API (moto may be in another process: its queues can't be peeked)."""
    import boto3

    from infra.topology import TOPOLOGY

    sqs = boto3.client("sqs", region_name=REGION)
    counts = {}
    for spec in TOPOLOGY.queues:
        name = TOPOLOGY.dlq_name(spec.name)
        attributes = sqs.get_queue_attributes(QueueUrl=resources[("queue_url", name)], AttributeNames=["All"])[
            "Attributes"
        ]
        counts[name] = int(attributes["ApproximateNumberOfMessages"]) + int(
            attributes["ApproximateNumberOfMessagesNotVisible"]
        )
    return counts


def verify(resources: dict[tuple[str, str], str], storm_arn: str, duplicates: int, distinct: int) -> dict[str, Any]:
    items = list(scan_all(resources[("table", "incidents")]))
    incidents = [i for i in items if i["pk"]["S"].startswith("INCIDENT#") and i["sk"]["S"] == "INCIDENT"]
    # (the DEDUP# partitions also hold one marker per counted notification, MSG#<id>)
    pointers = {
        i["pk"]["S"].removeprefix("DEDUP#"): i
        for i in items
        if i["pk"]["S"].startswith("DEDUP#") and i["sk"]["S"] == "DEDUP"
    }
    counter = next((i for i in items if i["pk"]["S"] == "COUNTER#reference"), None)
    # Opened once: each incident's "opened" timeline lines, from the table (whatever carries the announcement on)
    opened = Counter(
        i["pk"]["S"]
        for i in items
        if i["sk"]["S"].startswith("TIMELINE#") and json.loads(i["document"]["S"]).get("kind") == "opened"
    )
    storm_pointer = pointers.get(storm_arn)
    storm_incident_id = storm_pointer["incident_id"]["S"] if storm_pointer else None
    storm_reference = next(
        (i["reference"]["S"] for i in incidents if i["pk"]["S"] == f"INCIDENT#{storm_incident_id}"), None
    )
    status, read = api_get(f"/incidents/{storm_reference}") if storm_reference else (None, None)
    others = Counter(int(p["occurrences"]["N"]) for arn, p in pointers.items() if arn != storm_arn)
    dead = dead_letter_counts(resources)
    return {
        "incidents_created": len(incidents),
        "incidents_expected": distinct + 1,
        "reference_counter": int(counter["value"]["N"]) if counter and "value" in counter else None,
        "storm_incident": storm_reference,
        "storm_occurrences_api": read.get("occurrences") if status == 200 and read else None,
        "storm_occurrences_expected": duplicates,
        "storm_occurrences_on_incident_item": next(
            (int(i["occurrences"]["N"]) for i in incidents if i["pk"]["S"] == f"INCIDENT#{storm_incident_id}"), None
        ),
        "distinct_alarm_occurrences": {str(k): v for k, v in sorted(others.items())},
        "dedup_pointers": len(pointers),
        "dedup_pointers_not_marked_created": sum(1 for p in pointers.values() if not p.get("created", {}).get("BOOL")),
        "notification_markers": sum(
            1 for i in items if i["pk"]["S"].startswith("DEDUP#") and i["sk"]["S"].startswith("MSG#")
        ),
        "incidents_with_opened_line": len(opened),
        "incidents_opened_more_than_once": sum(1 for n in opened.values() if n > 1),
        "dead_letters": dead,
    }


@contextmanager
def captured_stdout() -> Iterator[io.StringIO]:
    """powertools prints EMF metric lines every 100 values even with POWERTOOLS_METRICS_DISABLED (it only
    skips its per-invocation flush, so the set fills up); keep them off the terminal, and count them."""
    sink = io.StringIO()
    with redirect_stdout(sink):
        yield sink


# --- main -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--duplicates", type=int, default=10_000, help="copies of the one stormed alarm (default 10000)"
    )
    parser.add_argument("--distinct", type=int, default=1_000, help="alarms with their own ARN (default 1000)")
    parser.add_argument("--workers", type=int, default=16, help="concurrent intake containers (default 16)")
    parser.add_argument(
        "--moto",
        choices=("process", "thread"),
        default="process",
        help="moto's server in its own process (default) or in a thread of this one",
    )
    parser.add_argument("--seed", type=int, default=7, help="shuffle seed")
    output.add_arguments(parser)
    parser.add_argument("--before", type=Path, help="an earlier run's storm.json: its figures go beside this run's")
    parser.add_argument(
        "--code", help="what code this run measures, when not this checkout's HEAD (default: the commit)"
    )
    args = parser.parse_args(argv)
    if args.duplicates < 1 or args.distinct < 0 or args.workers < 1:
        parser.error("--duplicates ≥ 1, --distinct ≥ 0, --workers ≥ 1")

    endpoint = MotoEndpoint(args.moto)
    configure_process(endpoint.url, endpoint.port)

    from bench.latency import commit
    from firebell import wiring
    from infra.local.render import common_environment, render_topology, sqs_lambda_record
    from infra.topology import CONFIG_DIR, TOPOLOGY

    endpoint.start()
    calls = DynamoCalls()
    try:
        resources = render_topology(TOPOLOGY, CONFIG_DIR, "http://127.0.0.1:9/bench")
        os.environ.update(common_environment(CONFIG_DIR, 1.0))
        wiring.reset()

        storm_arn, alarms = storm_alarms(args.duplicates, args.distinct, args.seed)
        template = sns_envelope_template(resources)
        queue_arn = resources[("queue_arn", "intake")]
        sent_ms = int(time.time() * 1000)
        records = [sqs_lambda_record(alarm_message(a, template, sent_ms), queue_arn) for a in alarms]
        events = [{"Records": records[i : i + BATCH_SIZE]} for i in range(0, len(records), BATCH_SIZE)]

        ledger = AlarmLedger(calls, storm_arn)
        calls.install()
        ledger.install()
        try:
            print(
                f"intake: {len(alarms):,} alarms in {len(events):,} events, {args.workers} workers, moto in a {args.moto} …",
                flush=True,
            )
            before = calls.snapshot()
            with captured_stdout() as printed:
                intake = run_intake(events, args.workers, endpoint.cpu_seconds)
            during = calls.snapshot() - before
        finally:
            ledger.uninstall()
            calls.uninstall()
        intake["emf_lines_printed"] = sum(1 for line in printed.getvalue().splitlines() if '"_aws"' in line)
        print(f"  {intake['seconds']:.1f} s; checking …", flush=True)
        checks = verify(resources, storm_arn, args.duplicates, args.distinct)

        keys = [a["AlarmArn"] for a in alarms]
        print(f"baseline: {len(keys):,} conditional UpdateItems, {args.workers} threads …", flush=True)
        raw = run_raw_updates(keys, args.workers, endpoint.cpu_seconds)
        print(f"  {raw['seconds']:.1f} s", flush=True)
    finally:
        calls.uninstall()
        endpoint.stop()

    alarms_per_second = len(alarms) / intake["seconds"]
    raw_per_second = raw["updates"] / raw["seconds"]
    per_alarm = ledger.summary()
    storm_dup = next((r for r in per_alarm if r["alarms"] == "storm" and r["outcome"] == "deduplicated"), None)
    problems = []
    if checks["incidents_created"] != checks["incidents_expected"]:
        problems.append(f"{checks['incidents_created']} incidents, expected {checks['incidents_expected']}")
    if checks["storm_occurrences_api"] != args.duplicates:
        problems.append(
            f"{checks['storm_occurrences_api']} occurrences of the stormed alarm, expected {args.duplicates}"
        )
    if checks["distinct_alarm_occurrences"] != ({"1": args.distinct} if args.distinct else {}):
        problems.append(f"occurrences of the distinct alarms {checks['distinct_alarm_occurrences']}, expected 1 each")
    if (
        checks["incidents_with_opened_line"] != checks["incidents_expected"]
        or checks["incidents_opened_more_than_once"]
    ):
        problems.append(
            f"{checks['incidents_with_opened_line']} incidents with an opened line ({checks['incidents_opened_more_than_once']} "
            f"twice), expected {checks['incidents_expected']}"
        )
    if raw["failures"] or raw["hot_key_counted"] != raw["hot_key_expected"]:
        problems.append(
            f"baseline: {raw['hot_key_counted']} of {raw['hot_key_expected']} increments, failures {raw['failures'][:2]}"
        )
    result = {
        "benchmark": "alarm storm through intake",
        "code": args.code or commit(),  # the checkout's HEAD, "+changes" if the tree differs
        "command": f"python -m bench.storm --duplicates {args.duplicates} --distinct {args.distinct} --workers {args.workers} "
        f"--moto {args.moto} --seed {args.seed}",
        "config": {
            "duplicates": args.duplicates,
            "distinct": args.distinct,
            "alarms": len(alarms),
            "workers": args.workers,
            "batch_size": BATCH_SIZE,
            "events": len(events),
            "seed": args.seed,
            "moto": args.moto,
            "moto_dynamodb_serialised": True,
        },
        "checks": checks,
        "dynamodb": {
            "writes_per_duplicate_alarm": storm_dup["writes_per_alarm"] if storm_dup else None,
            "storm_writes_per_alarm": ledger.storm_writes_per_alarm(),
            "charged_per": ledger.unit,
            "writes_per_alarm_overall": round(writes(during) / len(alarms), 4),
            "reads_per_alarm_overall": round(reads(during) / len(alarms), 4),
            "intake_phase_by_operation": dict(sorted(during.items())),
            "per_alarm": per_alarm,
        },
        "throughput": {
            "intake_seconds": round(intake["seconds"], 3),
            "alarms_per_second": round(alarms_per_second, 1),
            "raw_seconds": round(raw["seconds"], 3),
            "raw_updates": raw["updates"],
            "raw_updates_per_second": round(raw_per_second, 1),
            "ratio": round(alarms_per_second / raw_per_second, 4),
            "overhead_factor": round(raw_per_second / alarms_per_second, 2),
            "cpu_ms_per_alarm": intake["cpu_ms_per_alarm"],
            "cpu_ms_per_raw_update": raw["cpu_ms_per_update"],
            "invocations": intake["invocations"],
            "invocation_ms": intake["invocation_ms"],
            "redelivered_records": intake["redelivered_records"],
            "invocation_errors": intake["invocation_errors"],
            "emf_lines_printed_with_metrics_disabled": intake["emf_lines_printed"],
            "raw_hot_key": {"expected": raw["hot_key_expected"], "counted": raw["hot_key_counted"]},
        },
        "passed": not problems,
        "problems": problems,
        "machine": machine(),
    }
    if args.before:
        result["before"] = summary_of(json.loads(args.before.read_text()))
    output.write(output.chosen(args.out, args.save), "storm", result, markdown(result))
    print(
        f"incidents {checks['incidents_created']:,} (expected {checks['incidents_expected']:,}); "
        f"occurrences {checks['storm_occurrences_api']} (expected {args.duplicates:,}); "
        f"opened lines {checks['incidents_with_opened_line']:,}; "
        f"writes/duplicate {result['dynamodb']['writes_per_duplicate_alarm']}; "
        f"{alarms_per_second:,.1f} alarms/s vs {raw_per_second:,.1f} raw updates/s (ratio {result['throughput']['ratio']:.3f})"
    )
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
