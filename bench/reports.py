"""A year's report over 1k, 5k and 20k incidents (`python -m bench.reports [--sizes 1000 5000 20000]`).

Each size: a fresh table on moto's in-process DynamoDB holding that many closed incidents' facts items (as the
closing change writes them, data/store.py), spread over the year, each with what a P2 carries (a page to level 1
by email and SMS, often level 2, resolution notices); then `ReportService.report` for the year, timed apart:
the months' queries (reading the items) and the computation (domain/reports.py), median of 3. Moto's query is
slower than DynamoDB's, so the ratios between sizes are the finding, not the milliseconds. Results:
bench/results/local/reports.{json,md} (--save: bench/results/).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from moto import mock_aws

from bench import output
from bench.lambda_like import run_facts
from firebell.config import load_config
from firebell.data.items import facts_key
from firebell.data.records import FactsRecord
from firebell.data.store import DynamoIncidentStore
from firebell.domain.facts import IncidentFacts, Notice
from firebell.domain.reports import ReportFilter, build_report
from firebell.report_service import ReportService
from infra.local.render import REGION, create_table
from infra.topology import CONFIG_DIR, TOPOLOGY

YEAR = ReportFilter(start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC))
ALERTS = [f"alarm-{n}" for n in range(60)]


def synthetic_facts(n: int, rng: random.Random) -> IncidentFacts:
    opened = YEAR.start + timedelta(seconds=rng.uniform(0, (YEAR.end - YEAR.start).total_seconds() - 86400))
    acked = opened + timedelta(seconds=rng.lognormvariate(5, 1))
    resolved = acked + timedelta(seconds=rng.lognormvariate(7.5, 1))
    escalated = rng.random() < 0.3
    notices = [
        Notice(person="alice", at=opened, channel="email", paging=True),
        Notice(person="alice", at=opened, channel="sms", paging=True),
    ]
    if escalated:
        later = opened + timedelta(minutes=5)
        notices += [
            Notice(person="bob", at=later, channel="email", paging=True),
            Notice(person="bob", at=later, channel="sms", paging=True),
        ]
    notices += [Notice(person=p, at=resolved, channel="email", paging=False) for p in ("dave", "erin")]
    return IncidentFacts(
        incident_id=f"01BENCH{n:019d}",
        reference=f"INC-{n}",
        title=f"{rng.choice(ALERTS)} in ALARM",
        opened_at=opened,
        source="cloudwatch_alarm",
        team=rng.choice(["platform", "payments", "data"]),
        service=rng.choice(["checkout", "search", "billing", "ingest"]),
        priority=rng.choice(["P1", "P2", "P2", "P3", "P3", "P4"]),
        category="availability",
        alert=rng.choice(ALERTS),
        first_page_at=opened,
        acknowledged_at=acked,
        acknowledged_by="bob" if escalated else "alice",
        resolved_at=resolved,
        closed_at=resolved + timedelta(hours=1),
        auto_resolved=rng.random() < 0.4,
        occurrences=rng.randint(1, 40),
        response_due_at=opened + timedelta(minutes=30),
        resolution_due_at=opened + timedelta(hours=8),
        response_breached=(acked - opened) > timedelta(minutes=30),
        resolution_breached=(resolved - opened) > timedelta(hours=8),
        escalated_by_timeout=int(escalated),
        notices=notices,
    )


def measure(size: int, rounds: int) -> dict[str, Any]:
    rng = random.Random(size)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        table = create_table(client, TOPOLOGY.tables[0])
        store = DynamoIncidentStore(table, REGION)
        items = [synthetic_facts(n, rng) for n in range(size)]
        with FactsRecord.batch_write() as batch:
            for facts in items:
                batch.save(
                    FactsRecord(*facts_key(facts.opened_at, facts.incident_id), packed=facts.model_dump(mode="json"))
                )
        stored_bytes = sum(
            len(
                FactsRecord(*facts_key(f.opened_at, f.incident_id), packed=f.model_dump(mode="json")).serialize()[
                    "packed"
                ]["B"]
            )
            for f in items[:200]
        ) / min(200, size)
        config = load_config(CONFIG_DIR)
        service = ReportService(store, lambda: config, lambda: YEAR.end)
        query_ms, compute_ms, total_ms = [], [], []
        for _ in range(rounds):
            began = time.perf_counter()
            found = store.facts_between(YEAR.start, YEAR.end)
            read = time.perf_counter()
            report = build_report(found, YEAR, config.directory)
            done = time.perf_counter()
            query_ms.append((read - began) * 1000)
            compute_ms.append((done - read) * 1000)
            began = time.perf_counter()
            whole = service.report(YEAR)
            total_ms.append((time.perf_counter() - began) * 1000)
        assert report.incidents == whole.incidents == size, (report.incidents, size)
    return {
        "incidents": size,
        "items_read": len(found),
        "bytes_per_item": round(stored_bytes),
        "read_units_eventually_consistent": round(size * stored_bytes / 4096 / 2, 1),
        "query_ms": round(statistics.median(query_ms), 1),
        "compute_ms": round(statistics.median(compute_ms), 1),
        "report_ms": round(statistics.median(total_ms), 1),
    }


def markdown(result: dict[str, Any]) -> str:
    rows = result["sizes"]
    first = rows[0]
    lines = [
        f"# A year's report (bench/reports.py, {result['date']}, commit {result['commit']})",
        "",
        f"`{result['command']}` on {result['machine']}: a fresh table on moto's in-process DynamoDB per size, closed "
        "incidents' facts items spread over 2026, `ReportService.report` for the year (median of "
        f"{result['rounds']}). Ratios to the smallest size are the finding; moto's query is slower than DynamoDB's.",
        "",
        "| incidents | items read | bytes per item | read units (eventually consistent) | months' queries ms | computation ms | report ms | × the smallest |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['incidents']:,} | {row['items_read']:,} | {row['bytes_per_item']} | {row['read_units_eventually_consistent']:,} | "
            f"{row['query_ms']:,} | {row['compute_ms']:,} | {row['report_ms']:,} | {row['report_ms'] / first['report_ms']:.1f} |"
        )
    per_incident = ", ".join(f"{row['report_ms'] / row['incidents']:.3f}" for row in rows)
    lines += [
        "",
        f"Report ms per incident of the period, by size: {per_incident}. It reads one small item per incident of the "
        "period (a query per month) and nothing of their timelines or of the history outside the period.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--rounds", type=int, default=3)
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        __import__("os").environ.setdefault(name, value)
    result = {
        **run_facts("reports", argv),
        "rounds": args.rounds,
        "sizes": [measure(size, args.rounds) for size in args.sizes],
    }
    folder = output.chosen(args.out, args.save)
    text = markdown(result)
    output.write(folder, "reports", result, text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
