"""What one incident costs in AWS, counted call by call on the local runtime and priced at us-east-1 list prices.

    .venv/bin/python -m bench.cost        → bench/results/local/ (--save: bench/results/) cost.{json,md} (about 3 minutes: two scenarios)

Scenarios (each in a fresh process with its own local runtime, timers scaled by TIME_SCALE so that one minute
is 0.6 s and every moment keeps its order):

- p2: a CloudWatch alarm opens a P2; level 1 does not answer for 5 min; level 2 (bob) acknowledges; the alarm's
  OK at 25 min resolves it; the confirmation window (60 min) passes and it closes.
- p1: bench/state_transitions' P1: reported over the API; level 1 unanswered; level 2 acknowledges; the
  incident manager posts one stakeholder update; resolved; the review is completed; it closes.

bench/cost_meter.py counts the calls and DynamoDB's capacity units; Step Functions transitions are read from each
execution's history (states entered, plus task retries). Fixed costs (the outbox relay's schedule, pollers'
empty receives, a secret's monthly fee, log storage) are not an incident's and are left out. Calls made to watch
the scenario read moto's state directly, so they cost nothing.
`usd_per_1000_incidents_ex_messaging` leaves out SES and SMS, whose price is per message whatever the design.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import output
from firebell.domain.cost import MESSAGING, PRICES, drivers_of, estimate, units_of
from firebell.domain.models import TimelineEntry

TIME_SCALE = 0.01  # level 1: 3 s, level 2: 6 s, P2 response at risk: 13.5 s, OK at 15 s, confirmation window: 36 s
MINUTE = 60 * TIME_SCALE


# --- watching the scenario (from moto's state: no calls) ----------------------------------------------------


def _items(runtime: Any) -> list[dict]:
    from infra.local.moto_patches import dynamodb_snapshot
    from infra.local.render import ACCOUNT_ID, REGION
    from infra.topology import TABLE

    table = runtime.resources[("table", TABLE)]
    return dynamodb_snapshot(ACCOUNT_ID, REGION, [table])[table]


def _incident(runtime: Any) -> dict | None:
    """The scenario's one incident, as stored (document merged with the top-level attributes)."""
    from firebell.data.packing import unpack

    for item in _items(runtime):
        if item["sk"]["S"] == "INCIDENT":
            document = unpack(item["packed"]["B"]) if "packed" in item else json.loads(item["document"]["S"])
            return {
                **document,
                "status": item["status"]["S"],
                "reference": item["reference"]["S"],
                "incident_id": item["pk"]["S"].removeprefix("INCIDENT#"),
                "priority": item.get("priority", {}).get("S"),
            }
    return None


def _timeline(runtime: Any) -> list[dict]:
    return sorted(
        (json.loads(i["document"]["S"]) for i in _items(runtime) if i["sk"]["S"].startswith("TIMELINE#")),
        key=lambda e: e["at"],
    )


def _emailed(address: str) -> bool:
    from infra.local.render import captured_outbox

    return any(address in m["to"] for m in captured_outbox() if m["channel"] == "email")


def _wait(what: str, probe: Callable[[], Any], seconds: float) -> Any:
    from infra.local.demo import wait_for

    return wait_for(what, probe, seconds, interval=0.05)


# --- the scenarios -----------------------------------------------------------------------------------------


def p2_alarm(runtime: Any) -> None:
    from infra.local.demo import EVENTS, http, local_aws_client
    from infra.topology import ALARMS_TOPIC

    sns = local_aws_client("sns", runtime.aws_url)

    def alarm(file_name: str) -> None:  # what CloudWatch's alarm action publishes
        body = json.loads((EVENTS / file_name).read_text())
        sns.publish(
            TopicArn=runtime.resources[("topic", ALARMS_TOPIC)],
            Message=json.dumps(body),
            Subject=f'{body["NewStateValue"]}: "{body["AlarmName"]}" in US East (N. Virginia)',
        )

    started = time.monotonic()
    alarm("alarm-state-alarm.json")
    _wait("level 2 paged", lambda: _emailed("bob@example.com"), 30)
    reference = _incident(runtime)["reference"]
    status, body = http("POST", f"{runtime.api_url}/incidents/{reference}/acknowledge", as_="bob")
    assert status == 200, body
    time.sleep(max(0.0, started + 25 * MINUTE - time.monotonic()))
    alarm("alarm-state-ok.json")
    _wait("resolved", lambda: _incident(runtime)["status"] in ("resolved", "closed"), 20)
    _wait("closed", lambda: _incident(runtime)["status"] == "closed", 60 * MINUTE + 30)


