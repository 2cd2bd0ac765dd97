"""How many Step Functions state transitions one P1 incident costs, open to closed, with two escalation levels.

Standard workflows are billed per state transition, so this is the incident's workflow bill. The scenario
runs on the local runtime (moto executes the real ASL) with timers scaled down, then reads every
execution's history and counts the states entered.

Scenario: a P1 is reported; level 1 is paged and does not answer; level 2 is paged and acknowledges;
the incident manager posts one stakeholder update; it is resolved; the review is completed; the
confirmation window passes and it closes.

    .venv/bin/python -m bench.state_transitions      → bench/results/local/ (--save: bench/results/) state_transitions.{json,md}
"""

from __future__ import annotations

import argparse
import platform
from collections import Counter
from datetime import UTC, datetime

from bench import output
from infra.local.demo import http, local_aws_client, wait_for
from infra.local.runtime import LocalRuntime, port_is_free

TIME_SCALE = 0.002  # level 1 (5 min) and level 2 (10 min) wait 1 s each; the confirmation window ~7 s


# The scenario's report (bench/cost plays the same P1).
P1_REPORT = {
    "title": "Checkout down for every customer",
    "reporter": "service-desk",
    "service": "checkout",
    "impact": "high",
    "urgency": "high",
}


def free_port(start: int) -> int:
    return next(port for port in range(start, start + 200) if port_is_free(port))


def run_scenario(runtime: LocalRuntime) -> str:
    api = runtime.api_url
    status, created = http("POST", f"{api}/incidents", P1_REPORT)
    assert status == 201, created
    reference = created["reference"]

    def paged(person: str) -> bool:
        return any(
            f"{person}@example.com" in m["to"] and reference in m.get("subject", "")
            for m in http("GET", f"{api}/_local/outbox")[1]["items"]
        )

    wait_for("level 2 paged", lambda: paged("bob"), 20)
    http("POST", f"{api}/incidents/{reference}/acknowledge", as_="bob")
    http("POST", f"{api}/incidents/{reference}/updates", {"message": "Rolling back the release"}, as_="carol")
    http("POST", f"{api}/incidents/{reference}/resolve", {"resolution_notes": "rolled back"}, as_="bob")
    wait_for("review created", lambda: http("GET", f"{api}/incidents/{reference}")[1]["review"], 10)
    http("POST", f"{api}/incidents/{reference}/review", {"summary": "bad release; add a canary"}, as_="carol")
    wait_for("closed", lambda: http("GET", f"{api}/incidents/{reference}")[1]["status"] == "closed", 30)
    return reference


def count_transitions(runtime: LocalRuntime, incident_id: str, settle: bool = True) -> dict[str, dict]:
    """Each of the incident's executions: its states entered, plus its task retries (billed again: each retry's extra
    TaskScheduled counts). `settle`: wait for each to finish first (some wait a day: bench/cost leaves them)."""
    sfn = local_aws_client("stepfunctions", runtime.aws_url)
    executions: dict[str, dict] = {}
    for (kind, name), arn in runtime.resources.items():
        if kind != "state_machine":
            continue
        for execution in sfn.list_executions(stateMachineArn=arn)["executions"]:
            if not execution["name"].startswith(incident_id):
                continue
            if settle:
                wait_for(
                    "execution finished",
                    lambda arn=execution["executionArn"]: (
                        sfn.describe_execution(executionArn=arn)["status"] != "RUNNING"
                    ),
                    20,
                )
            history = sfn.get_execution_history(executionArn=execution["executionArn"], maxResults=1000)["events"]
            entered = Counter(e["type"] for e in history if e["type"].endswith("StateEntered"))
            retries = max(0, sum(1 for e in history if e["type"] == "TaskScheduled") - entered["TaskStateEntered"])
            executions[execution["name"]] = {
                "machine": name,
                "status": sfn.describe_execution(executionArn=execution["executionArn"])["status"],
                "transitions": sum(entered.values()) + retries,
                "by_state_type": dict(entered) | ({"retries": retries} if retries else {}),
            }
    return executions


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.state_transitions", description=__doc__)
    output.add_arguments(parser)
    args = parser.parse_args(argv)
    with LocalRuntime(api_port=free_port(3300), aws_port=free_port(4700), time_scale=TIME_SCALE) as runtime:
        reference = run_scenario(runtime)
        incident_id = http("GET", f"{runtime.api_url}/incidents/{reference}")[1]["incident_id"]
        executions = count_transitions(runtime, incident_id)
    total = sum(e["transitions"] for e in executions.values())
    result = {
        "scenario": "P1, level 1 unanswered, level 2 acknowledges, one stakeholder update, resolved, review done, closed",
        "time_scale": TIME_SCALE,
        "executions": executions,
        "total_transitions": total,
        "cost_usd_at_0.000025_per_transition": round(total * 0.000025, 6),
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
    }
    lines = [
        "# Step Functions state transitions for one P1 incident",
        "",
        f"Scenario: {result['scenario']}. Counted from each execution's history (states entered, and task retries).",
        "",
        "| execution | machine | status | transitions |",
        "|---|---|---|---:|",
        *[
            f"| `{name}` | {e['machine']} | {e['status']} | {e['transitions']} |"
            for name, e in sorted(executions.items())
        ],
        f"| **total** | | | **{total}** |",
        "",
        f"At $0.025 per 1,000 transitions (Standard, us-east-1): ${result['cost_usd_at_0.000025_per_transition']:.6f} per incident.",
        "",
    ]
    print("\n".join(lines))
    output.write(output.chosen(args.out, args.save), "state_transitions", result, "\n".join(lines))


if __name__ == "__main__":
    main()