def p1_reported(runtime: Any) -> None:
    from bench.state_transitions import P1_REPORT
    from infra.local.demo import http

    api = runtime.api_url
    status, created = http("POST", f"{api}/incidents", P1_REPORT)
    assert status == 201, created
    reference = created["reference"]
    _wait("level 2 paged", lambda: _emailed("bob@example.com"), 30)
    for command, body, who in (
        ("acknowledge", None, "bob"),
        ("updates", {"message": "Rolling back the release"}, "carol"),
        ("resolve", {"resolution_notes": "rolled back"}, "bob"),
    ):
        status, answer = http("POST", f"{api}/incidents/{reference}/{command}", body, as_=who)
        assert status in (200, 201), (command, answer)
    _wait("review created", lambda: _incident(runtime).get("review"), 20)
    status, answer = http(
        "POST", f"{api}/incidents/{reference}/review", {"summary": "bad release; add a canary"}, as_="carol"
    )
    assert status == 200, answer
    _wait("closed", lambda: _incident(runtime)["status"] == "closed", 60 * MINUTE + 30)


SCENARIOS: dict[str, tuple[str, Callable[[Any], None]]] = {
    "p2": (
        "P2 alarm: level 1 unanswered 5 min, level 2 acknowledges, OK at 25 min, confirmation window, closed",
        p2_alarm,
    ),
    "p1": (
        "P1 reported: level 1 unanswered, level 2 acknowledges, one stakeholder update, resolved, review done, closed",
        p1_reported,
    ),
}


# --- one scenario, in this process ---------------------------------------------------------------------------


def _settle(meter: Any, quiet: float = 3.0, limit: float = 30.0) -> None:
    """Until nothing has called AWS for `quiet` seconds (the last effects, task answers, executions ending)."""
    deadline = time.monotonic() + limit
    last, since = sum(meter.calls.values()), time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - since < quiet:
        time.sleep(0.2)
        now = sum(meter.calls.values())
        if now != last:
            last, since = now, time.monotonic()


def _executions(runtime: Any, incident_id: str) -> dict[str, dict]:
    from bench.state_transitions import count_transitions

    # (a P2's review reminder waits a day: the executions are counted as they are)
    return {
        name.removeprefix(incident_id) or "(escalation)": e
        for name, e in count_transitions(runtime, incident_id, settle=False).items()
    }


def run_scenario(name: str) -> dict[str, Any]:
    from bench.cost_meter import CallMeter, DynamoCapacity
    from bench.state_transitions import free_port
    from infra.local.demo import sign_in
    from infra.local.render import ACCOUNT_ID, REGION
    from infra.local.runtime import LocalRuntime
    from infra.topology import TOPOLOGY

    description, play = SCENARIOS[name]
    meter, capacity = CallMeter(), DynamoCapacity(ACCOUNT_ID, REGION)
    capacity.install()  # before the runtime serialises moto's DynamoDB handler: inside its lock
    meter.install()
    # No heartbeat: it would go through intake like an alarm (a fixed cost, not the incident's).
    topology = dataclasses.replace(TOPOLOGY, monitoring=None)
    with LocalRuntime(
        api_port=free_port(3400), aws_port=free_port(4800), time_scale=TIME_SCALE, topology=topology
    ) as runtime:
        for person in ("bob", "carol"):  # the local sign-in stands in for Cognito's hosted UI: not the incident's
            sign_in(runtime.api_url, person)
        meter.armed = capacity.armed = True
        play(runtime)
        _settle(meter)
        meter.armed = capacity.armed = False
        incident = _incident(runtime)
        executions = _executions(runtime, incident["incident_id"])
        timeline = _timeline(runtime)
    return tally(name, description, meter, capacity, executions, incident, timeline)


def _by_kind(counts: Counter, billable: Callable[[str], bool]) -> dict[str, int]:
    summed: Counter[str] = Counter()
    for (caller, kind), n in counts.items():
        if billable(caller):
            summed[kind] += n
    return dict(summed.most_common())


def tally(
    name: str, description: str, meter: Any, capacity: Any, executions: dict, incident: dict, timeline: list[dict]
) -> dict[str, Any]:
    def billable(caller: str) -> bool:
        return not caller.startswith("fixed:") and caller not in ("driver", "event-source-mapping-idle")

    calls = {f"{c} {s}:{o}": n for (c, s, o), n in sorted(meter.calls.items())}
    by_service = Counter()
    for (caller, service, operation), n in meter.calls.items():
        if billable(caller) or (caller == "driver" and (service, operation) == ("sns", "Publish")):
            by_service[f"{service}:{operation}"] += n
    invocations = {f: n for (f, trigger), n in meter.invocations.items() if trigger != "schedule"}
    api_requests = sum(n for (f, trigger), n in meter.invocations.items() if trigger == "api")
    alarms = meter.calls[("driver", "sns", "Publish")]
    index_units = _by_kind(capacity.index_write_units, billable)
    items_written = _by_kind(capacity.item_writes, billable)
    write_units = sum(n for c, n in capacity.write_units.items() if billable(c)) + sum(index_units.values())
    read_units = sum(n for c, n in capacity.read_units.items() if billable(c))
    emails = by_service["ses:SendEmail"]
    units = {
        "stepfunctions": sum(e["transitions"] for e in executions.values()),
        "lambda_requests": sum(invocations.values()),
        "lambda_gb_seconds": round(sum(v for (f, t), v in meter.gb_seconds.items() if t != "schedule"), 3),
        "dynamodb_write_units": write_units,
        "dynamodb_read_units": read_units,
        "sqs": sum(n for key, n in by_service.items() if key.startswith("sqs:")),
        "sns": by_service["sns:Publish"] - meter.sms,
        "secretsmanager": sum(n for key, n in by_service.items() if key.startswith("secretsmanager:")),
        "apigateway": api_requests,
        "waf": api_requests,
        "xray": api_requests + alarms,
        "ses": emails,
        "sms": meter.sms,
    }
    usd = {unit: count * PRICES[unit][0] for unit, count in units.items()}
    services = Counter()
    for unit, value in usd.items():
        services[unit.split("_")[0]] += value * 1000
    sent = [e for e in timeline if e["kind"] == "notification_sent" and e["details"].get("channel") == "email"]
    return {
        "scenario": description,
        "reference": incident["reference"],
        "priority": incident["priority"],
        "status": incident["status"],
        "usd_per_1000_incidents": round(sum(usd.values()) * 1000, 4),
        "usd_per_1000_incidents_ex_messaging": round(sum(v for u, v in usd.items() if u not in MESSAGING) * 1000, 4),
        "usd_per_1000_incidents_by_service": {s: round(v, 4) for s, v in services.most_common()},
        "units": units,
        "transitions": units["stepfunctions"],
        "executions": executions,
        "dynamodb": {
            "table_write_units": write_units - sum(index_units.values()),
            "index_write_units": index_units,
            "read_units": read_units,
            "incident_saves": items_written.get("INCIDENT", 0),
            "items_written": items_written,
            "table_write_units_by_item": _by_kind(capacity.kind_write_units, billable),
        },
        "lambda_invocations": invocations,
        "emails": [
            {"person": e["details"].get("person"), "why": e["details"].get("why"), "version": e.get("version")}
            for e in sent
        ],
        "calls": calls,
        "estimate": _estimate(incident, timeline, units),
    }


def _estimate(incident: dict, timeline: list[dict], counted: dict[str, float]) -> dict[str, Any]:
    """What the reports estimate for this incident from its timeline (firebell/domain/cost.py), next to the count."""
    drivers = drivers_of([TimelineEntry.model_validate(e) for e in timeline], incident["source"])
    guessed = estimate(drivers)
    counted_ex = sum(n * PRICES[u][0] for u, n in counted.items() if u not in MESSAGING)
    return {
        "drivers": dataclasses.asdict(drivers),
        "units": {u: round(n, 3) for u, n in units_of(drivers).items()},
        "usd_per_1000_incidents_ex_messaging": round(guessed.usd_ex_messaging * 1000, 4),
        "ratio_to_count_ex_messaging": round(guessed.usd_ex_messaging / counted_ex, 3) if counted_ex else None,
    }


# --- both, each in its own process; the report ---------------------------------------------------------------------


def markdown(result: dict[str, Any], before: dict[str, Any] | None) -> str:
    lines = [
        f"# What one incident costs in AWS (bench/cost.py, {result['date']}, commit {result['commit']})",
        "",
        "`.venv/bin/python -m bench.cost`: every AWS call of each scenario on the local runtime, counted and priced at us-east-1",
        "list prices (`PRICES` in firebell/domain/cost.py, with their sources). USD per 1,000 incidents.",
        "",
        "Issue 10's goals: the P2 at most $0.40 per 1,000 ex messaging, the P1 at most 15 transitions. The issue's own",
        "figure for 615fa25 ($0.87: 26 transitions, 303 write units) counted fewer DynamoDB units than this bench does",
        "(here a transaction writes each item twice and sizes are the items' own) and left out X-Ray, WAF and API Gateway.",
        "",
    ]
    rows = [
        ("USD per 1,000 ex messaging (SES, SMS)", lambda s: f"{s['usd_per_1000_incidents_ex_messaging']:.3f}"),
        ("USD per 1,000, all", lambda s: f"{s['usd_per_1000_incidents']:.3f}"),
        ("Step Functions transitions", lambda s: str(s["transitions"])),
        (
            "DynamoDB write units (of which on indexes)",
            lambda s: f"{s['units']['dynamodb_write_units']} ({sum(s['dynamodb']['index_write_units'].values())})",
        ),
        ("DynamoDB read units", lambda s: f"{s['units']['dynamodb_read_units']:g}"),
        ("incident item saves", lambda s: str(s["dynamodb"]["incident_saves"])),
        ("Lambda invocations", lambda s: str(s["units"]["lambda_requests"])),
        ("SQS requests", lambda s: str(s["units"]["sqs"])),
        ("emails / SMS", lambda s: f"{s['units']['ses']} / {s['units']['sms']}"),
    ]
    for key in result["scenarios"]:
        now, then = result["scenarios"][key], (before or {}).get("scenarios", {}).get(key)
        lines += [
            f"## {key}: {now['scenario']}",
            "",
            "| | before (" + ((before or {}).get("commit") or "n/a") + ") | after |",
            "|---|---:|---:|",
        ]
        lines += [f"| {label} | {show(then) if then else '–'} | {show(now)} |" for label, show in rows]
        lines += ["", "| service | before | after |", "|---|---:|---:|"]
        services = dict.fromkeys(
            [*now["usd_per_1000_incidents_by_service"], *((then or {}).get("usd_per_1000_incidents_by_service") or {})]
        )
        lines += [
            f"| {s} | {(then or {}).get('usd_per_1000_incidents_by_service', {}).get(s, 0):.4f} | {now['usd_per_1000_incidents_by_service'].get(s, 0):.4f} |"
            for s in services
        ]
        lines += ["", "| execution | machine | status | transitions |", "|---|---|---|---:|"]
        lines += [
            f"| `{n}` | {e['machine']} | {e['status']} | {e['transitions']} |"
            for n, e in sorted(now["executions"].items())
        ]
        guess = now.get("estimate")
        if guess:
            lines += [
                "",
                f"The reports' estimate for this incident (firebell/domain/cost.py, from its timeline: {guess['drivers']}): "
                f"{guess['usd_per_1000_incidents_ex_messaging']:.3f} per 1,000 ex messaging, "
                f"{guess['ratio_to_count_ex_messaging']:.2f}× the count above.",
            ]
        lines += [
            "",
            "Index write units: "
            + ", ".join(f"{k} {v}" for k, v in sorted(now["dynamodb"]["index_write_units"].items()))
            + ".",
            "Emails: " + "; ".join(f"{m['person']} ({m['why']})" for m in now["emails"]) + ".",
            "",
        ]
    lines += [
        "Not counted: fixed costs (the outbox relay's schedule, the pollers' empty receives, the secret's and the KMS key's",
        "monthly fees), CloudWatch Logs ingestion (Lambda logs, the state machines' logs at level ALL) and metrics, KMS calls",
        "SNS makes for the encrypted topics (it reuses data keys). Lambda GB-seconds are the local durations (moto in-process):",
        "an upper bound of what Lambda bills.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", choices=SCENARIOS, help="run one scenario in this process and print its JSON")
    output.add_arguments(parser, "--results")
    parser.add_argument(
        "--before", type=Path, default=output.SAVED / "cost-before-issue-10.json", help="the run to compare with"
    )
    parser.add_argument("--commit", help="what code this is (default: git HEAD)")
    args = parser.parse_args(argv)
    if args.scenario:
        print(json.dumps(run_scenario(args.scenario)))
        return 0
    scenarios = {}
    for key in SCENARIOS:
        with tempfile.TemporaryFile("w+") as out:
            subprocess.run(
                [sys.executable, "-m", "bench.cost", "--scenario", key],
                stdout=out,
                check=True,
                cwd=Path(__file__).resolve().parent.parent,
                env=os.environ,
            )
            out.seek(0)
            scenarios[key] = json.loads(out.read().strip().splitlines()[-1])
    from bench.latency import commit

    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": args.commit or commit(),
        "usd_per_1000_incidents_ex_messaging": scenarios["p2"]["usd_per_1000_incidents_ex_messaging"],
        "time_scale": TIME_SCALE,
        "python": platform.python_version(),
        "scenarios": scenarios,
        "prices_usd": {
            unit: {"usd": price, "per": per, "source": source} for unit, (price, per, source) in PRICES.items()
        },
    }
    before = json.loads(args.before.read_text()) if args.before.exists() else None
    report = markdown(result, before)
    output.write(output.chosen(args.results, args.save), "cost", result, report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
